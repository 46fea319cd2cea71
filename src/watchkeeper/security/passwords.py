"""Password hashing with argon2id (argon2-cffi) and the password rules."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from watchkeeper.core.errors import UserInputError
from watchkeeper.security.config import Argon2Config

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024


class Passwords:
    """Hash and verify passwords with the configured argon2id parameters. A hash made with
    other parameters still verifies, and :meth:`needs_rehash` says to replace it."""

    def __init__(self, config: Argon2Config) -> None:
        self.config = config
        self._hasher = PasswordHasher(
            time_cost=config.time_cost,
            memory_cost=config.memory_cost,
            parallelism=config.parallelism,
            hash_len=config.hash_len,
            salt_len=config.salt_len,
            type=Type.ID,
        )
        # Verified against when the user does not exist, so a wrong user name costs as
        # much time as a wrong password.
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def verify_nothing(self, password: str) -> None:
        """Spend the time of one verification (for unknown users)."""
        self.verify(self._dummy, password)

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except (InvalidHashError, ValueError):
            return True


def check_password(password: str, username: str) -> None:
    """Raise a :class:`UserInputError` saying what is wrong with a new password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserInputError(
            f"password is too short ({len(password)} characters); use at least "
            f"{MIN_PASSWORD_LENGTH}, or let `watchkeeper user create` generate one"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserInputError(f"password is longer than {MAX_PASSWORD_LENGTH} characters")
    if password.strip().lower() == username.strip().lower():
        raise UserInputError("password must not be the user name")


def generate_password() -> str:
    """A random password (about 128 bits), for accounts created without one."""
    return secrets.token_urlsafe(16)

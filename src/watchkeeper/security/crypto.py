"""Secrets at rest: AES-256-GCM (``cryptography``'s AESGCM) under a ring of named keys.

A ciphertext is text, ``wk1:<key id>:<base64(nonce || ciphertext || tag)>``, so one column
may hold values under several keys while a rotation is under way. The *context* (for a
column, ``table.column``) is bound into each value as associated data: a ciphertext copied
into another column does not decrypt.

A key ring is written as comma- or newline-separated entries, each ``<id>:<base64 key>``
or a bare ``<base64 key>`` (its id is then a fingerprint of the key); the first entry is
the current key, used for new values, the others only decrypt. Keys come from an
environment variable or a key file that must live outside the data directory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from watchkeeper.config.base import Secret
from watchkeeper.core.errors import ConfigError, StorageError
from watchkeeper.security.columns import context_for
from watchkeeper.security.config import SecurityConfig

KEY_BYTES = 32
NONCE_BYTES = 12
FORMAT_PREFIX = "wk1"
_KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def generate_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def fingerprint(key: bytes) -> str:
    """A short public id for a key (not a secret: a truncated hash of it)."""
    return "k" + hashlib.sha256(b"watchkeeper key id\x00" + key).hexdigest()[:10]


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Named keys; ``primary`` encrypts, every key decrypts. Never printed in full."""

    keys: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a key ring needs at least one key")
        ids = [kid for kid, _ in self.keys]
        if len(set(ids)) != len(ids):
            raise ValueError("key ids in a key ring must be distinct")

    @classmethod
    def single(cls, key: bytes, key_id: str | None = None) -> KeyRing:
        return cls(((key_id or fingerprint(key), key),))

    @property
    def primary(self) -> str:
        return self.keys[0][0]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(kid for kid, _ in self.keys)

    def get(self, key_id: str) -> bytes | None:
        return next((key for kid, key in self.keys if kid == key_id), None)

    def with_new_primary(self, key: bytes, key_id: str | None = None) -> KeyRing:
        kid = key_id or fingerprint(key)
        return KeyRing(((kid, key), *((i, k) for i, k in self.keys if i != kid)))

    def only_primary(self) -> KeyRing:
        return KeyRing(self.keys[:1])

    def __repr__(self) -> str:
        return f"KeyRing(ids={list(self.ids)!r})"


def parse_keyring(text: str, source: str) -> KeyRing:
    """Parse key-ring text; ``source`` names where it came from in error messages."""
    entries = [e.strip() for e in re.split(r"[,\n]", text) if e.strip() and not e.startswith("#")]
    if not entries:
        raise ConfigError(
            f"{source}: no encryption key found; generate one with "
            "`watchkeeper secrets generate-key`"
        )
    keys: list[tuple[str, bytes]] = []
    for n, entry in enumerate(entries, 1):
        kid, sep, encoded = entry.rpartition(":")
        if not sep:
            kid, encoded = "", entry
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != KEY_BYTES:
            raise ConfigError(
                f"{source}: entry {n} is not a base64-encoded 32-byte key; generate one with "
                "`watchkeeper secrets generate-key`"
            )
        if kid and not _KEY_ID_RE.match(kid):
            raise ConfigError(
                f"{source}: entry {n} has key id {kid!r}; ids are 1-32 letters, digits, - or _"
            )
        keys.append((kid or fingerprint(key), key))
    try:
        return KeyRing(tuple(keys))
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def format_keyring(ring: KeyRing) -> str:
    return "".join(f"{kid}:{base64.b64encode(key).decode()}\n" for kid, key in ring.keys)


class SecretBox:
    """Encrypts and decrypts with a key ring. ``reload`` (optional) re-reads the ring once
    when a value names a key id it does not know, so an instance started before a rotation
    picks up the new key from the key file."""

    def __init__(self, ring: KeyRing, *, reload: Callable[[], KeyRing] | None = None) -> None:
        self._ring = ring
        self._reload = reload

    @property
    def ring(self) -> KeyRing:
        return self._ring

    @property
    def primary_key_id(self) -> str:
        return self._ring.primary

    def encrypt(self, plaintext: bytes, context: str) -> str:
        key = self._ring.keys[0][1]
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, plaintext, context.encode())
        body = base64.b64encode(nonce + sealed).decode()
        return f"{FORMAT_PREFIX}:{self._ring.primary}:{body}"

    def decrypt(self, token: str, context: str) -> bytes:
        kid, raw = _split(token, context)
        key = self._ring.get(kid)
        if key is None and self._reload is not None:
            self._ring = self._reload()
            key = self._ring.get(kid)
        if key is None:
            raise StorageError(
                f"{context}: value was encrypted with key {kid!r}, which is not loaded "
                f"(loaded: {', '.join(self._ring.ids)}); add that key to the key ring or "
                "restart with the key that replaced it"
            )
        try:
            return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        except InvalidTag:
            raise StorageError(
                f"{context}: value under key {kid!r} does not decrypt: it was altered, moved "
                "from another column, or the key with this id is not the one that wrote it"
            ) from None

    def encrypt_text(self, plaintext: str, context: str) -> str:
        return self.encrypt(plaintext.encode(), context)

    def decrypt_text(self, token: str, context: str) -> str:
        return self.decrypt(token, context).decode()

    def encrypt_for(self, table: str, column: str, plaintext: str) -> str:
        """Encrypt a value for ``table.column`` (a column made by ``encrypted_column``)."""
        return self.encrypt_text(plaintext, context_for(table, column))

    def decrypt_for(self, table: str, column: str, token: str) -> Secret:
        """Decrypt a value of ``table.column``; a :class:`Secret`, so it is never logged."""
        return Secret(self.decrypt_text(token, context_for(table, column)))

    def __repr__(self) -> str:
        return f"SecretBox(primary={self._ring.primary!r})"


def key_id_of(token: str) -> str:
    return _split(token, "value")[0]


def _split(token: str, context: str) -> tuple[str, bytes]:
    prefix, _, rest = token.partition(":")
    kid, _, body = rest.partition(":")
    if prefix != FORMAT_PREFIX or not kid or not body:
        raise StorageError(f"{context}: not an encrypted value (expected {FORMAT_PREFIX}:...)")
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise StorageError(f"{context}: encrypted value is not valid base64") from None
    if len(raw) < NONCE_BYTES + 16:
        raise StorageError(f"{context}: encrypted value is truncated")
    return kid, raw


# --- where the key comes from ---------------------------------------------------------


def resolve_key_file(config: SecurityConfig, base_dir: Path) -> Path | None:
    if config.key_file is None:
        return None
    path = Path(config.key_file).expanduser()
    return path if path.is_absolute() else base_dir / path


def check_key_file_location(key_file: Path, data_dir: Path | None) -> None:
    """Refuse a key file inside the data directory: a copy or backup of the data would
    then carry the key that opens it."""
    if data_dir is None:
        return
    key_abs = key_file.resolve()
    data_abs = data_dir.resolve()
    if key_abs == data_abs or key_abs.is_relative_to(data_abs):
        raise ConfigError(
            f"security.key_file: {key_file} is inside the data directory {data_dir}; move the "
            "key outside it (e.g. /etc/watchkeeper/secret.key) so a copy of the data does not "
            "carry its key"
        )


def load_keyring(
    config: SecurityConfig,
    *,
    env: Mapping[str, str],
    base_dir: Path,
    data_dir: Path | None,
) -> KeyRing | None:
    """The key ring from ``$<key_env>`` or else ``key_file``; ``None`` when neither is set."""
    value = env.get(config.key_env, "")
    if value.strip():
        return parse_keyring(value, f"${config.key_env}")
    key_file = resolve_key_file(config, base_dir)
    if key_file is None:
        return None
    check_key_file_location(key_file, data_dir)
    try:
        text = key_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"security.key_file: cannot read {key_file}: {exc.strerror or exc}; create it "
            f"with `watchkeeper secrets generate-key --file {key_file}`"
        ) from None
    return parse_keyring(text, str(key_file))


def load_secret_box(
    config: SecurityConfig,
    *,
    env: Mapping[str, str],
    base_dir: Path,
    data_dir: Path | None,
) -> SecretBox:
    """The box built from configuration; a :class:`ConfigError` saying how to provide a key
    when none is configured."""
    ring = load_keyring(config, env=env, base_dir=base_dir, data_dir=data_dir)
    if ring is None:
        raise ConfigError(
            f"no encryption key: set ${config.key_env} or security.key_file (outside the "
            "data directory); generate a key with `watchkeeper secrets generate-key`"
        )

    def reload() -> KeyRing:
        again = load_keyring(config, env=env, base_dir=base_dir, data_dir=data_dir)
        return again if again is not None else ring

    return SecretBox(ring, reload=reload)


def write_keyring_file(path: Path, ring: KeyRing) -> None:
    """Write a key file atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(format_keyring(ring))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()

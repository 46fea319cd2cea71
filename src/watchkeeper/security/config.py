"""``security`` section: the encryption key, login sessions, login rate limits, password
hashing parameters and the optional read-only anonymous role."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from watchkeeper.config.base import StrictModel
from watchkeeper.core.durations import Duration
from watchkeeper.security.permissions import Role

DEFAULT_KEY_ENV = "WATCHKEEPER_SECRET_KEY"


class SessionConfig(StrictModel):
    lifetime: Duration = Field(
        default=Duration(12 * 3600), description="a login ends this long after it began"
    )
    idle_timeout: Duration = Field(
        default=Duration(2 * 3600), description="a login ends after this long without a request"
    )
    cookie_secure: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="Secure flag of the session cookie: auto sets it when the request came "
        "over HTTPS (behind a TLS-terminating proxy, use always)",
    )
    same_site: Literal["lax", "strict"] = Field(
        default="lax",
        description="lax keeps you logged in when you follow a link from a notification; "
        "strict never sends the cookie on cross-site navigation",
    )

    @model_validator(mode="after")
    def _positive(self) -> SessionConfig:
        if self.lifetime <= 0 or self.idle_timeout <= 0:
            raise ValueError("session lifetime and idle_timeout must be longer than 0s")
        return self


class LoginRateLimitConfig(StrictModel):
    window: Duration = Field(default=Duration(15 * 60), description="failed logins count this long")
    max_failures_per_user: int = Field(
        default=5, ge=1, description="failed logins for one user name within the window"
    )
    max_failures_per_ip: int = Field(
        default=20, ge=1, description="failed logins from one address within the window"
    )


class Argon2Config(StrictModel):
    """argon2id parameters; the defaults are RFC 9106's second recommendation (the
    argon2-cffi defaults). Hashes made with other parameters are upgraded at next login."""

    time_cost: int = Field(default=3, ge=1, description="iterations")
    memory_cost: int = Field(default=65536, ge=8, description="memory in KiB")
    parallelism: int = Field(default=4, ge=1, description="lanes")
    hash_len: int = Field(default=32, ge=16)
    salt_len: int = Field(default=16, ge=16)

    @model_validator(mode="after")
    def _memory_for_lanes(self) -> Argon2Config:
        if self.memory_cost < 8 * self.parallelism:
            raise ValueError(
                f"argon2 memory_cost must be at least 8 KiB per lane ({8 * self.parallelism} "
                f"for parallelism {self.parallelism}); raise memory_cost or lower parallelism"
            )
        return self


class SecurityConfig(StrictModel):
    key_env: str = Field(
        default=DEFAULT_KEY_ENV,
        description="environment variable holding the encryption key (base64 of 32 bytes, "
        "or 'id:base64' entries separated by commas, the first being current)",
    )
    key_file: str | None = Field(
        default=None,
        description="file holding the encryption key (same format as the variable); must be "
        "outside the data directory. Used when the variable is not set",
    )
    session: SessionConfig = Field(default=SessionConfig())
    login_rate_limit: LoginRateLimitConfig = Field(default=LoginRateLimitConfig())
    argon2: Argon2Config = Field(default=Argon2Config())
    anonymous_role: Role | None = Field(
        default=None,
        description="role of visitors who are not logged in (only viewer, for a read-only "
        "demo dashboard); by default they see the status page only",
    )
    hsts_max_age: Duration = Field(
        default=Duration(2 * 365 * 86400),
        description="Strict-Transport-Security max-age under HTTPS",
    )
    hsts_include_subdomains: bool = False

    @field_validator("anonymous_role")
    @classmethod
    def _read_only(cls, value: Role | None) -> Role | None:
        if value is not None and value is not Role.VIEWER:
            raise ValueError(
                f"anonymous_role {value.value!r} would let anyone change things; only viewer "
                "is allowed (give people accounts with `watchkeeper user create`)"
            )
        return value

    @field_validator("key_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not value or not value.replace("_", "").isalnum():
            raise ValueError(f"key_env {value!r} is not an environment variable name")
        return value

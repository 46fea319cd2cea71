"""``server`` and ``status_page`` sections."""

from __future__ import annotations

from pydantic import Field, field_validator

from watchkeeper.config.base import StrictModel


class TLSConfig(StrictModel):
    cert_file: str = Field(description="PEM certificate chain")
    key_file: str = Field(description="PEM private key")


class ServerConfig(StrictModel):
    listen: str = Field("127.0.0.1:8080", description="host:port the dashboard and APIs bind to")
    external_url: str | None = Field(
        None, description="URL people reach Watchkeeper at; used in links of notifications"
    )
    tls: TLSConfig | None = None

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        _host, sep, port = value.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"expected host:port such as 127.0.0.1:8080, got {value!r}")
        return value

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]") or "0.0.0.0"  # noqa: S104

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    def base_url(self) -> str:
        if self.external_url:
            return self.external_url.rstrip("/")
        scheme = "https" if self.tls else "http"
        host = self.host if self.host not in ("0.0.0.0", "::") else "127.0.0.1"  # noqa: S104
        return f"{scheme}://{host}:{self.port}"


class StatusPageConfig(StrictModel):
    enabled: bool = True
    title: str = "Service status"
    services: list[str] | None = Field(
        None, description="services shown on /status (default: every service)"
    )

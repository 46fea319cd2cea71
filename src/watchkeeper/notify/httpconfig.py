"""``http_config`` of a channel config, in Prometheus' ``HTTPClientConfig`` format (the field
names Alertmanager configs use): authentication, TLS, proxy and redirects."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from watchkeeper.config.base import Secret, StrictModel


class BasicAuth(StrictModel):
    username: str = ""
    username_file: str | None = None
    password: Secret | None = None


class Authorization(StrictModel):
    type: str = Field("Bearer", description="scheme of the Authorization header")
    credentials: Secret | None = None


class TLSClientConfig(StrictModel):
    @model_validator(mode="before")
    @classmethod
    def _drop_empty_key(cls, data: Any) -> Any:
        # key_file is the file form of the secret key: an explicit null is "not given"
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if not (k in ("key", "key_file") and v is None)}
        return data

    ca: str | None = Field(None, description="PEM CA certificates, inline")
    ca_file: str | None = None
    cert: str | None = None
    cert_file: str | None = None
    key: Secret | None = Field(None, description="PEM private key, inline (or key_file)")
    server_name: str | None = None
    insecure_skip_verify: bool = False
    min_version: str | None = None
    max_version: str | None = None


class OAuth2(StrictModel):
    client_id: str
    client_secret: Secret | None = None
    scopes: list[str] = Field(default_factory=list)
    token_url: str
    endpoint_params: dict[str, str] = Field(default_factory=dict)
    tls_config: TLSClientConfig | None = None
    proxy_url: str | None = None


class HTTPClientConfig(StrictModel):
    basic_auth: BasicAuth | None = None
    authorization: Authorization | None = None
    bearer_token: Secret | None = Field(None, description="deprecated; use authorization")
    oauth2: OAuth2 | None = None
    tls_config: TLSClientConfig | None = None
    proxy_url: str | None = None
    no_proxy: str | None = None
    proxy_from_environment: bool = False
    proxy_connect_header: dict[str, list[Secret]] = Field(default_factory=dict)
    follow_redirects: bool = True
    enable_http2: bool = True

    @model_validator(mode="after")
    def _one_auth(self) -> HTTPClientConfig:
        given = [
            n
            for n, v in (
                ("basic_auth", self.basic_auth),
                ("authorization", self.authorization),
                ("bearer_token", self.bearer_token),
                ("oauth2", self.oauth2),
            )
            if v is not None
        ]
        if len(given) > 1:
            raise ValueError(f"at most one of {', '.join(given)} may be configured")
        return self

    def auth_headers(self) -> dict[str, str]:
        """The Authorization header this config asks for (empty without authentication)."""
        import base64

        if self.basic_auth is not None:
            pw = self.basic_auth.password.reveal() if self.basic_auth.password else ""
            raw = f"{self.basic_auth.username}:{pw}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        if self.authorization is not None and self.authorization.credentials:
            cred = self.authorization.credentials.reveal()
            return {"Authorization": f"{self.authorization.type} {cred}"}
        if self.bearer_token:
            return {"Authorization": f"Bearer {self.bearer_token.reveal()}"}
        return {}

    def secret_values(self) -> list[str]:
        out: list[str] = []
        if self.basic_auth and self.basic_auth.password:
            out.append(self.basic_auth.password.reveal())
        if self.authorization and self.authorization.credentials:
            out.append(self.authorization.credentials.reveal())
        if self.bearer_token:
            out.append(self.bearer_token.reveal())
        return out

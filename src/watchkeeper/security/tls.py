"""HTTPS: the certificate and key of ``server.tls``, checked before the server starts and
handed to uvicorn."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from watchkeeper.core.errors import ConfigError
from watchkeeper.web.config import TLSConfig


def _resolve(value: str, base_dir: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base_dir / path


def uvicorn_ssl_options(tls: TLSConfig | None, base_dir: Path) -> dict[str, Any]:
    """``uvicorn.Config``/``uvicorn.run`` keyword arguments that serve HTTPS, ``{}`` without
    ``server.tls``. Relative paths are taken from the config file's directory. A missing,
    unreadable or mismatched certificate/key is a :class:`ConfigError` saying which file."""
    if tls is None:
        return {}
    cert = _resolve(tls.cert_file, base_dir)
    key = _resolve(tls.key_file, base_dir)
    for field, path in (("cert_file", cert), ("key_file", key)):
        if not path.is_file():
            raise ConfigError(
                f"server.tls.{field}: {path} does not exist or is not a file; give the path "
                "of a PEM file"
            )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            f"server.tls: cannot use certificate {cert} with key {key}: "
            f"{getattr(exc, 'reason', None) or exc}; check both are PEM files and that the key "
            "belongs to the certificate"
        ) from None
    return {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}

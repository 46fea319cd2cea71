"""What the security checks share: the public URLs to inspect (``readiness.security.
targets``, by default every service's url and http check URL, one per origin), which of
them are loopback or private (skipped unless ``check_loopback``), and an HTTPS client that
trusts ``ca_file`` too."""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from watchkeeper.collect.http.config import HttpCheckConfig
from watchkeeper.readiness.check import CheckContext
from watchkeeper.readiness.config import SecurityTarget


@dataclass(frozen=True, slots=True)
class Inspected:
    target: SecurityTarget
    skip: str | None  # why it is not inspected

    @property
    def url(self) -> str:
        return self.target.url

    @property
    def https(self) -> bool:
        return urlsplit(self.target.url).scheme == "https"

    @property
    def http_url(self) -> str:
        if self.target.http_url:
            return self.target.http_url
        parts = urlsplit(self.target.url)
        return urlunsplit(("http", parts.hostname or "", parts.path or "/", parts.query, ""))


def private_host(host: str) -> bool:
    if host in ("localhost", "") or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_link_local


def security_targets(ctx: CheckContext) -> list[Inspected]:
    settings = ctx.settings.security
    targets = settings.targets
    if targets is None:
        seen: set[tuple[str, str]] = set()
        targets = []
        urls = [svc.url for svc in ctx.config.services if svc.url]
        urls += [
            c.url
            for svc in ctx.config.services
            for c in svc.checks
            if isinstance(c, HttpCheckConfig) and c.enabled
        ]
        for url in urls:
            parts = urlsplit(url)
            origin = (parts.scheme, parts.netloc)
            if origin not in seen:
                seen.add(origin)
                targets.append(SecurityTarget(url=url))
    out = []
    for t in targets:
        host = urlsplit(t.url).hostname or ""
        skip = None
        if private_host(host) and not settings.check_loopback:
            skip = f"{host} is a loopback or private address, not reachable from the internet"
        out.append(Inspected(t, skip))
    return out


def https_client(ctx: CheckContext) -> httpx.AsyncClient:
    ca_file = ctx.settings.security.ca_file
    verify: ssl.SSLContext | bool = True
    if ca_file:
        path = ctx.base_dir / ca_file
        verify = ssl.create_default_context(cafile=str(path))
    return httpx.AsyncClient(
        transport=ctx.transport, verify=verify, follow_redirects=False, timeout=10.0
    )

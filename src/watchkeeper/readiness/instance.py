"""The running Watchkeeper the validator asks (``--url``, ``readiness.instance.url`` or
``server.listen``): its health, its checks, its PromQL API and its self-metrics."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from watchkeeper.readiness.config import InstanceSettings


class InstanceClient:
    def __init__(
        self,
        base_url: str,
        http: httpx.AsyncClient,
        settings: InstanceSettings,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.timeout = float(settings.timeout)
        self._headers = {"Accept": "application/json"}
        if settings.token is not None:
            self._headers["Authorization"] = f"Bearer {settings.token.reveal()}"
        self._lock = asyncio.Lock()
        self._reachable: bool | None = None
        self.problem = ""

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    async def reachable(self) -> bool:
        """Whether ``/healthz`` answers (asked once; ``problem`` says why not)."""
        async with self._lock:
            if self._reachable is None:
                try:
                    resp = await self.get("/healthz")
                    self._reachable = resp.status_code == 200
                    if not self._reachable:
                        self.problem = f"{self.url('/healthz')} answered HTTP {resp.status_code}"
                except httpx.HTTPError as exc:
                    self._reachable = False
                    self.problem = f"no running Watchkeeper at {self.base_url} ({_why(exc)})"
            return self._reachable

    async def get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.get(
            self.url(path), params=params, headers=self._headers, timeout=self.timeout
        )

    async def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        resp = await self.get(path, params)
        if resp.status_code in (401, 403):
            raise PermissionError(
                f"{self.url(path)} answered HTTP {resp.status_code}; give the validator an API "
                "token with services:read (readiness.instance.token)"
            )
        resp.raise_for_status()
        return resp.json()

    async def checks(self) -> list[dict[str, Any]]:
        """Every check's status as the instance reports it (``/api/v1/checks``)."""
        items: list[dict[str, Any]] = []
        offset = 0
        for _ in range(100):
            page = await self.get_json("/api/v1/checks", {"limit": 1000, "offset": offset})
            batch = page.get("items", []) if isinstance(page, dict) else []
            items.extend(b for b in batch if isinstance(b, dict))
            offset += len(batch)
            if not batch or offset >= int(page.get("total", 0)):
                break
        return items


def _why(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 200 else text[:200] + "…"

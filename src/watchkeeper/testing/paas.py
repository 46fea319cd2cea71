"""What the PaaS API fakes (Vercel, Render, Supabase, GitHub) share: token checks, a
per-window rate limit announced in headers, and faults switched on at runtime.

Every fake keeps its state behind a lock (the server runs in its own thread) and offers
the same controls::

    fake.rotate_token("new")      # the old token now gets 401/403
    fake.fail_next(3, 500)        # the next 3 API calls answer 500
    fake.malformed_next(2)        # ... or a body that is not JSON
    fake.rate_limit_storm(5)      # ... or 429 with the platform's rate-limit body
    fake.set_rate_limit(10, 60)   # 10 requests per 60 s window, then 429
    fake.set_down(True)           # every call answers 503 until set_down(False)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from watchkeeper.core.clock import Clock, SystemClock

Handler = Callable[[Request], Awaitable[tuple[int, Any] | tuple[int, Any, dict[str, str]]]]


@dataclass(frozen=True, slots=True)
class RateHeaders:
    limit: str
    remaining: str
    reset: str
    reset_is_epoch: bool  # False: seconds until the window resets


class ApiFake:
    """Base of the PaaS fakes. Subclasses define routes and the error body shape."""

    rate_headers = RateHeaders(
        "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", True
    )
    auth_failure_status = 401

    def __init__(
        self,
        *,
        token: str = "test-token",  # noqa: S107 - a fake's credential
        clock: Clock | None = None,
        rate_limit: int = 100,
        rate_window: float = 60.0,
    ) -> None:
        self.clock = clock or SystemClock()
        self.lock = threading.RLock()
        self._token = token
        self._limit = rate_limit
        self._window = rate_window
        self._window_start = self.clock.now()
        self._used = 0
        self._fail: list[int] = []
        self._malformed = 0
        self._storm = 0
        self._down = False

    # ------------------------------------------------------------------ controls
    @property
    def token(self) -> str:
        with self.lock:
            return self._token

    def rotate_token(self, new: str) -> None:
        with self.lock:
            self._token = new

    def fail_next(self, n: int, status: int = 500) -> None:
        with self.lock:
            self._fail.extend([status] * n)

    def malformed_next(self, n: int) -> None:
        with self.lock:
            self._malformed += n

    def rate_limit_storm(self, n: int) -> None:
        with self.lock:
            self._storm += n

    def set_rate_limit(self, limit: int, window: float = 60.0) -> None:
        with self.lock:
            self._limit, self._window = limit, window
            self._window_start, self._used = self.clock.now(), 0

    def set_down(self, down: bool) -> None:
        with self.lock:
            self._down = down

    # ------------------------------------------------------------------ platform hooks
    def error_body(self, status: int, code: str, message: str) -> Any:
        return {"message": message}

    def check_auth(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    # ------------------------------------------------------------------ serving
    def _rate_state(self) -> tuple[int, int, float]:
        now = self.clock.now()
        if now >= self._window_start + self._window:
            self._window_start, self._used = now, 0
        reset_at = self._window_start + self._window
        return self._limit, max(0, self._limit - self._used), reset_at

    def rate_limit_headers(self) -> dict[str, str]:
        with self.lock:
            limit, remaining, reset_at = self._rate_state()
        h = self.rate_headers
        reset = reset_at if h.reset_is_epoch else max(0.0, reset_at - self.clock.now())
        return {h.limit: str(limit), h.remaining: str(remaining), h.reset: str(int(reset + 0.999))}

    def respond(self, status: int, body: Any) -> Response:
        headers = self.rate_limit_headers()
        if status == 204 or body is None:
            return Response(status_code=status, headers=headers)
        return Response(
            json.dumps(body), status_code=status, headers=headers, media_type="application/json"
        )

    def endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Wrap a route handler with faults, auth and the rate limit."""

        async def wrapped(request: Request) -> Response:
            with self.lock:
                down = self._down
                fail = self._fail.pop(0) if self._fail else None
                storm = self._storm > 0
                if storm:
                    self._storm -= 1
                limit, remaining, reset_at = self._rate_state()
                over = remaining <= 0
                if not (down or fail or storm or over):
                    self._used += 1
                malformed = False
                if self._malformed > 0 and not (down or fail or storm or over):
                    self._malformed -= 1
                    malformed = True
            if down:
                return self.respond(503, self.error_body(503, "service_unavailable", "down"))
            if not self.check_auth(request):
                status = self.auth_failure_status
                return self.respond(status, self.error_body(status, "forbidden", "Not authorized"))
            if fail is not None:
                return self.respond(
                    fail, self.error_body(fail, "internal_server_error", "injected failure")
                )
            if storm or over:
                return self._too_many(limit, reset_at)
            if malformed:
                return Response(
                    '{"truncated": [',
                    status_code=200,
                    headers=self.rate_limit_headers(),
                    media_type="application/json",
                )
            answer = await handler(request)
            response = self.respond(answer[0], answer[1])
            if len(answer) == 3:
                response.headers.update(answer[2])
            return response

        return wrapped

    def _too_many(self, limit: int, reset_at: float) -> Response:
        retry = max(1, int(reset_at - self.clock.now() + 0.999))
        body = self.error_body(429, "rate_limited", f"Rate limit exceeded. Try again in {retry}s")
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            body["error"]["limit"] = {
                "remaining": 0,
                "reset": int(reset_at),
                "resetMs": int(reset_at * 1000),
                "total": limit,
            }
        response = self.respond(429, body)
        response.headers["Retry-After"] = str(retry)
        return response

"""HTTP routes of cluster mode, as a router factory the web app mounts::

    app.include_router(cluster_router(lambda: rt.cluster))

- ``GET /api/v1/cluster`` (``cluster:read``): this instance's role, the leader and its
  term, every member with its heartbeat age and shard size, the target -> instance
  assignment and the sample queues to the peers. ``{"enabled": false}`` on one instance
  with the embedded state database.
- ``POST /api/v1/cluster/samples``: where peers send the samples they collect (Prometheus
  remote write 1.0 body). Not for people: it is authenticated by the cluster's shared key
  in the ``X-Watchkeeper-Cluster-Key`` header, which the instances keep in the state
  database; without cluster mode it answers 404.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any, Protocol

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from watchkeeper.cluster.replicate import KEY_HEADER, SAMPLES_PATH
from watchkeeper.core.errors import StorageError, UserInputError
from watchkeeper.remote.api import read_body
from watchkeeper.remote.errors import PushError, PushTooLargeError
from watchkeeper.remote.ingest import PushResult
from watchkeeper.security.permissions import Permission
from watchkeeper.web.deps import public, require

MAX_BODY = 64 * 1024**2


class ClusterEndpoint(Protocol):
    """What the routes need from the running cluster member."""

    def status(self) -> dict[str, Any]: ...

    @property
    def peer_key(self) -> str: ...

    def ingest_samples(self, body: bytes) -> PushResult: ...


def _error(status: int, message: str) -> JSONResponse:
    headers = {"Retry-After": "2"} if status == 503 else None
    return JSONResponse({"status": "error", "error": message}, status, headers=headers)


def cluster_router(endpoint: Callable[[], ClusterEndpoint | None]) -> APIRouter:
    router = APIRouter(tags=["cluster"])

    @router.get(
        "/api/v1/cluster",
        dependencies=[Depends(require(Permission.CLUSTER_READ))],
        summary="Members, leader and shard assignment of the cluster",
    )
    def cluster() -> dict[str, Any]:
        node = endpoint()
        if node is None:
            return {
                "enabled": False,
                "detail": "one instance on the embedded state database; cluster mode needs "
                "state.backend: postgres",
            }
        return node.status()

    @router.post(
        SAMPLES_PATH,
        dependencies=[Depends(public("peers authenticate with the cluster key, checked here"))],
        include_in_schema=False,
    )
    async def samples(request: Request) -> Response:
        node = endpoint()
        if node is None:
            return _error(404, "cluster mode is off on this instance")
        given = request.headers.get(KEY_HEADER, "")
        expected = node.peer_key
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return _error(401, f"missing or wrong {KEY_HEADER}: only cluster peers send here")
        try:
            body = await read_body(request, MAX_BODY)
            result = await run_in_threadpool(node.ingest_samples, body)
        except PushTooLargeError as exc:
            return _error(413, str(exc))
        except (PushError, UserInputError) as exc:
            return _error(400, str(exc))
        except StorageError as exc:
            return _error(503, f"the store cannot write: {exc}")
        if not result.complete:
            return JSONResponse({"status": "partial", "data": result.to_json()}, 200)
        return Response(status_code=204)

    return router

"""A minimal metrics endpoint on loopback that keeps its connections open and counts
them, in the caller's event loop: what the shared benchmark's scrape fleet is, for tests
of connection reuse and for ``bench/scrape_path.py``.

    exporter = KeepAliveExporter(b"m 1\\n")
    url = await exporter.start()      # http://127.0.0.1:<port>/metrics
    ...
    await exporter.stop()
    exporter.connections, exporter.requests
"""

from __future__ import annotations

import asyncio

TEXT_CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"


class KeepAliveExporter:
    """Answers every HTTP/1.1 request on a connection with ``body``, until the client
    closes it."""

    def __init__(self, body: bytes) -> None:
        self.response = (
            b"HTTP/1.1 200 OK\r\nContent-Type: " + TEXT_CONTENT_TYPE + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        self.connections = 0
        self.requests = 0
        self._server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                self.requests += 1
                writer.write(self.response)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start(self) -> str:
        """Listen on a free loopback port; the metrics URL."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/metrics"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

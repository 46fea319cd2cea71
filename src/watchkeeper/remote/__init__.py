"""Metrics in and out over the network: push ingestion and remote storage.

- :mod:`.api` — the push endpoints (router factories): ``POST /prometheus/api/v1/write``
  (Prometheus remote write 1.0) and ``POST /prometheus/api/v1/import/prometheus``
  (exposition text), both behind ``metrics:write``; :mod:`.ingest` does the work without
  the web framework.
- :mod:`.proto` and :mod:`.codec` — the remote-write protobuf messages (declared with the
  ``protobuf`` package) and snappy bodies (``cramjam``).
- :mod:`.config` — ``storage.push``, ``storage.remote_write``, ``storage.query_url`` and
  ``storage.query``.
"""

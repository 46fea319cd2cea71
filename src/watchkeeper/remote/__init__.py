"""Metrics in and out over the network: push ingestion and remote storage (docs/remote.md).

Push (samples in):

- :mod:`.api` — router factories for ``POST /prometheus/api/v1/write`` (Prometheus remote
  write 1.0) and ``POST /prometheus/api/v1/import/prometheus`` (exposition text), both
  behind ``metrics:write``; :mod:`.ingest` does the work without the web framework.
- :mod:`.proto` and :mod:`.codec` — the remote-write protobuf messages (declared with the
  ``protobuf`` package) and snappy bodies (``cramjam``).

Remote storage (``storage.remote_write`` out, ``storage.query_url`` in):

- :mod:`.writer` — one endpoint's sender: batching, retries with backoff, metrics;
  :mod:`.queue` — its persistent, bounded disk queue; :mod:`.service` — every endpoint
  together, and :class:`~.service.ForwardingStore`, the store wrapper that feeds them.
- :mod:`.query` — :class:`~.query.RemotePromQL`, the remote TSDB's PromQL API behind the
  embedded engine's interface (:class:`~.query.QueryEngine`); :mod:`.reader` — series,
  label and raw-sample reads from it.

:mod:`.config` holds the models (``storage.push``, ``storage.remote_write``,
``storage.query_url``, ``storage.query``); :mod:`.errors` the exceptions.
"""

"""``type: supabase``: a Supabase project through the Management API, plus its Prometheus
metrics endpoint.

Series (labels besides the target's in braces):

* ``watchkeeper_supabase_project_healthy`` 1 when the project status is ACTIVE_HEALTHY;
  ``watchkeeper_supabase_project_status{status}`` 1 for the current status;
* ``watchkeeper_supabase_component_healthy{component}`` 1/0 per service of the health
  endpoint (auth, db, rest, realtime, storage, pooler; ``component`` because ``service``
  is the target label);
* ``watchkeeper_supabase_newest_backup_age_seconds`` and
  ``watchkeeper_supabase_newest_backup_timestamp_seconds`` of the newest COMPLETED backup
  (with PITR: the latest physical backup time), ``watchkeeper_supabase_backups{status}``,
  ``watchkeeper_supabase_pitr_enabled``;
* ``watchkeeper_supabase_api_requests{api}`` requests in the newest ``usage.api-counts``
  bucket (api = auth, realtime, rest, storage);
* ``watchkeeper_supabase_api_rate_limit_remaining`` / ``..._api_rate_limit``;
* with ``service_role_key`` set, every series of the project's metrics endpoint
  (``/customer/v1/privileged/metrics``, HTTP Basic ``service_role``), parsed with the
  scrape collector's parser and kept under their own names (``pg_stat_database_*``,
  ``node_*``, ``max_connections_connection_count``, ...).
"""

"""``type: postgres``: PostgreSQL health from the ``pg_stat_*`` views, over any DSN
(Supabase's included), on one read-only connection per target with a statement timeout.

Series (labels besides the target's in braces):

* ``watchkeeper_postgres_connections{state}`` client backends by state (active, idle,
  idle in transaction, ...), ``watchkeeper_postgres_max_connections``;
* ``watchkeeper_postgres_idle_in_transaction_sessions``;
* ``watchkeeper_postgres_longest_transaction_seconds``,
  ``watchkeeper_postgres_longest_query_seconds`` (active queries);
* ``watchkeeper_postgres_lock_waiting_sessions``,
  ``watchkeeper_postgres_longest_lock_wait_seconds``,
  ``watchkeeper_postgres_blocked_sessions`` (sessions another session blocks);
* counters of the current database from ``pg_stat_database``: ``..._commits_total``,
  ``..._rollbacks_total``, ``..._deadlocks_total``, ``..._temp_bytes_total``,
  ``..._blocks_hit_total``, ``..._blocks_read_total``; ``watchkeeper_postgres_cache_hit_ratio``;
* ``watchkeeper_postgres_database_size_bytes``;
* ``watchkeeper_postgres_xid_age{datname}`` and ``watchkeeper_postgres_autovacuum_freeze_max_age``;
* ``watchkeeper_postgres_is_replica``, ``watchkeeper_postgres_replay_delay_seconds`` (on a
  replica), ``watchkeeper_postgres_replication_lag_seconds{application_name}`` and
  ``watchkeeper_postgres_replication_lag_bytes{application_name}`` (on a primary);
* ``watchkeeper_postgres_statements_available`` 1 when ``pg_stat_statements`` is installed,
  then for the top statements by total time ``watchkeeper_postgres_statement_calls_total``,
  ``watchkeeper_postgres_statement_exec_seconds_total`` and
  ``watchkeeper_postgres_statement_mean_exec_seconds`` ``{queryid, query}`` (query text cut
  to 80 characters).
"""

"""The SQL the postgres collector runs; each reads one catalog view."""

SETTINGS = """
SELECT current_setting('max_connections')::int,
       current_setting('autovacuum_freeze_max_age')::bigint,
       pg_is_in_recovery()
"""

ACTIVITY = """
SELECT coalesce(state, 'unknown') AS state,
       count(*) AS n,
       coalesce(max(extract(epoch FROM now() - xact_start)), 0) AS max_xact,
       coalesce(max(extract(epoch FROM now() - query_start))
                FILTER (WHERE state = 'active'), 0) AS max_query,
       count(*) FILTER (WHERE wait_event_type = 'Lock') AS lock_waiting,
       coalesce(max(extract(epoch FROM now() - state_change))
                FILTER (WHERE wait_event_type = 'Lock'), 0) AS max_lock_wait,
       count(*) FILTER (WHERE cardinality(pg_blocking_pids(pid)) > 0) AS blocked
FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
GROUP BY 1
"""

DATABASE = """
SELECT xact_commit, xact_rollback, deadlocks, temp_bytes, blks_hit, blks_read,
       pg_database_size(current_database())
FROM pg_stat_database WHERE datname = current_database()
"""

WRAPAROUND = """
SELECT datname, age(datfrozenxid) FROM pg_database WHERE datallowconn
"""

REPLICATION = """
SELECT coalesce(application_name, ''),
       coalesce(extract(epoch FROM replay_lag), 0),
       coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)
FROM pg_stat_replication
"""

REPLAY_DELAY = """
SELECT CASE WHEN pg_last_wal_receive_lsn() IS DISTINCT FROM pg_last_wal_replay_lsn()
            THEN coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)
            ELSE 0 END
"""

STATEMENTS_SCHEMA = """
SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'pg_stat_statements'
"""

TOP_STATEMENTS = """
SELECT queryid::text, calls, total_exec_time / 1000.0, mean_exec_time / 1000.0,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 80)
FROM {schema}.pg_stat_statements
WHERE queryid IS NOT NULL
ORDER BY total_exec_time DESC
LIMIT %s
"""

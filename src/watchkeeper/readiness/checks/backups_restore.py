"""``backups.restore_drill``: ``pg_dump`` of the configured database (or chosen tables)
restored into a scratch database on the same server, row counts and checksums compared,
the scratch database dropped (:mod:`watchkeeper.readiness.pgdrill`).

The database is ``readiness.backups.restore_drill.dsn``, else the first ``postgres``
check's ``dsn``."""

from __future__ import annotations

import asyncio

from watchkeeper.collect.postgres.config import PostgresCheckConfig
from watchkeeper.readiness.check import Check, CheckContext, failed, passed, skipped, warned
from watchkeeper.readiness.model import Category, Detail, Status, Verdict
from watchkeeper.readiness.pgdrill import DrillError, run_drill


class RestoreDrill(Check):
    id = "backups.restore_drill"
    category = Category.BACKUPS
    title = "A dump restores with matching rows"
    timeout = 180.0

    async def run(self, ctx: CheckContext) -> Verdict:
        settings = ctx.settings.backups.restore_drill
        if not settings.enabled:
            return skipped("turned off (readiness.backups.restore_drill.enabled: false)")
        dsn = settings.dsn.reveal() if settings.dsn is not None else _first_postgres(ctx)
        if dsn is None:
            return skipped(
                "no database to drill: no postgres check and no restore_drill.dsn",
                "set readiness.backups.restore_drill.dsn to the database (a read replica or "
                "a role that may create databases on a staging server works too)",
            )
        limit = self.time_limit(ctx.settings)
        try:
            result = await asyncio.to_thread(
                run_drill,
                dsn,
                settings.tables,
                max_bytes=settings.max_database_bytes,
                timeout=max(1.0, limit - 5.0),
            )
        except DrillError as exc:
            return failed(str(exc), "fix what the message says and run the drill again")
        details = tuple(
            Detail(
                table,
                Status.PASS if result.restored.get(table) == figures else Status.FAIL,
                f"{figures.rows} rows, checksum {figures.checksum[:12]}",
            )
            for table, figures in result.source.items()
        )
        data = {
            "database": result.database,
            "size_bytes": result.size_bytes,
            "dump_bytes": result.dump_bytes,
            "dump_seconds": round(result.dump_seconds, 3),
            "restore_seconds": round(result.restore_seconds, 3),
            "tables": len(result.source),
            "rows": sum(f.rows for f in result.source.values()),
            "scratch_dropped": result.scratch_dropped,
        }
        where = (
            f"{result.database}: {result.size_bytes / 1e6:.1f} MB, dump {result.dump_bytes} "
            f"bytes in {result.dump_seconds:.1f}s, restored into {result.scratch} in "
            f"{result.restore_seconds:.1f}s and dropped"
        )
        bad = result.mismatches()
        if bad:
            return failed(
                f"{where}; {'; '.join(bad)}",
                "the dump does not restore what the database holds: look at pg_restore's "
                f"messages ({result.restore_warnings or 'none'}) and the tables above",
                details=details,
                data=data,
            )
        if not result.source:
            return warned(
                f"{where}; the database has no tables to compare",
                "point restore_drill.dsn at the application's database",
                data=data,
            )
        rows = data["rows"]
        evidence = f"{where}; {len(result.source)} tables, {rows} rows: counts and checksums match"
        if result.restore_warnings:
            return warned(
                f"{evidence}; pg_restore reported: {result.restore_warnings}",
                "look at pg_restore's messages (often an extension or role missing on the "
                "target); a real restore would hit them too",
                details=details,
                data=data,
            )
        return passed(evidence, details=details, data=data)


def _first_postgres(ctx: CheckContext) -> str | None:
    for svc in ctx.config.services:
        for check in svc.checks:
            if isinstance(check, PostgresCheckConfig) and check.enabled:
                return check.dsn.reveal()
    return None

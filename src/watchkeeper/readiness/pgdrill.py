"""The backup restore drill on a real PostgreSQL server.

1. In a REPEATABLE READ transaction on the source, export a snapshot and measure each
   table: its row count and a checksum (the md5 of the sorted md5s of its rows);
2. ``pg_dump --snapshot`` of that same snapshot (custom format; only ``tables`` when
   given), so the figures and the dump describe exactly the same data;
3. create a scratch database, ``pg_restore`` into it, measure the tables again;
4. drop the scratch database, whatever happened.

Runs in a worker thread (psycopg and the tools are blocking); every tool call is bounded
by ``timeout``. Needs ``pg_dump`` and ``pg_restore`` on the PATH and the right to create a
database on the server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow

Conn = psycopg.Connection[TupleRow]

CHECKSUM = (
    "SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '') "
    "FROM (SELECT md5(t::text) AS h FROM {} AS t) AS rows"
)
TABLES = (
    "SELECT schemaname, tablename FROM pg_tables "
    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') "
    "AND schemaname NOT LIKE 'pg_temp%' ORDER BY 1, 2"
)


class DrillError(Exception):
    """The drill could not be done; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class TableFigures:
    rows: int
    checksum: str


@dataclass(slots=True)
class DrillResult:
    database: str  # host:port/dbname, never credentials
    size_bytes: int
    source: dict[str, TableFigures] = field(default_factory=dict)
    restored: dict[str, TableFigures] = field(default_factory=dict)
    dump_bytes: int = 0
    dump_seconds: float = 0.0
    restore_seconds: float = 0.0
    restore_warnings: str = ""
    scratch: str = ""
    scratch_dropped: bool = False

    def mismatches(self) -> list[str]:
        out = []
        for table, want in self.source.items():
            got = self.restored.get(table)
            if got is None:
                out.append(f"{table}: missing after the restore")
            elif got.rows != want.rows:
                out.append(f"{table}: {got.rows} rows restored, {want.rows} in the source")
            elif got.checksum != want.checksum:
                out.append(f"{table}: {got.rows} rows, but the contents differ (checksum)")
        return out


def describe(dsn: str) -> str:
    parts = conninfo_to_dict(dsn)
    return (
        f"{parts.get('host') or 'localhost'}:{parts.get('port') or 5432}/"
        f"{parts.get('dbname') or parts.get('user') or 'postgres'}"
    )


def run_drill(dsn: str, tables: Sequence[str], *, max_bytes: int, timeout: float) -> DrillResult:
    """Dump, restore into a scratch database, compare, drop. Raises :class:`DrillError`."""
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            raise DrillError(f"{tool} is not installed; install the PostgreSQL client tools")
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory(prefix="wk-restore-drill-") as tmp:
        dump = Path(tmp) / "drill.dump"
        result = _dump(dsn, tables, dump, max_bytes, deadline)
        scratch = f"wk_restore_drill_{uuid.uuid4().hex[:12]}"
        result.scratch = scratch
        admin = make_conninfo(dsn, dbname=conninfo_to_dict(dsn).get("dbname") or "postgres")
        _admin(admin, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)), "create")
        try:
            target = make_conninfo(dsn, dbname=scratch)
            if tables:  # pg_dump --table leaves out the tables' schemas
                _schemas(target, {t.partition(".")[0] for t in tables})
            t0 = time.monotonic()
            done = _tool(
                ["pg_restore", "--no-owner", "--no-privileges", str(dump)], target, deadline
            )
            result.restore_seconds = time.monotonic() - t0
            if done.returncode != 0:
                result.restore_warnings = _tail(done.stderr)
            with psycopg.connect(target, connect_timeout=10) as conn:
                result.restored = {t: _figures(conn, t) for t in _present(conn, result.source)}
        finally:
            _admin(
                admin,
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)),
                "drop",
            )
            result.scratch_dropped = True
    return result


def _dump(
    dsn: str, tables: Sequence[str], out: Path, max_bytes: int, deadline: float
) -> DrillResult:
    try:
        conn = psycopg.connect(dsn, connect_timeout=10)
    except psycopg.Error as exc:
        raise DrillError(f"cannot connect to {describe(dsn)}: {_first_line(exc)}") from None
    with conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            size = int(str(_scalar(conn, "SELECT pg_database_size(current_database())")))
            if size > max_bytes:
                raise DrillError(
                    f"{describe(dsn)} is {size / 1e6:.0f} MB, above the drill's limit of "
                    f"{max_bytes / 1e6:.0f} MB; raise readiness.backups.restore_drill."
                    "max_database_bytes or choose tables"
                )
            snapshot = str(_scalar(conn, "SELECT pg_export_snapshot()"))
            names = _tables(conn, tables)
            result = DrillResult(describe(dsn), size)
            result.source = {t: _figures(conn, t) for t in names}
            args = ["pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={out}"]
            args += [f"--table={t}" for t in tables]
            t0 = time.monotonic()
            done = _tool(args, dsn, deadline)
            result.dump_seconds = time.monotonic() - t0
            if done.returncode != 0:
                raise DrillError(f"pg_dump failed: {_tail(done.stderr)}")
            result.dump_bytes = out.stat().st_size
    return result


def _schemas(dsn: str, names: set[str]) -> None:
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        for name in sorted(names):
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(name)))


def _tables(conn: Conn, wanted: Sequence[str]) -> list[str]:
    present = [f"{s}.{t}" for s, t in conn.execute(TABLES).fetchall()]
    if not wanted:
        return present
    missing = [t for t in wanted if t not in present]
    if missing:
        raise DrillError(
            f"tables not found: {', '.join(missing)} (write them as schema.table, e.g. "
            "public.orders)"
        )
    return list(wanted)


def _present(conn: Conn, wanted: dict[str, TableFigures]) -> list[str]:
    have = {f"{s}.{t}" for s, t in conn.execute(TABLES).fetchall()}
    return [t for t in wanted if t in have]


def _figures(conn: Conn, table: str) -> TableFigures:
    schema, _, name = table.partition(".")
    query = sql.SQL(CHECKSUM).format(sql.Identifier(schema, name))
    row = conn.execute(query).fetchone()
    if row is None:  # pragma: no cover - an aggregate always returns a row
        raise DrillError(f"no figures for {table}")
    return TableFigures(int(str(row[0])), str(row[1]))


def _scalar(conn: Conn, query: str) -> object:
    row = conn.execute(query).fetchone()
    if row is None:  # pragma: no cover
        raise DrillError(f"{query} returned nothing")
    return row[0]


def _admin(dsn: str, statement: sql.Composed, what: str) -> None:
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement)
    except psycopg.Error as exc:
        raise DrillError(
            f"cannot {what} the scratch database: {_first_line(exc)}; the drill needs a role "
            "allowed to create databases (CREATEDB) on the server"
        ) from None


def _tool(args: list[str], dsn: str, deadline: float) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL tool on ``dsn``; the password goes in the environment, never on
    the command line."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise DrillError("the drill ran out of time; raise the check's timeout")
    parts = {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    env = dict(os.environ)
    password = parts.pop("password", None)
    if password is not None:
        env["PGPASSWORD"] = password
    try:
        return subprocess.run(  # noqa: S603 - fixed tool names, arguments from config
            [*args, "--dbname", make_conninfo("", **parts)],
            capture_output=True,
            text=True,
            timeout=left,
            check=False,
            env=env,
        )
    except subprocess.TimeoutExpired:
        raise DrillError(f"{args[0]} did not finish in time; raise the check's timeout") from None


def _tail(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return " / ".join(lines[-3:])[:500]


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]

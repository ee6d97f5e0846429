"""Copy a SQLite store into a PostgreSQL one: `hfchat copy-db --from sqlite:///... --to postgresql://...`.

Both databases are migrated first (so their tables have the same columns), then every table that holds
data (conversations, messages, settings, usage, processed_events, assistants, and whatever later
migrations add) is copied with its ids, in batches, inside one PostgreSQL transaction: a failure leaves
the target as it was. Each id sequence is then moved past the largest copied id. `workers` is not
copied: it describes the processes alive on the source, and none of them writes to the target (a reply
left STREAMING there is found orphaned and marked interrupted when the first bot starts).

A target that already holds data is refused unless `force=True`, which empties it first; so running the
copy again gives the same target. Stop the bots writing to the SQLite file while it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import aiosqlite

from core.store import open_store

# copied first, in this order (messages and usage point at conversations); tables later migrations add follow
ORDER = ("conversations", "messages", "settings", "usage", "processed_events", "assistants")
SKIPPED = frozenset({"schema_migrations", "workers"})
BATCH_ROWS = 1000


class TargetNotEmpty(RuntimeError):
    """The PostgreSQL target already holds data and `force` was not given."""


@dataclass
class CopyReport:
    counts: dict[str, int] = field(default_factory=dict)  # table -> rows copied
    emptied: dict[str, int] = field(default_factory=dict)  # table -> rows removed first (force)

    def lines(self) -> list[str]:
        out = [f"emptied {table}: {rows} rows" for table, rows in self.emptied.items() if rows]
        out += [f"copied {table}: {rows} rows" for table, rows in self.counts.items()]
        out.append(f"total: {sum(self.counts.values())} rows in {len(self.counts)} tables")
        return out


def _sqlite_path(url: str) -> str:
    if not url.startswith("sqlite://"):
        raise ValueError("the source must be a sqlite:///path/to/file.db URL")
    return url.removeprefix("sqlite://").removeprefix("/") or "data/hfchat.db"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _converter(pg_type: str) -> Callable[[object], object]:
    """SQLite hands back ints for booleans and may hand back ints for REAL columns: match PostgreSQL's type."""
    if pg_type == "boolean":
        return lambda v: None if v is None else bool(v)
    if pg_type in ("bigint", "integer", "smallint"):
        return lambda v: None if v is None else int(v)
    if pg_type in ("double precision", "real", "numeric"):
        return lambda v: None if v is None else float(v)
    if pg_type == "text":
        return lambda v: None if v is None else (v if isinstance(v, str) else str(v))
    return lambda v: v


async def _target_tables(conn) -> dict[str, dict[str, str]]:
    """table -> {column: data_type} in the connection's current schema."""
    rows = await conn.fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    )
    tables: dict[str, dict[str, str]] = {}
    for row in rows:
        tables.setdefault(row["table_name"], {})[row["column_name"]] = row["data_type"]
    return tables


async def _source_tables(db: aiosqlite.Connection) -> dict[str, list[str]]:
    tables: dict[str, list[str]] = {}
    async with db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'") as cur:
        names = [row[0] for row in await cur.fetchall()]
    for name in names:
        async with db.execute(f"PRAGMA table_info({_quote(name)})") as cur:
            tables[name] = [row[1] for row in await cur.fetchall()]
    return tables


async def copy_sqlite_to_postgres(
    source_url: str,
    target_url: str,
    *,
    schema: str | None = None,
    force: bool = False,
    batch_rows: int = BATCH_ROWS,
    progress: Callable[[str], None] | None = None,
) -> CopyReport:
    """Copy every data table from the SQLite store at `source_url` into the PostgreSQL one at `target_url`."""
    import asyncpg  # the PostgreSQL extra

    path = _sqlite_path(source_url)
    if not target_url.startswith(("postgresql://", "postgres://")):
        raise ValueError("the target must be a postgresql:// URL")
    # bring both up to the latest migration (and create the target schema)
    for url, where in ((source_url, None), (target_url, schema)):
        store = await open_store(url, schema=where)
        await store.close()

    report = CopyReport()
    settings = {"search_path": _quote(schema)} if schema else None
    db = await aiosqlite.connect(path)
    conn = await asyncpg.connect(target_url, server_settings=settings)
    try:
        source = await _source_tables(db)
        target = await _target_tables(conn)
        names = [t for t in ORDER if t in source and t in target]
        names += sorted(t for t in source if t in target and t not in names and t not in SKIPPED)
        async with conn.transaction():
            occupied = {t: await conn.fetchval(f"SELECT count(*) FROM {_quote(t)}") for t in names}
            if any(occupied.values()):
                if not force:
                    held = ", ".join(f"{t} ({n} rows)" for t, n in occupied.items() if n)
                    raise TargetNotEmpty(f"the target already holds data: {held}; use --force to replace it")
                await conn.execute(f"TRUNCATE {', '.join(_quote(t) for t in names)} RESTART IDENTITY CASCADE")
                report.emptied = {t: n for t, n in occupied.items() if n}
            for table in names:
                columns = [c for c in source[table] if c in target[table]]
                convert = [_converter(target[table][c]) for c in columns]
                copied = 0
                async with db.execute(
                    f"SELECT {', '.join(_quote(c) for c in columns)} FROM {_quote(table)} ORDER BY rowid"
                ) as cur:
                    while batch := await cur.fetchmany(batch_rows):
                        records = [tuple(f(v) for f, v in zip(convert, row, strict=True)) for row in batch]
                        await conn.copy_records_to_table(table, records=records, columns=columns, schema_name=schema)
                        copied += len(records)
                        if progress is not None:
                            progress(f"{table}: {copied} rows")
                report.counts[table] = copied
                if target[table].get("id") in ("bigint", "integer"):
                    # the next id the sequence hands out follows the copied ones
                    await conn.execute(
                        f"SELECT setval(pg_get_serial_sequence($1, 'id'), "
                        f"coalesce((SELECT max(id) FROM {_quote(table)}), 0) + 1, false) "
                        "WHERE pg_get_serial_sequence($1, 'id') IS NOT NULL",
                        _quote(table),
                    )
    finally:
        await conn.close()
        await db.close()
    return report

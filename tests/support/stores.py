"""Stores for tests: SQLite in a temp folder, PostgreSQL on a fresh schema of the test server, and what a
test reads back from their files."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from core.keys import ConversationKey
from core.store.base import Store
from core.store.retry import RetryPolicy
from core.store.sqlite import SQLiteStore

try:
    import asyncpg

    from core.store.postgres import PostgresStore
except ImportError as exc:  # asyncpg is an optional extra
    asyncpg = None
    PostgresStore = None
    _IMPORT_ERROR = f"asyncpg is not installed ({exc})"
else:
    _IMPORT_ERROR = ""

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"

_pg_problem: str | None = None  # None: not checked yet; "": reachable; else why not


async def require_postgres() -> None:
    global _pg_problem
    if _pg_problem is None:
        _pg_problem = _IMPORT_ERROR
        if not _pg_problem:
            try:
                conn = await asyncpg.connect(PG_URL, timeout=5)
                try:
                    await conn.fetchval("SELECT 1")
                finally:
                    await conn.close()
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                _pg_problem = f"{type(exc).__name__}: {exc}"
    if _pg_problem:
        message = f"PostgreSQL not reachable on 127.0.0.1:5432: {_pg_problem}"
        if os.environ.get("HFCHAT_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)


@contextlib.asynccontextmanager
async def fresh_schema() -> AsyncIterator[str]:
    """A unique schema name for one test (the store creates it); dropped afterwards."""
    await require_postgres()
    schema = f"hfchat_test_{uuid.uuid4().hex[:16]}"
    try:
        yield schema
    finally:
        conn = await asyncpg.connect(PG_URL, timeout=10)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


@contextlib.asynccontextmanager
async def open_store(kind: str, tmp_path, pg_url=lambda schema: PG_URL) -> AsyncIterator[Store]:
    """An open store of `kind` ("sqlite" in tmp_path, or "postgres" on a fresh schema reached at `pg_url(schema)`)."""
    async with contextlib.AsyncExitStack() as stack:
        if kind == "sqlite":
            s: Store = SQLiteStore(tmp_path / "hfchat.db")
        else:
            schema = await stack.enter_async_context(fresh_schema())
            s = PostgresStore(pg_url(schema), schema=schema)
        await s.open()
        try:
            yield s
        finally:
            await s.close()


def same_place(store: Store) -> Store:
    """Another store on the same database (and schema)."""
    if isinstance(store, SQLiteStore):
        return SQLiteStore(store.path)
    return PostgresStore(store.database_url, schema=store.schema)


def store_key(
    channel: str, *, platform: str = "discord", workspace: str = "guild1", thread: str = ""
) -> ConversationKey:
    return ConversationKey(platform, workspace, channel, thread)


def sqlite_files_holding(folder: Path, text: str, pattern: str = "test.db*") -> list[str]:
    """The SQLite files (the database, its WAL and journal) in `folder` whose bytes contain `text`."""
    files = sorted(folder.glob(pattern))
    assert files, f"no {pattern} in {folder}"
    return [path.name for path in files if text.encode() in path.read_bytes()]


# faults: a database that is locked or restarted under the bot

FAST_RETRY = RetryPolicy(attempts=3, first_delay=0.05, max_delay=0.1)  # gives up after about 0.5 s of faults
LOCK_TIMEOUT = "100ms"  # the bot's PostgreSQL statements wait this long for a table lock, then fail


def pg_url_with_lock_timeout(app_name: str) -> str:
    return f"{PG_URL}?lock_timeout={LOCK_TIMEOUT}&application_name={app_name}"


@contextlib.asynccontextmanager
async def messages_locked(store: Store) -> AsyncIterator[None]:
    """Another connection keeps the bot from writing messages until the block ends (reads still work).

    SQLite: it holds the database's write lock. PostgreSQL: it holds an EXCLUSIVE lock on `messages`, so
    other tables (event claims, conversations) stay writable and the fault lands on the message itself.
    """
    if isinstance(store, SQLiteStore):
        db = await aiosqlite.connect(store.path, isolation_level=None)
        try:
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield
            finally:
                await db.execute("COMMIT")
        finally:
            await db.close()
        return
    conn = await asyncpg.connect(PG_URL, server_settings={"search_path": f'"{store.schema}"'})
    try:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("LOCK TABLE messages IN EXCLUSIVE MODE")
        try:
            yield
        finally:
            await transaction.commit()
    finally:
        await conn.close()


async def terminate_backends(app_name: str) -> int:
    """End every PostgreSQL session of the bot (by its application_name), as a server restart does."""
    conn = await asyncpg.connect(PG_URL)
    try:
        return await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", app_name
        )
    finally:
        await conn.close()


async def fetch_rows(store: Store, sql: str) -> list[tuple]:
    if isinstance(store, SQLiteStore):
        async with store.db.execute(sql) as cur:
            return [tuple(row) for row in await cur.fetchall()]
    return [tuple(row) for row in await store.pool.fetch(sql)]

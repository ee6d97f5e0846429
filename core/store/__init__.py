"""Storage: one interface (`Store`), backends chosen by the database URL."""

from __future__ import annotations

from core.store.base import Conversation, MessageStatus, Scope, Store, StoredMessage

__all__ = ["Conversation", "MessageStatus", "Scope", "Store", "StoredMessage", "open_store"]


async def open_store(database_url: str, *, schema: str | None = None, async_commit: bool = False) -> Store:
    """Open (and migrate) the store a database URL names; `schema` picks a PostgreSQL schema, `async_commit` lets
    PostgreSQL commit claims and people's messages asynchronously (core.store.postgres)."""
    if database_url.startswith(("postgresql://", "postgres://")):
        try:
            from core.store.postgres import PostgresStore
        except ImportError as exc:  # asyncpg is an optional extra
            raise RuntimeError(
                "DATABASE_URL is PostgreSQL but asyncpg is not installed: pip install '.[postgres]'"
            ) from exc
        store: Store = PostgresStore(database_url, schema=schema, async_commit=async_commit)
    else:
        from core.store.sqlite import SQLiteStore

        path = database_url.removeprefix("sqlite://").removeprefix("/") or "data/hfchat.db"
        store = SQLiteStore(path)
    await store.open()
    return store

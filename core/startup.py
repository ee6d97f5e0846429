"""Start-up failures a person can fix, told in one line that names the setting at fault."""

from __future__ import annotations

import sqlite3
from urllib.parse import urlsplit

from core.config import Settings
from core.errors import StoreUnavailable
from core.store import Store, open_store


class StartupFailure(RuntimeError):
    """A one-line reason the bot cannot start (no traceback: the person can act on the line alone)."""


def postgres_address(database_url: str) -> str:
    """host:port of a PostgreSQL URL; never the user or password."""
    parts = urlsplit(database_url)
    try:
        port = parts.port or 5432
    except ValueError:
        port = 5432
    return f"{parts.hostname or 'localhost'}:{port}"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def describe_database_failure(exc: BaseException, database_url: str) -> str | None:
    """The line for a database that cannot be opened, or None when `exc` is something else."""
    if database_url.startswith(("postgresql://", "postgres://")):
        where = f"PostgreSQL at {postgres_address(database_url)}"
        if isinstance(exc, OSError | StoreUnavailable) or type(exc).__name__ == "TimeoutError":
            return f"cannot reach {where} ({_reason(exc)}): is it running, and is DATABASE_URL right?"
        if type(exc).__module__.startswith("asyncpg"):
            return f"{where} refused the connection ({_reason(exc)}): check DATABASE_URL"
        return None
    if isinstance(exc, OSError | sqlite3.Error | StoreUnavailable):
        return f"cannot open the SQLite database of DATABASE_URL={database_url} ({_reason(exc)})"
    return None


async def open_configured_store(settings: Settings) -> Store:
    try:
        return await open_store(
            settings.database_url, schema=settings.database_schema, async_commit=settings.database_async_commit
        )
    except Exception as exc:
        line = describe_database_failure(exc, settings.database_url)
        if line is None:
            raise
        raise StartupFailure(line) from exc

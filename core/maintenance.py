"""What `hfchat migrate` and `hfchat copy-db` do: database chores run once from the command line, not a use case
of any chat."""

from __future__ import annotations

from core.config import Settings
from core.startup import open_configured_store
from core.store.copy import TargetNotEmpty, copy_sqlite_to_postgres


class CopyRefused(Exception):
    """The copy cannot be made as asked (a target that already holds data, a URL of the wrong kind)."""


async def migrate(settings: Settings) -> None:
    """Apply every pending migration to the configured database."""
    store = await open_configured_store(settings)
    await store.close()


async def copy_database(source: str, target: str, *, schema: str | None, force: bool) -> list[str]:
    """Copy a SQLite database into PostgreSQL; the report's lines."""
    try:
        report = await copy_sqlite_to_postgres(source, target, schema=schema, force=force)
    except (TargetNotEmpty, ValueError) as exc:
        raise CopyRefused(str(exc)) from exc
    return report.lines()

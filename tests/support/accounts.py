"""Accounts under test: a Fernet key made for the test, the fake Hub, and what a database holds in its bytes."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet

from core.store.base import Store

CANARY = "hf_CANARYcanary0123456789abcdefTOKEN"  # a token that must never be found where it should not be


def accounts_settings(hub_url: str) -> dict:
    return {"accounts_key": Fernet.generate_key().decode(), "hf_hub_url": hub_url}


def sqlite_bytes(path: Path) -> bytes:
    """Everything SQLite keeps on disk for this database: the file, its WAL and shared memory."""
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


async def postgres_text(store: Store) -> str:
    """Every row of every table of the store's schema, as text."""
    out: list[str] = []
    async with store.pool.acquire() as conn:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        for table in tables:
            rows = await conn.fetch(f'SELECT * FROM "{table["table_name"]}"')
            out += [repr(tuple(row)) for row in rows]
    return "\n".join(out)


async def database_holds(store: Store, *needles: str) -> list[str]:
    """Which of `needles` the database holds anywhere (SQLite: in the bytes on disk; PostgreSQL: in any row)."""
    if store.backend == "postgres":
        text = await postgres_text(store)
        return [n for n in needles if n in text]
    data = sqlite_bytes(store.path)
    return [n for n in needles if n.encode() in data]

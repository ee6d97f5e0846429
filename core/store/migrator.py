"""Numbered migrations: `NNN_name.sql` files per backend, applied in order and recorded."""

from __future__ import annotations

from importlib import resources


def load(backend: str) -> list[tuple[int, str, str]]:
    """(version, name, sql) for every migration file of a backend, in order."""
    folder = resources.files("core.store") / "migrations" / backend
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number, _, name = entry.name.partition("_")
            found.append((int(number), name.removesuffix(".sql"), entry.read_text("utf-8")))
    return sorted(found)

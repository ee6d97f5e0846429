"""Conversations as files and as a recap: names for exports, the last turns of a conversation."""

from __future__ import annotations

import re
import time
from pathlib import Path

from core.records import Conversation, StoredMessage
from core.store.base import Store

NAME_CHARS = 60


def export_filename(conversation: Conversation, fmt: str) -> str:
    """`title-words-2026-12-04.md`: the title (or "conversation") and the day it was last written in."""
    slug = re.sub(r"[^\w]+", "-", (conversation.title or "").lower()).strip("-_")[:NAME_CHARS].rstrip("-_")
    day = time.strftime("%Y-%m-%d", time.localtime(conversation.updated_at or conversation.created_at))
    return f"{slug or 'conversation'}-{day}.{fmt}"


def free_path(folder: Path, name: str) -> Path:
    """`name` in `folder`, or `name-2`, `name-3`... when taken: an export never overwrites another."""
    path = folder / name
    stem, suffix = path.stem, path.suffix
    number = 2
    while path.exists():
        path = folder / f"{stem}-{number}{suffix}"
        number += 1
    return path


async def last_turns(store: Store, conversation_id: int, turns: int = 3) -> list[StoredMessage]:
    """The last `turns` questions with their answers, oldest first (what reopening it shows)."""
    messages = [m for m in await store.recent_messages(conversation_id, turns * 6) if m.role in ("user", "assistant")]
    questions = [i for i, m in enumerate(messages) if m.role == "user"]
    start = questions[-turns] if len(questions) >= turns else 0
    return messages[start:]

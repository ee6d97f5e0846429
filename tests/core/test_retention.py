"""RETENTION_DAYS: idle conversations, and every byte of their text, go on their own; active ones stay."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from core.app import build_core, purge_expired
from core.keys import ConversationKey
from core.records import Scope, StoredMessage
from core.store.sqlite import SQLiteStore
from tests.support.settings import make_settings

DAY = 86400


def _database_bytes(path: Path) -> bytes:
    """The database file and its WAL / shared-memory companions, as they are on disk."""
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file())


async def _conversation(store, channel: str, text: str, *, idle_days: float) -> int:
    conversation = await store.create_conversation(ConversationKey("slack", "T1", channel, "1.0"), "u1", "title")
    at = time.time() - idle_days * DAY
    await store.add_message(conversation.id, StoredMessage(role="user", content=text, created_at=at))
    await store.add_message(conversation.id, StoredMessage(role="assistant", content=f"re: {text}", created_at=at))
    await store.set_setting("slack", "T1", Scope.CONVERSATION, str(conversation.id), "model", "Qwen/Qwen3-32B")
    return conversation.id


async def _gone(store, conversation_id: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await store.get_conversation_by_id(conversation_id) is None:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_retention_loop_purges_idle_conversations_and_their_text(tmp_path, fake_router):
    settings = make_settings(tmp_path, fake_router.url, retention_days=2, retention_check_seconds=0.2)
    path = settings.sqlite_path
    store = SQLiteStore(path)
    await store.open()
    old = await _conversation(store, "C1", "IDLE-CANARY-1f9e", idle_days=3)
    recent = await _conversation(store, "C2", "ACTIVE-CANARY-77ab", idle_days=1)
    await store.close()
    assert b"IDLE-CANARY-1f9e" in _database_bytes(path)

    core = await build_core(settings)
    try:
        # the first purge runs at start-up
        assert await _gone(core.store, old)
        assert await core.store.get_conversation_by_id(recent) is not None
        assert len(await core.store.recent_messages(recent, 10)) == 2
        # and it keeps running every RETENTION_CHECK_SECONDS: a conversation that goes idle later goes too
        later = await _conversation(core.store, "C3", "LATER-CANARY-03cd", idle_days=5)
        assert await _gone(core.store, later)
        assert await core.store.get_conversation_by_id(recent) is not None
        assert await core.store.get_setting("slack", "T1", Scope.CONVERSATION, str(old), "model") is None
        assert await core.store.get_setting("slack", "T1", Scope.CONVERSATION, str(recent), "model") is not None
    finally:
        await core.close()

    on_disk = _database_bytes(path)
    assert b"IDLE-CANARY-1f9e" not in on_disk
    assert b"LATER-CANARY-03cd" not in on_disk
    assert b"ACTIVE-CANARY-77ab" in on_disk


async def test_purge_expired_counts_what_it_erased(tmp_path):
    store = SQLiteStore(tmp_path / "hfchat.db")
    await store.open()
    try:
        idle = await _conversation(store, "C1", "old", idle_days=10)
        active = await _conversation(store, "C2", "new", idle_days=0)
        assert await purge_expired(store, 30) == 0  # nothing idle that long
        assert await purge_expired(store, 5) == 1
        assert await store.get_conversation_by_id(idle) is None
        assert await store.get_conversation_by_id(active) is not None
        # `now` lets a caller ask "as of then": a week later, the active one is idle too
        assert await purge_expired(store, 5, now=time.time() + 7 * DAY) == 1
        assert await store.get_conversation_by_id(active) is None
    finally:
        await store.close()

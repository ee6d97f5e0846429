"""`hfchat copy-db`: a SQLite store copied into a fresh PostgreSQL schema reads back identically."""

from __future__ import annotations

import asyncio

import pytest

from bots.cli import main as cli_main
from core.keys import ConversationKey
from core.records import Assistant, MessageStatus, Scope, StoredMessage
from core.store.copy import TargetNotEmpty, copy_sqlite_to_postgres
from core.store.sqlite import SQLiteStore
from tests.support.stores import PG_URL, fresh_schema

pytestmark = pytest.mark.postgres


async def _fill(store: SQLiteStore) -> dict:
    """Conversations, messages, settings, usage, assistants and an event, through the public API."""
    keys = [
        ConversationKey("slack", "T1", "C1", "1700000000.000100"),
        ConversationKey("discord", "G1", "555", "777"),
        ConversationKey("slack", "T1", "D1", "dm-1"),
        ConversationKey("console", "", "local", "s1"),
    ]
    conversations = [await store.create_conversation(key, f"u{i}", f"title {i}") for i, key in enumerate(keys)]
    await store.set_title(conversations[0].id, "renamed ✓")
    for index, conversation in enumerate(conversations):
        await store.add_message(
            conversation.id, StoredMessage(role="user", content=f"question {index} CANARY", author_id=f"u{index}")
        )
        await store.add_message(
            conversation.id,
            StoredMessage(
                role="assistant",
                content=f"answer {index}\n```py\nprint('x')\n```",
                reasoning="thinking…",
                model="Qwen/Qwen3-32B",
                provider="cerebras",
                status=MessageStatus.TRUNCATED if index == 1 else MessageStatus.COMPLETE,
                prompt_tokens=12,
                completion_tokens=34,
                first_token_ms=123.5,
                total_ms=2000.25,
                platform_message_id=f"C1/{index}.0001",
                extra={"attachments": [{"name": "a.png"}]} if index == 0 else {},
            ),
        )
    await store.delete_conversation(conversations[2].id)  # a gap in the ids: they must be kept as they are
    del conversations[2]
    await store.set_setting("slack", "T1", Scope.USER, "u0", "model", "Qwen/Qwen3-32B")
    await store.set_setting("slack", "T1", Scope.CHANNEL, "C1", "auto_reply", "off")
    await store.set_setting("discord", "G1", Scope.CONVERSATION, str(conversations[1].id), "temperature", "0.3")
    await store.record_usage("slack", "T1", "u0", conversations[0].id, "Qwen/Qwen3-32B", 10, 20, provider="cerebras")
    await store.record_usage("discord", "G1", "u1", None, "meta-llama/Llama-3.3-70B-Instruct", 5, 6)
    personal = await store.create_assistant(
        Assistant("slack", "T1", "u0", "Pirate", instructions="Talk like a pirate", options={"temperature": "0.9"})
    )
    shared = await store.create_assistant(
        Assistant(
            "slack",
            "T1",
            "u1",
            "Reviewer",
            model="Qwen/Qwen3-32B",
            starters=["Review this", "Explain that"],
            web_search=True,
            shared=True,
        )
    )
    assert await store.claim_event("slack", "Ev001")
    return {"conversations": conversations, "assistants": [personal, shared]}


async def _same_contents(source: SQLiteStore, target, filled: dict) -> None:
    for conversation in filled["conversations"]:
        copied = await target.get_conversation_by_id(conversation.id)
        assert copied == await source.get_conversation_by_id(conversation.id)
        assert await target.get_conversation(conversation.key) == copied
        assert await target.recent_messages(conversation.id, 50) == await source.recent_messages(conversation.id, 50)
        original = await source.recent_messages(conversation.id, 50)
        found = await target.find_by_platform_message(conversation.key.platform, original[-1].platform_message_id)
        assert found == original[-1]
    for platform, owner in (("slack", "u0"), ("slack", "u1"), ("discord", "u1")):
        assert await target.list_conversations(platform, owner) == await source.list_conversations(platform, owner)
    for args in (
        ("slack", "T1", Scope.USER, "u0", "model"),
        ("slack", "T1", Scope.CHANNEL, "C1", "auto_reply"),
        ("discord", "G1", Scope.CONVERSATION, str(filled["conversations"][1].id), "temperature"),
    ):
        assert await target.get_setting(*args) == await source.get_setting(*args)
        assert await target.get_setting(*args) is not None
    for platform in ("slack", "discord"):
        assert await target.usage_rows(platform) == await source.usage_rows(platform)
    for assistant in filled["assistants"]:
        assert await target.get_assistant(assistant.id) == await source.get_assistant(assistant.id) == assistant
    assert await target.list_assistants("slack", "T1", "u0") == await source.list_assistants("slack", "T1", "u0")
    assert not await target.claim_event("slack", "Ev001")  # a processed event stays processed


async def test_copy_db_preserves_everything_and_refuses_to_overwrite(tmp_path, capsys):
    from core.store.postgres import PostgresStore

    source_url = f"sqlite:///{tmp_path}/hfchat.db"
    source = SQLiteStore(tmp_path / "hfchat.db")
    await source.open()
    try:
        filled = await _fill(source)
        async with fresh_schema() as schema:
            report = await copy_sqlite_to_postgres(source_url, PG_URL, schema=schema, batch_rows=2)
            assert report.counts["conversations"] == 3
            assert report.counts["messages"] == 6
            assert report.counts["settings"] == 3
            assert report.counts["usage"] == 2
            assert report.counts["assistants"] == 2
            assert report.counts["processed_events"] == 1
            assert "workers" not in report.counts
            assert not report.emptied

            target = PostgresStore(PG_URL, schema=schema)
            await target.open()
            try:
                await _same_contents(source, target, filled)
                # the sequences moved past the copied ids
                newest = max(c.id for c in filled["conversations"])
                fresh = await target.create_conversation(ConversationKey("slack", "T1", "C9", "9"), "u9")
                assert fresh.id > newest
                message_id = await target.add_message(fresh.id, StoredMessage(role="user", content="new"))
                assert message_id > 8
                extra = await target.create_assistant(Assistant("slack", "T1", "u9", "Fresh"))
                assert extra.id > max(a.id for a in filled["assistants"])
                await target.delete_conversation(fresh.id)
                await target.delete_assistant(extra.id)

                # a target with data is refused, and left as it was
                with pytest.raises(TargetNotEmpty, match="--force"):
                    await copy_sqlite_to_postgres(source_url, PG_URL, schema=schema)
                await _same_contents(source, target, filled)

                # the command says so too, and --force replaces the target with the same copy
                args = ["copy-db", "--from", source_url, "--to", PG_URL, "--schema", schema]
                assert await asyncio.to_thread(cli_main, args) == 1
                assert "--force" in capsys.readouterr().err
                await target.set_setting("slack", "T1", Scope.USER, "u5", "model", "stray")
                code = await asyncio.to_thread(cli_main, [*args, "--force"])
                assert code == 0
                out = capsys.readouterr().out
                assert "copied conversations: 3 rows" in out
                assert "copied messages: 6 rows" in out
                assert "emptied settings: 4 rows" in out
                assert await target.get_setting("slack", "T1", Scope.USER, "u5", "model") is None
                await _same_contents(source, target, filled)
            finally:
                await target.close()
    finally:
        await source.close()


async def test_copy_db_checks_its_urls(tmp_path):
    with pytest.raises(ValueError, match="sqlite"):
        await copy_sqlite_to_postgres(PG_URL, PG_URL)
    with pytest.raises(ValueError, match="postgresql"):
        await copy_sqlite_to_postgres(f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db")

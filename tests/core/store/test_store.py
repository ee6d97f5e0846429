"""The Store contract, run against every backend: SQLite (a temp file) and PostgreSQL (a fresh schema).

PostgreSQL tests need the server on 127.0.0.1:5432 (trust auth, database `test`); without it they
skip, unless HFCHAT_REQUIRE_POSTGRES=1 (as in CI), where they fail.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from core.records import MessageStatus, Scope, StoredMessage
from core.store import migrator as migrations
from core.store.base import Store
from core.store.sqlite import SQLiteStore
from tests.support.stores import PG_URL, PostgresStore, same_place, store_key

CANARY = "CANARY-7f3a9"


# helpers


async def _scalar(store: Store, sql: str, *args):
    """First column of the first row of a raw query; write it with $n placeholders."""
    if isinstance(store, SQLiteStore):
        async with store.db.execute(re.sub(r"\$\d+", "?", sql), args) as cur:
            row = await cur.fetchone()
        return row[0] if row else None
    return await store.pool.fetchval(sql, *args)


def _msg(content: str, role: str = "user", **fields) -> StoredMessage:
    return StoredMessage(role=role, content=content, **fields)


# migrations


async def test_migrations_are_idempotent(store):
    conversation = await store.create_conversation(store_key("c1"), "u1", "kept")
    await store.add_message(conversation.id, _msg("hello"))
    versions = len(migrations.load("sqlite" if isinstance(store, SQLiteStore) else "postgres"))
    assert versions >= 1

    for _ in range(2):  # open the same database twice more: nothing re-applied, nothing lost
        again = same_place(store)
        await again.open()
        try:
            assert await _scalar(again, "SELECT COUNT(*) FROM schema_migrations") == versions
            assert (await again.get_conversation_by_id(conversation.id)).title == "kept"
            assert await again.count_messages(conversation.id) == 1
        finally:
            await again.close()


# conversations


async def test_create_and_get_conversation(store):
    key = store_key("chan", thread="t1")
    assert await store.get_conversation(key) is None
    created = await store.create_conversation(key, "u1", "First title")
    assert created.id is not None
    assert (created.key, created.owner_id, created.title) == (key, "u1", "First title")
    assert created.created_at == pytest.approx(time.time(), abs=60)

    again = await store.create_conversation(key, "someone-else", "Other title")
    assert again == created  # the existing row, untouched

    assert await store.get_conversation(key) == created
    assert await store.get_conversation_by_id(created.id) == created
    assert await store.get_conversation_by_id(created.id + 1000) is None
    assert await store.get_conversation(store_key("chan", thread="t2")) is None
    assert await store.get_conversation(store_key("chan", thread="t1", workspace="guild2")) is None

    await store.set_title(created.id, "Renamed")
    assert (await store.get_conversation(key)).title == "Renamed"


async def test_list_conversations_order_and_filters(store):
    a = await store.create_conversation(store_key("a", workspace="w1"), "u1")
    b = await store.create_conversation(store_key("b", workspace="w2"), "u1")
    c = await store.create_conversation(store_key("c", workspace="w1"), "u1")
    d = await store.create_conversation(store_key("d", workspace="w1"), "u1")
    await store.create_conversation(store_key("x", workspace="w1"), "u2")
    await store.create_conversation(store_key("y", platform="slack", workspace="w1"), "u1")
    await store.add_message(a.id, _msg("m", created_at=100.0))
    await store.add_message(b.id, _msg("m", created_at=300.0))
    await store.add_message(c.id, _msg("m", created_at=200.0))
    await store.add_message(d.id, _msg("m", created_at=200.0))  # same time as c: newer id first

    listed = await store.list_conversations("discord", "u1")
    assert [conv.id for conv in listed] == [b.id, d.id, c.id, a.id]
    assert listed[0].updated_at == 300.0
    assert [conv.id for conv in await store.list_conversations("discord", "u1", limit=2)] == [b.id, d.id]
    assert [conv.id for conv in await store.list_conversations("discord", "u1", workspace="w1")] == [
        d.id,
        c.id,
        a.id,
    ]
    assert await store.list_conversations("discord", "u1", workspace="nope") == []
    assert [conv.key.channel for conv in await store.list_conversations("slack", "u1")] == ["y"]
    assert await store.list_conversations("discord", "nobody") == []


# messages


async def test_add_recent_count_and_get_messages(store):
    conversation = await store.create_conversation(store_key("c"), "u1")
    other = await store.create_conversation(store_key("other"), "u1")
    full = StoredMessage(
        role="assistant",
        content="answer",
        author_id="bot",
        author_name="Bot",
        reasoning="thinking",
        model="org/model",
        provider="prov",
        status=MessageStatus.TRUNCATED,
        prompt_tokens=12,
        completion_tokens=34,
        first_token_ms=56.5,
        total_ms=789.25,
        platform_message_id="pm-1",
        created_at=1234.5,
    )
    message_id = await store.add_message(conversation.id, full)
    assert full.id == message_id and full.conversation_id == conversation.id
    stored = await store.get_message(message_id)
    assert stored == full
    assert (await store.get_conversation_by_id(conversation.id)).updated_at == 1234.5

    before = time.time()
    ids = [await store.add_message(conversation.id, _msg(f"m{i}", author_id="u1")) for i in range(5)]
    await store.add_message(other.id, _msg("elsewhere"))
    assert (await store.get_message(ids[0])).created_at >= before - 1  # defaulted to now

    assert await store.count_messages(conversation.id) == 6
    assert await store.count_messages(other.id) == 1
    assert await store.count_messages(other.id + 1000) == 0
    recent = await store.recent_messages(conversation.id, 3)
    assert [m.content for m in recent] == ["m2", "m3", "m4"]  # the last three, oldest first
    assert [m.id for m in recent] == ids[2:]
    assert all(m.conversation_id == conversation.id for m in recent)
    everything = await store.recent_messages(conversation.id, 100)
    assert [m.content for m in everything] == ["answer", "m0", "m1", "m2", "m3", "m4"]
    assert await store.get_message(ids[-1] + 1000) is None


async def test_update_message(store):
    conversation = await store.create_conversation(store_key("c"), "u1")
    message_id = await store.add_message(conversation.id, _msg("", role="assistant", status=MessageStatus.STREAMING))
    await store.update_message(
        message_id,
        content="done",
        status=MessageStatus.COMPLETE,
        completion_tokens=7,
        total_ms=12.5,
        platform_message_id="pm-9",
    )
    await store.update_message(message_id)  # nothing to change
    updated = await store.get_message(message_id)
    assert (updated.content, updated.status, updated.completion_tokens, updated.total_ms) == (
        "done",
        "complete",
        7,
        12.5,
    )
    assert updated.platform_message_id == "pm-9"
    assert updated.role == "assistant"

    with pytest.raises(ValueError, match="unknown message fields"):
        await store.update_message(message_id, content="x", conversation_id=99)
    with pytest.raises(ValueError):
        await store.update_message(message_id, id=5)
    assert (await store.get_message(message_id)).content == "done"


async def test_find_by_platform_message(store):
    discord = await store.create_conversation(store_key("c"), "u1")
    slack = await store.create_conversation(store_key("c", platform="slack"), "u1")
    first = await store.add_message(discord.id, _msg("one", platform_message_id="111"))
    await store.add_message(discord.id, _msg("two", platform_message_id="222"))
    on_slack = await store.add_message(slack.id, _msg("three", platform_message_id="111"))

    found = await store.find_by_platform_message("discord", "111")
    assert found is not None and found.id == first and found.content == "one"
    assert (await store.find_by_platform_message("slack", "111")).id == on_slack
    assert await store.find_by_platform_message("slack", "222") is None
    assert await store.find_by_platform_message("discord", "333") is None
    assert await store.find_by_platform_message("console", "111") is None


async def test_delete_messages_from(store):
    conversation = await store.create_conversation(store_key("c"), "u1")
    other = await store.create_conversation(store_key("other"), "u1")
    ids = [await store.add_message(conversation.id, _msg(f"m{i}")) for i in range(5)]
    other_id = await store.add_message(other.id, _msg("keep"))

    assert await store.delete_messages_from(conversation.id, ids[2]) == 3
    assert [m.content for m in await store.recent_messages(conversation.id, 10)] == ["m0", "m1"]
    assert await store.get_message(ids[3]) is None
    assert await store.get_message(other_id) is not None
    assert await store.delete_messages_from(conversation.id, ids[2]) == 0
    # an id from another conversation deletes nothing there
    assert await store.delete_messages_from(other.id, ids[0]) == 1  # only `other`'s later message
    assert await store.count_messages(conversation.id) == 2


async def test_mark_interrupted(store):
    conversation = await store.create_conversation(store_key("c"), "u1")
    streaming = [
        await store.add_message(conversation.id, _msg("", role="assistant", status=MessageStatus.STREAMING))
        for _ in range(2)
    ]
    done = await store.add_message(conversation.id, _msg("ok", role="assistant"))
    stopped = await store.add_message(conversation.id, _msg("s", role="assistant", status=MessageStatus.STOPPED))

    assert await store.mark_interrupted() == 2
    for message_id in streaming:
        assert (await store.get_message(message_id)).status == MessageStatus.INTERRUPTED
    assert (await store.get_message(done)).status == MessageStatus.COMPLETE
    assert (await store.get_message(stopped)).status == MessageStatus.STOPPED
    assert await store.mark_interrupted() == 0


async def test_an_undelivered_answer_is_stored_as_such_and_left_alone(store):
    conversation = await store.create_conversation(store_key("c"), "u1")
    reply = await store.add_message(conversation.id, _msg("", role="assistant", status=MessageStatus.STREAMING))
    await store.update_message(reply, content="never shown", status=MessageStatus.UNDELIVERED.value)
    assert (await store.get_message(reply)).status == MessageStatus.UNDELIVERED == "undelivered"
    assert await store.mark_interrupted() == 0  # final: not an answer cut short
    assert await store.interrupt_orphans(time.time() + 1) == []
    assert [m.status for m in await store.recent_messages(conversation.id, 5)] == ["undelivered"]


# deleting


async def test_delete_conversation(store):
    key = store_key("c")
    conversation = await store.create_conversation(key, "u1", "title")
    other = await store.create_conversation(store_key("other"), "u1")
    for i in range(3):
        await store.add_message(conversation.id, _msg(f"m{i}"))
    other_message = await store.add_message(other.id, _msg("stays"))
    await store.set_setting("discord", "guild1", Scope.CONVERSATION, str(conversation.id), "model", "m-a")
    await store.set_setting("discord", "guild1", Scope.CONVERSATION, str(other.id), "model", "m-b")
    await store.set_setting("discord", "guild1", Scope.USER, "u1", "model", "m-u")
    await store.record_usage("discord", "guild1", "u1", conversation.id, "m-a", 10, 20)

    await store.delete_conversation(conversation.id)

    assert await store.get_conversation(key) is None
    assert await store.get_conversation_by_id(conversation.id) is None
    assert await store.count_messages(conversation.id) == 0
    assert await _scalar(store, "SELECT COUNT(*) FROM messages WHERE conversation_id=$1", conversation.id) == 0
    assert (await store.get_setting("discord", "guild1", Scope.CONVERSATION, str(conversation.id), "model")) is None
    # the rest is untouched; usage survives, detached from the conversation
    assert (await store.get_message(other_message)).content == "stays"
    assert await store.get_setting("discord", "guild1", Scope.CONVERSATION, str(other.id), "model") == "m-b"
    assert await store.get_setting("discord", "guild1", Scope.USER, "u1", "model") == "m-u"
    assert await _scalar(store, "SELECT COUNT(*) FROM usage WHERE conversation_id IS NULL") == 1

    fresh = await store.create_conversation(key, "u2", "new")
    assert fresh.id != conversation.id
    assert (fresh.owner_id, fresh.title) == ("u2", "new")
    assert await store.count_messages(fresh.id) == 0
    assert await store.recent_messages(fresh.id, 10) == []
    assert await store.get_setting("discord", "guild1", Scope.CONVERSATION, str(fresh.id), "model") is None

    await store.delete_conversation(conversation.id)  # deleting again is harmless


async def test_delete_user_data(store):
    mine = await store.create_conversation(store_key("mine"), "u1")
    mine_too = await store.create_conversation(store_key("mine2", workspace="guild2"), "u1")
    theirs = await store.create_conversation(store_key("theirs"), "u2")
    slack_mine = await store.create_conversation(store_key("s", platform="slack"), "u1")  # other platform

    await store.add_message(mine.id, _msg("u1 in own", author_id="u1"))
    await store.add_message(mine.id, _msg("u2 in u1's", author_id="u2"))
    await store.add_message(mine_too.id, _msg("more", author_id="u1"))
    u1_in_theirs = await store.add_message(theirs.id, _msg("u1 in u2's", author_id="u1"))
    u2_in_theirs = await store.add_message(theirs.id, _msg("u2 in own", author_id="u2"))
    reply = await store.add_message(theirs.id, _msg("reply", role="assistant", author_id="bot"))
    slack_message = await store.add_message(slack_mine.id, _msg("slack u1", author_id="u1"))

    for workspace in ("guild1", "guild2"):
        await store.set_setting("discord", workspace, Scope.USER, "u1", "model", "a")
    await store.set_setting("discord", "guild1", Scope.USER, "u2", "model", "b")
    await store.set_setting("slack", "guild1", Scope.USER, "u1", "model", "c")
    await store.set_setting("discord", "guild1", Scope.CONVERSATION, str(mine.id), "model", "d")
    await store.set_setting("discord", "guild1", Scope.CONVERSATION, str(theirs.id), "model", "e")
    await store.set_setting("discord", "guild1", Scope.CHANNEL, "mine", "model", "f")
    await store.record_usage("discord", "guild1", "u1", mine.id, "m", 1, 2)
    await store.record_usage("discord", "guild1", "u1", theirs.id, "m", 1, 2)
    await store.record_usage("discord", "guild1", "u2", theirs.id, "m", 3, 4)
    await store.record_usage("slack", "guild1", "u1", slack_mine.id, "m", 5, 6)

    assert await store.delete_user_data("discord", "u1") == 2

    # owned conversations, with everyone's messages in them and their settings
    assert await store.get_conversation_by_id(mine.id) is None
    assert await store.get_conversation_by_id(mine_too.id) is None
    assert (
        await _scalar(store, "SELECT COUNT(*) FROM messages WHERE conversation_id IN ($1, $2)", mine.id, mine_too.id)
        == 0
    )
    assert await store.get_setting("discord", "guild1", Scope.CONVERSATION, str(mine.id), "model") is None
    # what u1 wrote in u2's conversation
    assert await store.get_message(u1_in_theirs) is None
    # user settings and usage, in every workspace of that platform
    for workspace in ("guild1", "guild2"):
        assert await store.get_setting("discord", workspace, Scope.USER, "u1", "model") is None
    assert await _scalar(store, "SELECT COUNT(*) FROM usage WHERE platform='discord' AND user_id='u1'") == 0

    # not other users' data, nor the same id on another platform
    assert (await store.get_conversation_by_id(theirs.id)).owner_id == "u2"
    assert await store.get_message(u2_in_theirs) is not None
    assert await store.get_message(reply) is not None
    assert await store.get_setting("discord", "guild1", Scope.USER, "u2", "model") == "b"
    assert await store.get_setting("discord", "guild1", Scope.CONVERSATION, str(theirs.id), "model") == "e"
    assert await store.get_setting("discord", "guild1", Scope.CHANNEL, "mine", "model") == "f"
    assert await _scalar(store, "SELECT COUNT(*) FROM usage WHERE user_id='u2'") == 1
    assert await store.get_conversation_by_id(slack_mine.id) is not None
    assert await store.get_message(slack_message) is not None
    assert await store.get_setting("slack", "guild1", Scope.USER, "u1", "model") == "c"
    assert await _scalar(store, "SELECT COUNT(*) FROM usage WHERE platform='slack'") == 1

    assert await store.delete_user_data("discord", "u1") == 0  # nothing left


async def test_purge_idle(store):
    old = await store.create_conversation(store_key("old"), "u1")
    older = await store.create_conversation(store_key("older"), "u2")
    fresh = await store.create_conversation(store_key("fresh"), "u1")
    untouched = await store.create_conversation(store_key("untouched"), "u1")  # updated_at = creation
    await store.add_message(old.id, _msg("a", created_at=1000.0))
    await store.add_message(older.id, _msg("b", created_at=500.0))
    await store.set_setting("discord", "guild1", Scope.CONVERSATION, str(old.id), "model", "x")
    keep = await store.add_message(fresh.id, _msg("c"))

    assert await store.purge_idle(older_than=time.time() - 3600) == 2
    assert await store.get_conversation_by_id(old.id) is None
    assert await store.get_conversation_by_id(older.id) is None
    assert await store.count_messages(old.id) == 0
    assert await store.get_setting("discord", "guild1", Scope.CONVERSATION, str(old.id), "model") is None
    assert await store.get_message(keep) is not None
    assert await store.get_conversation_by_id(untouched.id) is not None
    assert await store.purge_idle(older_than=time.time() - 3600) == 0


async def test_every_erasure_remembers_where_and_when(store):
    deleted, purged, owned, kept = (store_key(name) for name in ("deleted", "purged", "owned", "kept"))
    for key, owner in ((deleted, "u1"), (purged, "u2"), (owned, "u3"), (kept, "u3")):
        conversation = await store.create_conversation(key, owner, f"title {CANARY}")
        await store.add_message(conversation.id, _msg(f"{CANARY} text", created_at=1000.0 if key is purged else 0))
    await store.create_conversation(store_key("other"), "u1")
    before = time.time()

    await store.delete_conversation((await store.get_conversation(deleted)).id)
    assert await store.purge_idle(older_than=before - 3600) == 1
    await store.delete_conversation((await store.get_conversation(kept)).id)
    await store.create_conversation(kept, "u3")  # a new conversation in an erased thread
    assert await store.delete_user_data("discord", "u3") == 2

    for key in (deleted, purged, owned, kept):
        assert before <= await store.erased_at(key) <= time.time()
    assert await store.erased_at(store_key("other")) is None
    assert await store.erased_at(store_key("never")) is None
    assert await _scalar(store, "SELECT COUNT(*) FROM erased_threads") == 4  # a row per thread, however often erased


async def test_delete_leaves_no_trace(store):
    """A deleted conversation's text is gone: from the SQLite files, or from every PostgreSQL row."""
    conversation = await store.create_conversation(store_key("secret"), "u1", f"title {CANARY}")
    neighbour = await store.create_conversation(store_key("neighbour"), "u1", "neighbour")
    await store.add_message(neighbour.id, _msg("unrelated"))
    for i in range(20):
        await store.add_message(
            conversation.id, _msg(f"{CANARY} message {i} " + "x" * 200, author_name=f"{CANARY}-name")
        )
    reply = await store.add_message(conversation.id, _msg("", role="assistant", status=MessageStatus.STREAMING))
    for i in range(5):  # a streamed reply rewritten several times leaves old versions behind
        await store.update_message(reply, content=f"{CANARY} partial {i}", reasoning=f"{CANARY} thought")
    await store.set_setting("discord", "guild1", Scope.CONVERSATION, str(conversation.id), "note", CANARY)

    if isinstance(store, SQLiteStore):
        files = [store.path, store.path.with_name(store.path.name + "-wal")]

        def canary_in_files() -> list[str]:
            found = []
            for path in files:
                if path.exists():
                    with open(path, "rb") as f:
                        if CANARY.encode() in f.read():
                            found.append(path.name)
            return found

        # make the test meaningful: the text is in the main file *and* in the WAL before the delete
        await store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        await store.update_message(reply, content=f"{CANARY} final")
        assert sorted(canary_in_files()) == sorted(path.name for path in files)

        await store.delete_conversation(conversation.id)
        assert canary_in_files() == []
    else:
        tables = [
            row["table_name"]
            for row in await store.pool.fetch(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            )
        ]
        assert {"conversations", "messages", "settings", "usage", "processed_events"} <= set(tables)

        async def rows_with_canary() -> dict[str, int]:
            counts = {}
            for table in tables:
                counts[table] = await store.pool.fetchval(
                    f'SELECT COUNT(*) FROM "{table}" AS t WHERE t::text LIKE $1', f"%{CANARY}%"
                )
            return {table: n for table, n in counts.items() if n}

        assert set(await rows_with_canary()) == {"conversations", "messages", "settings"}
        await store.delete_conversation(conversation.id)
        assert await rows_with_canary() == {}

    assert await store.count_messages(neighbour.id) == 1


# settings, usage, events


async def test_settings(store):
    args = ("discord", "guild1", Scope.WORKSPACE, "guild1", "model")
    assert await store.get_setting(*args) is None
    await store.set_setting(*args, "first")
    assert await store.get_setting(*args) == "first"
    await store.set_setting(*args, "second")  # overwrite
    assert await store.get_setting(*args) == "second"
    assert await _scalar(store, "SELECT COUNT(*) FROM settings") == 1

    # every part of the key matters
    await store.set_setting("discord", "guild1", Scope.CHANNEL, "guild1", "model", "channel")
    await store.set_setting("discord", "guild2", Scope.WORKSPACE, "guild1", "model", "other ws")
    await store.set_setting("slack", "guild1", Scope.WORKSPACE, "guild1", "model", "slack")
    await store.set_setting("discord", "guild1", Scope.WORKSPACE, "guild1", "temperature", "0.5")
    await store.set_setting("discord", "", Scope.BOT, "", "commands_hash", "abc")
    assert await store.get_setting(*args) == "second"
    assert await store.get_setting("discord", "guild1", Scope.CHANNEL, "guild1", "model") == "channel"
    assert await store.get_setting("discord", "", Scope.BOT, "", "commands_hash") == "abc"

    await store.set_setting(*args, None)  # remove
    assert await store.get_setting(*args) is None
    await store.set_setting(*args, None)  # removing again is harmless
    assert await store.get_setting("discord", "guild1", Scope.WORKSPACE, "guild1", "temperature") == "0.5"
    await store.set_setting(*args, "")  # an empty value is a value, not a removal
    assert await store.get_setting(*args) == ""


async def test_record_usage(store):
    conversation = await store.create_conversation(store_key("c"), "u1")
    await store.record_usage("discord", "guild1", "u1", conversation.id, "org/m", 100, 20)
    await store.record_usage("discord", "guild1", "u1", None, "org/m", 5, 7)
    await store.record_usage("discord", "guild1", "u2", conversation.id, "org/n", 1, 1)
    assert await _scalar(store, "SELECT COUNT(*) FROM usage") == 3
    assert await _scalar(store, "SELECT SUM(prompt_tokens) FROM usage WHERE user_id='u1'") == 105
    assert await _scalar(store, "SELECT SUM(completion_tokens) FROM usage WHERE model='org/m'") == 27
    assert await _scalar(store, "SELECT COUNT(*) FROM usage WHERE conversation_id=$1", conversation.id) == 2
    created = await _scalar(store, "SELECT MIN(created_at) FROM usage")
    assert created == pytest.approx(time.time(), abs=60)


async def test_claim_event(store):
    assert await store.claim_event("slack", "Ev1") is True
    assert await store.claim_event("slack", "Ev1") is False
    assert await store.claim_event("slack", "Ev1") is False
    assert await store.claim_event("discord", "Ev1") is True  # per platform
    assert await store.claim_event("slack", "Ev2") is True


async def test_claim_event_concurrently_in_one_process(store):
    results = await asyncio.gather(*(store.claim_event("slack", f"e{i % 10}") for i in range(40)))
    assert sum(results) == 10


# conversation lock


async def test_conversation_lock_serialises_same_id(store):
    inside = 0
    most_inside = 0
    order: list[str] = []

    async def reply(name: str) -> None:
        nonlocal inside, most_inside
        async with store.conversation_lock(1):
            inside += 1
            most_inside = max(most_inside, inside)
            order.append(f"{name}-in")
            await asyncio.sleep(0.05)
            order.append(f"{name}-out")
            inside -= 1

    await asyncio.wait_for(asyncio.gather(reply("a"), reply("b"), reply("c")), timeout=10)
    assert most_inside == 1
    assert len(order) == 6
    for i in range(0, 6, 2):  # each holder leaves before the next enters
        assert order[i].split("-")[0] == order[i + 1].split("-")[0]


async def test_conversation_lock_different_ids_do_not_block(store):
    both_inside = asyncio.Event()
    arrived = 0

    async def reply(conversation_id: int) -> None:
        nonlocal arrived
        async with store.conversation_lock(conversation_id):
            arrived += 1
            if arrived == 2:
                both_inside.set()
            await asyncio.wait_for(both_inside.wait(), timeout=5)  # would time out if serialised

    await asyncio.wait_for(asyncio.gather(reply(1), reply(2)), timeout=10)


async def test_conversation_lock_released_after_error_and_cancel(store):
    with pytest.raises(RuntimeError, match="boom"):
        async with store.conversation_lock(7):
            raise RuntimeError("boom")
    async with asyncio.timeout(5):
        async with store.conversation_lock(7):
            pass

    # a waiter cancelled while queued leaves the lock usable
    held = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with store.conversation_lock(7):
            held.set()
            await release.wait()

    async def waiter() -> None:
        async with store.conversation_lock(7):
            pytest.fail("the waiter must not get the lock")

    holding = asyncio.create_task(holder())
    await held.wait()
    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0.1)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    release.set()
    await holding
    async with asyncio.timeout(5):
        async with store.conversation_lock(7):
            pass


# PostgreSQL across processes: separate stores, separate pools, separate sessions


@pytest.mark.postgres
async def test_pg_concurrent_open_migrates_once(pg_schema):
    stores = [PostgresStore(PG_URL, schema=pg_schema) for _ in range(4)]
    try:
        await asyncio.gather(*(s.open() for s in stores))
        assert await stores[0].pool.fetchval("SELECT COUNT(*) FROM schema_migrations") == len(
            migrations.load("postgres")
        )
    finally:
        await asyncio.gather(*(s.close() for s in stores))


@pytest.mark.postgres
async def test_pg_claim_event_race_across_pools(pg_schema):
    first = PostgresStore(PG_URL, schema=pg_schema)
    second = PostgresStore(PG_URL, schema=pg_schema)
    await first.open()
    await second.open()
    try:
        ids = [f"evt-{i}" for i in range(50)]
        claims = [(store, event_id) for event_id in ids for store in (first, second)] * 2
        results = await asyncio.gather(*(store.claim_event("slack", event_id) for store, event_id in claims))
        won: dict[str, int] = dict.fromkeys(ids, 0)
        for (_, event_id), claimed in zip(claims, results, strict=True):
            won[event_id] += claimed
        assert won == dict.fromkeys(ids, 1)
        assert await first.pool.fetchval("SELECT COUNT(*) FROM processed_events") == 50
    finally:
        await first.close()
        await second.close()


@pytest.mark.postgres
async def test_pg_conversation_lock_across_pools(pg_schema):
    first = PostgresStore(PG_URL, schema=pg_schema)
    second = PostgresStore(PG_URL, schema=pg_schema)
    await first.open()
    await second.open()
    try:
        got_it = asyncio.Event()

        async def other_process() -> None:
            async with second.conversation_lock(42):
                got_it.set()

        async with first.conversation_lock(42):
            contender = asyncio.create_task(other_process())
            await asyncio.sleep(0.3)
            assert not got_it.is_set()  # blocked while `first` holds it
            async with asyncio.timeout(5):  # a different conversation is not blocked
                async with second.conversation_lock(43):
                    pass
            assert not got_it.is_set()
        async with asyncio.timeout(5):
            await contender
        assert got_it.is_set()

        # a waiter in the other process that gives up does not keep the lock afterwards
        got_it.clear()
        async with first.conversation_lock(42):
            gave_up = asyncio.create_task(other_process())
            await asyncio.sleep(0.2)
            gave_up.cancel()
            with pytest.raises(asyncio.CancelledError):
                await gave_up
        assert not got_it.is_set()
        async with asyncio.timeout(5):
            async with second.conversation_lock(42):
                pass
        async with asyncio.timeout(5):
            async with first.conversation_lock(42):
                pass
    finally:
        await first.close()
        await second.close()


@pytest.mark.postgres
async def test_pg_lock_holders_still_reach_the_database(pg_schema):
    """More replies than connections: holders of conversation locks never starve the query pool."""
    store = PostgresStore(PG_URL, schema=pg_schema, max_size=2)
    await store.open()
    try:
        conversations = [await store.create_conversation(store_key(f"c{i}"), "u1") for i in range(8)]

        async def reply(conversation_id: int) -> None:
            async with store.conversation_lock(conversation_id):
                for i in range(3):
                    await store.add_message(conversation_id, _msg(f"m{i}"))

        async with asyncio.timeout(20):
            await asyncio.gather(*(reply(c.id) for c in conversations for _ in range(3)))
        for conversation in conversations:
            assert await store.count_messages(conversation.id) == 9
    finally:
        await store.close()


@pytest.mark.postgres
async def test_pg_one_process_holds_hundreds_of_conversation_locks_at_once(pg_schema):
    """Every answer streaming in a process holds its conversation's lock: 300 at once must not queue behind a
    fixed number of lock connections, and another process still waits for each of them."""
    first = PostgresStore(PG_URL, schema=pg_schema, max_size=2)
    second = PostgresStore(PG_URL, schema=pg_schema, max_size=2)
    await first.open()
    await second.open()
    try:
        everyone_in, release = asyncio.Event(), asyncio.Event()
        inside = 0

        async def hold(conversation_id: int) -> None:
            nonlocal inside
            async with first.conversation_lock(conversation_id):
                inside += 1
                if inside == 300:
                    everyone_in.set()
                await release.wait()

        holders = [asyncio.create_task(hold(i)) for i in range(1, 301)]
        async with asyncio.timeout(20):
            await everyone_in.wait()
        # held in the first process: the second one waits (and a cancelled waiter leaves nothing behind)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                async with second.conversation_lock(150):
                    pass
        release.set()
        async with asyncio.timeout(20):
            await asyncio.gather(*holders)
        async with asyncio.timeout(5):
            async with second.conversation_lock(150):
                pass
        async with asyncio.timeout(5):
            async with first.conversation_lock(150):
                pass
    finally:
        await first.close()
        await second.close()


@pytest.mark.postgres
async def test_pg_lock_session_lost_while_held_is_reconnected_and_locks_taken_back(pg_schema):
    first = PostgresStore(PG_URL, schema=pg_schema, max_size=2)
    second = PostgresStore(PG_URL, schema=pg_schema, max_size=2)
    await first.open()
    await second.open()
    try:
        async with first.conversation_lock(7):
            pid = first._lock_session.get_server_pid()
            await second.pool.execute("SELECT pg_terminate_backend($1)", pid)
            await asyncio.sleep(0.2)
            async with first.conversation_lock(8):  # reconnects and takes 7 back
                pass
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.3):
                    async with second.conversation_lock(7):
                        pass
        async with asyncio.timeout(5):
            async with second.conversation_lock(7):
                pass
    finally:
        await first.close()
        await second.close()

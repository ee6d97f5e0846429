"""The recent messages a store keeps in memory (core.store.history): served only while the conversation's version
(bumped with every write to its messages, by triggers, whoever writes) says nothing changed; what another store on
the same database (another process) writes is seen by the next read; erased text never comes back from memory."""

from __future__ import annotations

import dataclasses

from core.keys import Actor, ConversationKey
from core.records import MessageStatus, StoredMessage
from core.store.base import Store
from core.store.history import HISTORY_WINDOW
from tests.fakes.fake_router import text_script
from tests.support.sinks import RecordingSink
from tests.support.stores import same_place, store_key


def _user(text: str, author: str = "u1") -> StoredMessage:
    return StoredMessage(role="user", content=text, author_id=author, author_name=author)


def _view(messages: list[StoredMessage]) -> list[tuple]:
    return [dataclasses.astuple(m) for m in messages]


async def _conversation(store: Store, channel: str = "c1", turns: int = 3):
    conversation = await store.create_conversation(store_key(channel), "u1")
    for i in range(turns):
        await store.add_message(conversation.id, _user(f"question {i}"))
        await store.add_message(conversation.id, StoredMessage(role="assistant", content=f"answer {i}", model="m"))
    return conversation


async def _fresh_read(store: Store, conversation_id: int, limit: int = HISTORY_WINDOW) -> list[StoredMessage]:
    """What the database holds, read by a store that keeps nothing yet."""
    other = same_place(store)
    await other.open()
    try:
        return await other.recent_messages(conversation_id, limit)
    finally:
        await other.close()


async def test_reads_are_served_from_memory_and_the_stores_own_writes_keep_them_exact(store):
    conversation = await _conversation(store)
    first = await store.recent_messages(conversation.id, HISTORY_WINDOW)
    assert conversation.id in store.history
    hits = store.history.hits
    assert _view(await store.recent_messages(conversation.id, HISTORY_WINDOW)) == _view(first)
    assert _view(await store.recent_messages(conversation.id, 1)) == _view(first[-1:])
    assert store.history.hits == hits + 2

    # this store's writes: an answer streamed (added, checkpointed, finished), a message with files, deletes
    reply_id = await store.add_message(
        conversation.id, StoredMessage(role="assistant", content="", status=MessageStatus.STREAMING, worker_id="w1")
    )
    await store.update_message(reply_id, content="partial")
    await store.update_message(reply_id, content="whole answer", status=MessageStatus.COMPLETE, extra={"k": (1, 2)})
    asked = await store.add_message(conversation.id, _user("with a file"))
    await store.update_message(asked, extra={"documents": [{"name": "a.txt", "text": "hello"}]})
    await store.delete_messages_from(conversation.id, asked)
    hits = store.history.hits
    mine = await store.recent_messages(conversation.id, HISTORY_WINDOW)
    assert store.history.hits == hits + 1  # still served from memory after its own writes
    assert _view(mine) == _view(await _fresh_read(store, conversation.id))  # and exactly what the database holds
    assert mine[-1].content == "whole answer" and mine[-1].extra == {"k": [1, 2]}


async def test_a_write_through_another_store_on_the_same_database_is_seen_by_the_next_read(store):
    conversation = await _conversation(store)
    await store.recent_messages(conversation.id, HISTORY_WINDOW)  # kept in memory
    other = same_place(store)  # another process, as far as the database can tell
    await other.open()
    try:
        await other.recent_messages(conversation.id, HISTORY_WINDOW)  # the other keeps its own copy
        added = await other.add_message(conversation.id, _user("from the other process"))
        seen = await store.recent_messages(conversation.id, HISTORY_WINDOW)
        assert seen[-1].content == "from the other process"

        await other.update_message(added, content="edited elsewhere")  # an edit
        assert (await store.recent_messages(conversation.id, 1))[-1].content == "edited elsewhere"

        await store.add_message(conversation.id, _user("and one from here"))
        history = await other.recent_messages(conversation.id, HISTORY_WINDOW)  # the other way round
        assert [m.content for m in history[-2:]] == ["edited elsewhere", "and one from here"]

        answers = [m for m in history if m.role == "assistant"]
        await other.delete_messages_from(conversation.id, answers[-1].id)  # regenerate / delete from here on
        after = await store.recent_messages(conversation.id, HISTORY_WINDOW)
        assert [m.id for m in after] == [m.id for m in history if m.id < answers[-1].id]
        assert _view(after) == _view(await other.recent_messages(conversation.id, HISTORY_WINDOW))
    finally:
        await other.close()


async def test_an_erased_conversation_never_comes_back_from_memory(store):
    conversation = await _conversation(store)
    kept = await _conversation(store, "c2")
    await store.add_message(kept.id, _user("erase me too", author="u9"))
    for c in (conversation, kept):
        assert await store.recent_messages(c.id, HISTORY_WINDOW)
    other = same_place(store)
    await other.open()
    try:
        await other.delete_conversation(conversation.id)  # erased by another process
        assert await store.recent_messages(conversation.id, HISTORY_WINDOW) == []
        assert await store.recent_messages(conversation.id, 1) == []
        assert conversation.id not in store.history

        await other.delete_user_data("discord", "u9")  # a person's data, written in someone else's conversation
        texts = [m.content for m in await store.recent_messages(kept.id, HISTORY_WINDOW)]
        assert "erase me too" not in texts and texts
    finally:
        await other.close()

    # erased here: nothing of it stays in this process's memory either
    await store.recent_messages(kept.id, HISTORY_WINDOW)
    await store.delete_conversation(kept.id)
    assert kept.id not in store.history and len(store.history) == 0


async def test_a_write_this_store_cannot_account_for_is_read_again(store):
    """Statuses changed in bulk (a restart marking replies interrupted) bump the version without the store
    keeping its copy in step: the next read goes to the database."""
    conversation = await store.create_conversation(store_key("c3"), "u1")
    await store.add_message(conversation.id, _user("hi"))
    await store.add_message(conversation.id, StoredMessage(role="assistant", content="", status="streaming"))
    assert (await store.recent_messages(conversation.id, HISTORY_WINDOW))[-1].status == MessageStatus.STREAMING
    await store.mark_interrupted()
    assert (await store.recent_messages(conversation.id, HISTORY_WINDOW))[-1].status == MessageStatus.INTERRUPTED


async def test_the_window_slides_and_longer_reads_go_to_the_database(store):
    conversation = await store.create_conversation(store_key("c4"), "u1")
    for i in range(HISTORY_WINDOW + 5):
        await store.add_message(conversation.id, _user(f"m{i}"))
    window = await store.recent_messages(conversation.id, HISTORY_WINDOW)
    assert [m.content for m in window] == [f"m{i}" for i in range(5, HISTORY_WINDOW + 5)]
    await store.add_message(conversation.id, _user("newest"))
    window = await store.recent_messages(conversation.id, HISTORY_WINDOW)
    assert window[0].content == "m6" and window[-1].content == "newest" and len(window) == HISTORY_WINDOW
    everything = await store.recent_messages(conversation.id, 1_000_000)
    assert len(everything) == HISTORY_WINDOW + 6 and everything[0].content == "m0"


async def test_the_version_moves_with_every_write_in_the_writing_transaction(store):
    conversation = await store.create_conversation(store_key("c5"), "u1")
    seen = [await store.conversation_version(conversation.id)]
    message_id = await store.add_message(conversation.id, _user("a"))
    seen.append(await store.conversation_version(conversation.id))
    await store.update_message(message_id, content="b")
    seen.append(await store.conversation_version(conversation.id))
    await store.delete_messages_from(conversation.id, message_id)
    seen.append(await store.conversation_version(conversation.id))
    assert seen == sorted(set(seen)), seen  # strictly increasing
    await store.delete_conversation(conversation.id)
    assert await store.conversation_version(conversation.id) is None


# the same through the core: two processes (cores) on one database, each answering in turn


def _sent(router, index: int = -1) -> str:
    return "\n".join(str(m.get("content")) for m in router.requests[index]["messages"])


async def test_an_answer_through_one_process_sees_what_another_wrote_edited_and_deleted(
    core_factory, fake_router, backend_settings
):
    one = await core_factory(fake_router.url, **backend_settings)
    two = await core_factory(fake_router.url, **backend_settings)
    key = ConversationKey("console", "", "local", "shared")
    ann = Actor("console", "u1", "Ann")
    for _ in range(4):
        fake_router.queue(text_script("ok"))

    first = await one.chat.submit(key, ann, "first question", RecordingSink(), platform_message_id="p1")
    await first.reply
    second = await two.chat.submit(key, ann, "second question", RecordingSink(), platform_message_id="p2")
    await second.reply
    assert "first question" in _sent(fake_router) and "second question" in _sent(fake_router)

    assert await two.chat.conversations.on_message_edited(
        "console", "p1", "first question, edited"
    )  # edited in process two
    third = await one.chat.submit(key, ann, "third question", RecordingSink(), platform_message_id="p3")
    await third.reply
    assert "first question, edited" in _sent(fake_router)  # process one's next answer has the edit

    await two.chat.conversations.delete_from_message("p2", ann)  # deleted from the second question on, in process two
    fourth = await one.chat.submit(key, ann, "fourth question", RecordingSink(), platform_message_id="p4")
    await fourth.reply
    sent = _sent(fake_router)
    assert "second question" not in sent and "third question" not in sent and "fourth question" in sent

    await two.chat.conversations.delete(first.conversation.id, ann)  # erased in process two
    assert await one.store.recent_messages(first.conversation.id, HISTORY_WINDOW) == []


async def test_regenerate_in_another_process_drops_the_old_answer_from_the_next_request(
    core_factory, fake_router, backend_settings
):
    one = await core_factory(fake_router.url, **backend_settings)
    two = await core_factory(fake_router.url, **backend_settings)
    key = ConversationKey("console", "", "local", "regen")
    ann = Actor("console", "u1", "Ann")
    fake_router.queue(text_script("the old answer"))
    fake_router.queue(text_script("the new answer"))
    fake_router.queue(text_script("ok"))
    done = await one.chat.submit(key, ann, "question", RecordingSink())
    await done.reply
    again = await two.chat.actions.regenerate(done.conversation.id, ann, RecordingSink())
    await again.reply
    later = await one.chat.submit(key, ann, "and then?", RecordingSink())
    await later.reply
    sent = _sent(fake_router)
    assert "the new answer" in sent and "the old answer" not in sent

"""Delete a message and what follows it, and forget the last messages: the core use case, and the terminal's
/forget."""

import asyncio

import pytest

from core.errors import InvalidSetting, NotAllowed, NotFound
from core.keys import Actor
from tests.fakes.fake_router import text_script
from tests.support.chat import ADMIN, ALICE, BOB, KEY, sink
from tests.support.console import make_app

OTHER_ADMIN = Actor("test", "boss", "Boss", "W2", is_admin=True)  # an admin, of another workspace


async def three_turns(core, fake_router):
    """Alice's conversation: q1 a1 q2 a2 q3 a3; each question has a platform id (p1, p2, p3)."""
    for n in (1, 2, 3):
        fake_router.queue(text_script(f"a{n}"))
        submitted = await core.chat.submit(KEY, ALICE, f"q{n}", sink(), platform_message_id=f"p{n}")
        await submitted.reply
    return submitted.conversation


async def contents(core, conversation) -> list[str]:
    return [m.content for m in await core.store.recent_messages(conversation.id, 100)]


@pytest.mark.parametrize("who", [ALICE, ADMIN], ids=["owner", "admin"])
async def test_delete_from_a_message_removes_it_and_what_follows(core, fake_router, who):
    conversation = await three_turns(core, fake_router)
    deleted = await core.chat.conversations.delete_from_message("p2", who)
    assert deleted.conversation.id == conversation.id
    assert [m.content for m in deleted.messages] == ["q2", "a2", "q3", "a3"]
    assert [m.role for m in deleted.messages] == ["user", "assistant"] * 2
    assert all(m.platform_message_id for m in deleted.messages)  # the adapters remove the bot's posts by these
    assert await contents(core, conversation) == ["q1", "a1"]
    fake_router.queue(text_script("fresh"))
    submitted = await core.chat.submit(KEY, ALICE, "q4", sink())
    await submitted.reply
    sent = [m["content"] for m in fake_router.requests[-1]["messages"]]
    assert sent == ["q1", "a1", "q4"]  # the deleted messages are gone from the model's context too


@pytest.mark.parametrize("who", [BOB, OTHER_ADMIN], ids=["another member", "admin elsewhere"])
async def test_someone_else_is_refused_and_nothing_is_deleted(core, fake_router, who):
    conversation = await three_turns(core, fake_router)
    with pytest.raises((NotAllowed, NotFound)):
        await core.chat.conversations.delete_from_message("p2", who)
    with pytest.raises((NotAllowed, NotFound)):
        await core.chat.conversations.forget(KEY, who, 1)
    assert await contents(core, conversation) == ["q1", "a1", "q2", "a2", "q3", "a3"]


async def test_an_unknown_message_is_not_found(core, fake_router):
    await three_turns(core, fake_router)
    with pytest.raises(NotFound, match="not part of a conversation"):
        await core.chat.conversations.delete_from_message("nope", ALICE)


async def test_delete_from_stops_an_answer_being_written(core, fake_router):
    fake_router.queue(text_script("word " * 100, pieces=100, delay=0.02))
    first = await core.chat.submit(KEY, ALICE, "long", sink(), platform_message_id="p1")
    await asyncio.sleep(0.2)
    assert core.chat.replies.is_streaming(first.conversation.id)
    deleted = await core.chat.conversations.delete_from_message("p1", ALICE)
    assert [m.role for m in deleted.messages] == ["user", "assistant"]
    await asyncio.gather(first.reply, return_exceptions=True)
    assert await core.store.count_messages(first.conversation.id) == 0  # the stopped answer did not come back


async def test_forget_the_last_messages(core, fake_router):
    conversation = await three_turns(core, fake_router)
    deleted = await core.chat.conversations.forget(KEY, ALICE, 2)
    assert [m.content for m in deleted.messages] == ["q2", "a2", "q3", "a3"]
    assert await contents(core, conversation) == ["q1", "a1"]
    deleted = await core.chat.conversations.forget(KEY, ALICE, 5)  # more than there are: all of them
    assert [m.content for m in deleted.messages] == ["q1", "a1"]
    with pytest.raises(NotFound):
        await core.chat.conversations.forget(KEY, ALICE, 1)
    with pytest.raises(InvalidSetting):
        await core.chat.conversations.forget(KEY, ALICE, 0)


async def test_console_forget(core, fake_router):
    app, out = await make_app(core)
    for n in (1, 2):
        fake_router.queue(text_script(f"answer {n}"))
        await app.handle_line(f"question {n}")
    await app.handle_line("/forget")
    assert "Forgot 1 message of yours and 1 answer." in out.getvalue()
    conversation = await core.chat.conversations.for_key(app.key)
    assert await contents(core, conversation) == ["question 1", "answer 1"]
    await app.handle_line("/forget two")
    assert "Write /forget N" in out.getvalue()
    await app.handle_line("/help")
    assert "/forget [N]" in out.getvalue()

"""ChatService end to end against the scripted router and a real SQLite store."""

import asyncio
import logging

import pytest

from core.errors import EmptyPrompt, NotAllowed, PromptTooLong, UnknownModel
from core.keys import ConversationKey
from core.records import MessageStatus, Scope, StoredMessage
from tests.fakes.fake_router import Status, chunk, text_script
from tests.support.chat import ADMIN, ALICE, BOB, KEY, ask, sink


async def test_answer_is_streamed_stored_and_counted(core, fake_router):
    fake_router.queue(text_script("Paris is the capital of France."))
    submitted, _outcome, out = await ask(core, "Capital of France?")
    assert out.texts() == ["Paris is the capital of France."]
    messages = await core.store.recent_messages(submitted.conversation.id, 10)
    assert [(m.role, m.content) for m in messages] == [
        ("user", "Capital of France?"),
        ("assistant", "Paris is the capital of France."),
    ]
    reply = messages[1]
    assert reply.status == MessageStatus.COMPLETE and reply.provider == "fake-provider"
    assert reply.completion_tokens == 7 and reply.platform_message_id == "m1"
    assert fake_router.requests[-1]["messages"][-1] == {"role": "user", "content": "Capital of France?"}
    assert fake_router.requests[-1]["max_tokens"] > 0


async def test_model_resolution_order(core, fake_router):
    chat = core.chat
    assert (await chat.preferences.model_choice(KEY, "alice")).model == "meta-llama/Llama-3.3-70B-Instruct"
    await chat.preferences.set_model(ADMIN, KEY, Scope.WORKSPACE, "google/gemma-3-27b-it")
    assert (await chat.preferences.model_choice(KEY, "alice")).model == "google/gemma-3-27b-it"
    await chat.preferences.set_model(ADMIN, KEY, Scope.CHANNEL, "Qwen/Qwen3-32B")
    assert (await chat.preferences.model_choice(KEY, "alice")).model == "Qwen/Qwen3-32B"
    await chat.preferences.set_model(ALICE, KEY, Scope.USER, "qwen/qwen3-32b:cerebras")  # case-insensitive, suffix kept
    assert (await chat.preferences.model_choice(KEY, "alice")).model == "Qwen/Qwen3-32B:cerebras"
    assert (await chat.preferences.model_choice(KEY, "bob")).model == "Qwen/Qwen3-32B"
    await chat.preferences.set_model(ALICE, KEY, Scope.CONVERSATION, "meta-llama/Llama-3.3-70B-Instruct:fastest")
    conversation = await core.store.get_conversation(KEY)
    assert (
        await chat.preferences.model_choice(KEY, "alice", conversation.id)
    ).model == "meta-llama/Llama-3.3-70B-Instruct:fastest"
    fake_router.queue(text_script("ok"))
    await ask(core, "hi")
    assert fake_router.requests[-1]["model"] == "meta-llama/Llama-3.3-70B-Instruct:fastest"


async def test_unknown_model_suggests_closest(core):
    with pytest.raises(UnknownModel) as error:
        await core.chat.preferences.set_model(ALICE, KEY, Scope.USER, "llama-3.3-70b")
    assert "meta-llama/Llama-3.3-70B-Instruct" in error.value.suggestions
    assert "Did you mean" in str(error.value)


async def test_only_admins_set_channel_and_workspace_defaults(core):
    for scope in (Scope.CHANNEL, Scope.WORKSPACE):
        with pytest.raises(NotAllowed):
            await core.chat.preferences.set_model(ALICE, KEY, scope, "Qwen/Qwen3-32B")


async def test_bad_prompts_get_clear_errors_and_store_nothing(core):
    for text in ("", "   \n\t", "\u200b\u200d\u2060", "\x00\x01"):
        with pytest.raises(EmptyPrompt):
            await ask(core, text)
    with pytest.raises(PromptTooLong):
        await ask(core, "x" * 20_000)
    await core.chat.preferences.set_model(ALICE, KEY, Scope.USER, "tiny/context-512")
    with pytest.raises(PromptTooLong) as error:
        await ask(core, "word " * 400)
    assert "tiny/context-512" in str(error.value)
    assert await core.store.get_conversation(KEY) is None


async def test_context_fitting_drops_oldest_and_tells(core, fake_router):
    await core.chat.preferences.set_model(ALICE, KEY, Scope.USER, "tiny/context-512")  # 512 tokens, half for the answer
    for i in range(8):
        fake_router.queue(text_script(f"answer {i} " + "z" * 100))
        await ask(core, f"question {i} " + "y" * 100)
    sent = fake_router.requests[-1]["messages"]
    assert sent[-1]["content"].startswith("question 7")
    assert not any("question 0" in m["content"] for m in sent)
    assert sum(len(m["content"]) for m in sent) // 3 < 512
    _, _, out = await ask(core, "last")
    assert "no longer fit" in out.texts()[-1]


async def test_several_people_are_named(core, fake_router):
    await ask(core, "I like tea", ALICE)
    await ask(core, "I like coffee", BOB)
    sent = fake_router.requests[-1]["messages"]
    contents = "\n".join(m["content"] for m in sent if m["role"] == "user")
    assert "Alice: I like tea" in contents and "Bob: I like coffee" in contents


async def test_burst_messages_during_a_reply_are_answered_together(core, fake_router):
    fake_router.queue(text_script("first answer " * 5, pieces=10, delay=0.05))
    fake_router.queue(text_script("second answer"))
    first = await core.chat.submit(KEY, ALICE, "one", sink())
    await asyncio.sleep(0.1)
    second = await core.chat.submit(KEY, BOB, "two", sink())
    third_sink = sink()
    third = await core.chat.submit(KEY, ALICE, "three", third_sink)
    assert not first.queued and second.queued and third.queued
    await first.reply
    assert len(fake_router.requests) == 2  # one reply for the two queued messages
    last_user = fake_router.requests[-1]["messages"][-1]
    assert "two" in last_user["content"] and "three" in last_user["content"]
    assert third_sink.texts() == ["second answer"]
    messages = await core.store.recent_messages(first.conversation.id, 10)
    assert [m.role for m in messages] == ["user", "assistant", "user", "user", "assistant"]


async def test_stop_keeps_partial_and_drops_queued_reply(core, fake_router):
    fake_router.queue(text_script("word " * 100, pieces=100, delay=0.02))
    first = await core.chat.submit(KEY, ALICE, "long please", sink())
    await asyncio.sleep(0.3)
    with pytest.raises(NotAllowed):
        await core.chat.replies.stop(first.conversation.id, BOB)
    assert await core.chat.replies.stop(first.conversation.id, ALICE)
    outcome = await first.reply
    assert outcome.state.status == MessageStatus.STOPPED
    stored = await core.store.get_message(outcome.reply_id)
    assert stored.status == MessageStatus.STOPPED and stored.content.startswith("word word")


async def test_regenerate_replaces_last_answer(core, fake_router):
    fake_router.queue(text_script("old answer"))
    submitted, _, _ = await ask(core, "question")
    fake_router.queue(text_script("new answer"))
    again = await core.chat.actions.regenerate(submitted.conversation.id, ALICE, sink())
    await again.reply
    messages = await core.store.recent_messages(submitted.conversation.id, 10)
    assert [m.content for m in messages] == ["question", "new answer"]


async def test_continue_resumes_the_same_answer(core, fake_router):
    fake_router.queue(text_script("The beginning", finish="length"))
    submitted, outcome, _out = await ask(core, "story")
    assert outcome.state.status == MessageStatus.TRUNCATED
    fake_router.queue(text_script(" and the end."))
    cont_sink = sink()
    resumed = await core.chat.actions.continue_reply(submitted.conversation.id, ALICE, cont_sink)
    await resumed.reply
    stored = await core.store.get_message(outcome.reply_id)
    assert stored.content == "The beginning and the end." and stored.status == MessageStatus.COMPLETE
    sent = fake_router.requests[-1]["messages"]
    assert sent[-2] == {"role": "assistant", "content": "The beginning"}
    assert "Continue" in sent[-1]["content"]
    assert [t.strip() for t in cont_sink.texts()] == ["and the end."]


async def test_router_error_shown_and_user_message_kept(core, fake_router):
    fake_router.queue([Status(402)])
    submitted, _outcome, out = await ask(core, "hello?")
    assert "credits" in out.texts()[-1]
    messages = await core.store.recent_messages(submitted.conversation.id, 10)
    assert messages[0].content == "hello?" and messages[1].status == MessageStatus.ERROR


async def test_delete_is_owner_or_admin_and_real(core, fake_router):
    submitted, _, _ = await ask(core, "secret plans")
    conversation_id = submitted.conversation.id
    with pytest.raises(NotAllowed):
        await core.chat.conversations.delete(conversation_id, BOB)
    assert await core.store.count_messages(conversation_id) == 2
    await core.chat.conversations.delete(conversation_id, ALICE)
    assert await core.store.get_conversation(KEY) is None
    # the next message in the same thread starts fresh
    fake_router.queue(text_script("fresh"))
    again, _, _ = await ask(core, "hello again")
    assert again.conversation.id != conversation_id
    assert len(fake_router.requests[-1]["messages"]) == 1
    await core.chat.conversations.delete(again.conversation.id, ADMIN)


async def test_delete_while_streaming_stops_the_reply(core, fake_router):
    fake_router.queue(text_script("word " * 100, pieces=100, delay=0.02))
    first = await core.chat.submit(KEY, ALICE, "long", sink())
    await asyncio.sleep(0.2)
    await core.chat.conversations.delete(first.conversation.id, ALICE)
    await asyncio.gather(first.reply, return_exceptions=True)
    assert await core.store.get_conversation(KEY) is None
    assert await core.store.count_messages(first.conversation.id) == 0


async def test_delete_all_my_data(core, fake_router):
    await ask(core, "mine", ALICE)
    await ask(core, "mine too", ALICE, key=ConversationKey("test", "W1", "C1", "T2"))
    await ask(core, "bob's", BOB, key=ConversationKey("test", "W1", "C1", "T3"))
    assert await core.chat.delete_user_data(ALICE) == 2
    assert await core.chat.conversations.list(ALICE) == []
    assert len(await core.chat.conversations.list(BOB)) == 1


async def test_export_only_for_owner(core, fake_router):
    fake_router.queue(text_script("An answer."))
    submitted, _, _ = await ask(core, "A question")
    text = await core.chat.conversations.export_markdown(submitted.conversation.id, ALICE)
    assert "A question" in text and "An answer." in text
    with pytest.raises(NotAllowed):
        await core.chat.conversations.export_markdown(submitted.conversation.id, BOB)


async def test_edit_and_delete_of_user_messages_update_the_store(core, fake_router):
    submitted = await core.chat.submit(KEY, ALICE, "typo", sink(), platform_message_id="u1")
    await submitted.reply
    assert await core.chat.conversations.on_message_edited("test", "u1", "fixed")
    messages = await core.store.recent_messages(submitted.conversation.id, 10)
    assert messages[0].content == "fixed"
    assert await core.chat.conversations.on_message_deleted("test", "u1")
    assert await core.store.count_messages(submitted.conversation.id) == 0


async def _returning(messages):
    return messages


async def test_adopted_thread_brings_prior_context_once(core, fake_router):
    prior = [StoredMessage(role="user", content="earlier remark", author_id="carol", author_name="Carol")]
    await core.chat.submit(KEY, ALICE, "what do you think?", sink(), earlier=lambda after: _returning(prior))
    await asyncio.sleep(0.2)
    sent = fake_router.requests[-1]["messages"]
    assert "earlier remark" in sent[-1]["content"]


async def test_logs_never_hold_message_text(core, fake_router, caplog):
    canary = "CANARY-d41d8cd9"
    fake_router.queue(text_script(f"reply with {canary}"))
    with caplog.at_level(logging.DEBUG):
        submitted, _, _ = await ask(core, f"prompt with {canary}")
        await core.chat.conversations.delete(submitted.conversation.id, ALICE)
    assert caplog.records, "expected some log records"
    for record in caplog.records:
        assert canary not in record.getMessage()


async def test_garbled_router_answer_is_explained(core, fake_router):
    from tests.fakes.fake_router import Raw

    fake_router.queue([chunk("ok"), Raw(b"data: {oops\n\n")])
    _, outcome, out = await ask(core, "hi")
    assert outcome.state.status == MessageStatus.ERROR
    assert out.texts()[-1].startswith("ok")

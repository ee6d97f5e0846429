"""Clarifying questions: the model asks one question with choices through a tool, the front end shows it, the
person's click (or typed answer) goes back as the tool's result and the same answer goes on."""

from __future__ import annotations

import asyncio
import json

import pytest

from core.errors import InvalidSetting, NotAllowed, NotFound
from core.records import MessageStatus, Scope
from core.replies.clarify import NOT_ANSWERED, Clarifier
from core.streaming import PlatformLimits
from core.tools.clarify import NAME, WAIT_NOTE
from tests.fakes.fake_router import text_script, tool_calls_script
from tests.support.chat import ADMIN, ALICE, BOB, KEY
from tests.support.questions import AskingSink, asking_script, queue_question_then_answer
from tests.support.sinks import RecordingSink


def asking_sink() -> AskingSink:
    return AskingSink(PlatformLimits(max_chars=2000, edit_interval=0.01))


async def start(core, text="How do I install it?", actor=ALICE, out=None):
    out = out or asking_sink()
    submitted = await core.chat.submit(KEY, actor, text, out)
    return submitted, out


def tool_results(request: dict) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


async def test_the_choice_returns_as_the_tool_result_and_the_same_answer_goes_on(core, fake_router):
    queue_question_then_answer(fake_router, "For Python 3.12: pip install it.")
    submitted, out = await start(core)
    question = await out.next_question()
    assert question.text == "Which Python do you mean?" and question.options == ("Python 3.12", "Python 2.7")
    assert [t["function"]["name"] for t in fake_router.requests[0]["tools"]] == [NAME]
    # while it waits the answer says so
    await asyncio.sleep(0.1)
    assert WAIT_NOTE in out.full_text()
    await core.chat.questions.answer(question.id, ALICE, option=0)
    outcome = await submitted.reply
    assert tool_results(fake_router.requests[-1]) == ["The user's answer: Python 3.12"]
    assert out.texts() == ["For Python 3.12: pip install it."]  # one answer, the waiting line gone
    stored = await core.store.get_message(outcome.reply_id)
    [call] = stored.extra["tools"]
    assert call["name"] == NAME and call["result"] == "The user's answer: Python 3.12"
    assert json.loads(call["arguments"])["options"] == ["Python 3.12", "Python 2.7"]


async def test_an_answer_in_their_own_words_and_a_typed_number(core, fake_router):
    queue_question_then_answer(fake_router, "Got it.")
    submitted, out = await start(core)
    question = await out.next_question()
    await core.chat.questions.answer_typed(question.id, ALICE, "  the one   in my distro ")
    await submitted.reply
    assert tool_results(fake_router.requests[-1]) == ["The user's answer: the one in my distro"]

    queue_question_then_answer(fake_router, "Old one, then.")
    submitted, out = await start(core, "And uninstall?")
    question = await out.next_question()
    await core.chat.questions.answer_typed(question.id, ALICE, "2")
    await submitted.reply
    assert tool_results(fake_router.requests[-1])[-1] == "The user's answer: Python 2.7"


async def test_only_the_person_asked_may_answer_and_only_while_it_waits(core, fake_router):
    queue_question_then_answer(fake_router, "Done.")
    submitted, out = await start(core)
    question = await out.next_question()
    with pytest.raises(NotAllowed, match="for Alice"):
        await core.chat.questions.answer(question.id, BOB, option=0)
    with pytest.raises(NotAllowed):  # not even an admin: it is the asker's choice
        await core.chat.questions.answer(question.id, ADMIN, option=0)
    with pytest.raises(InvalidSetting):
        await core.chat.questions.answer(question.id, ALICE, text="   ")
    await core.chat.questions.answer(question.id, ALICE, option=1)
    await submitted.reply
    with pytest.raises(NotFound):  # answered already
        await core.chat.questions.answer(question.id, ALICE, option=0)


async def test_one_question_per_answer(core, fake_router):
    fake_router.queue(asking_script())
    fake_router.queue(asking_script("And which OS?", ("Linux", "macOS")))
    fake_router.queue(text_script("Assuming Linux."))
    submitted, out = await start(core)
    await core.chat.questions.answer((await out.next_question()).id, ALICE, option=0)
    await submitted.reply
    assert len(out.questions) == 1
    second = tool_results(fake_router.requests[-1])[-1]
    assert second.startswith("Error:") and "already asked" in second


async def test_bad_questions_go_back_to_the_model_without_being_shown(core, fake_router):
    fake_router.queue(tool_calls_script((NAME, {"question": "Which?", "options": ["only one"]})))
    fake_router.queue(text_script("Fine."))
    submitted, out = await start(core)
    await submitted.reply
    assert out.questions == []
    assert tool_results(fake_router.requests[-1])[0].startswith("Error: Give 2 to 4")


async def test_nobody_answering_the_model_goes_on_with_its_best_reading(core, fake_router):
    core.chat.questions.wait = 0.2
    queue_question_then_answer(fake_router, "Assuming 3.12.")
    submitted, out = await start(core)
    question = await out.next_question()
    outcome = await submitted.reply
    assert tool_results(fake_router.requests[-1]) == [NOT_ANSWERED]
    assert outcome.state.status == MessageStatus.COMPLETE
    with pytest.raises(NotFound):
        await core.chat.questions.answer(question.id, ALICE, option=0)


async def test_stop_while_a_question_waits_ends_the_answer_and_the_question(core, fake_router):
    fake_router.queue(asking_script())
    submitted, out = await start(core)
    question = await out.next_question()
    assert core.chat.questions.waiting_in(submitted.conversation.id) is question
    assert await core.chat.replies.stop(submitted.conversation.id, ALICE)
    outcome = await submitted.reply
    assert outcome.state.status == MessageStatus.STOPPED
    assert core.chat.questions.waiting_in(submitted.conversation.id) is None
    with pytest.raises(NotFound):
        await core.chat.questions.answer(question.id, ALICE, option=0)


async def test_not_offered_where_the_front_end_cannot_show_it(core, fake_router):
    fake_router.queue(text_script("Plain."))
    submitted = await core.chat.submit(KEY, ALICE, "hi", RecordingSink())
    await submitted.reply
    assert "tools" not in fake_router.requests[-1]


async def test_a_platform_renderer_shows_questions_for_sinks_without_ask(core, fake_router):
    shown = []
    rendered = asyncio.Event()

    async def render(sink, question):
        shown.append((sink, question))
        rendered.set()

    core.chat.questions.show_with("test", render)
    queue_question_then_answer(fake_router, "Ok.")
    out = RecordingSink()
    submitted = await core.chat.submit(KEY, ALICE, "hi", out)
    await asyncio.wait_for(rendered.wait(), 5)
    assert shown[0][0] is out
    await core.chat.questions.answer(shown[0][1].id, ALICE, option=0)
    await submitted.reply
    assert fake_router.requests[0]["tools"][0]["function"]["name"] == NAME


async def test_an_admin_turns_it_off_for_the_workspace(core, fake_router):
    with pytest.raises(NotAllowed):
        await core.chat.preferences.set_option(ALICE, KEY, Scope.WORKSPACE, "clarify", "off")
    with pytest.raises(InvalidSetting):  # a workspace matter, not a person's
        await core.chat.preferences.set_option(ALICE, KEY, Scope.USER, "clarify", "off")
    await core.chat.preferences.set_option(ADMIN, KEY, Scope.WORKSPACE, "clarify", "off")
    fake_router.queue(text_script("No questions asked."))
    submitted, _ = await start(core)
    await submitted.reply
    assert "tools" not in fake_router.requests[-1]
    await core.chat.preferences.set_option(ADMIN, KEY, Scope.WORKSPACE, "clarify", "on")
    fake_router.queue(text_script("Asked maybe."))
    submitted, _ = await start(core, "again")
    await submitted.reply
    assert fake_router.requests[-1]["tools"][0]["function"]["name"] == NAME


async def test_not_offered_when_a_model_that_may_answer_lacks_tools(core, fake_router):
    await core.chat.preferences.set_model(
        ALICE, KEY, Scope.CONVERSATION, "google/gemma-3-27b-it"
    )  # no tools in the catalog
    fake_router.queue(text_script("Plain."), model="google/gemma-3-27b-it")
    submitted, _ = await start(core)
    await submitted.reply
    assert "tools" not in fake_router.requests[-1]


async def test_a_sink_about_to_expire_is_not_asked_through(core, fake_router):
    import time

    out = asking_sink()
    out.expires_at = time.monotonic() + 10  # less than the least wait left
    queue_question_then_answer(fake_router, "Guessing.")
    submitted = await core.chat.submit(KEY, ALICE, "hi", out)
    await submitted.reply
    assert out.questions == [] and tool_results(fake_router.requests[-1]) == [NOT_ANSWERED]


def test_numbered_choices_for_a_terminal():
    from core.replies.clarify import Question

    question = Question("q", 1, "console", "me", "Me", "Which one?", ("A", "B"))
    assert question.numbered() == ["1. A", "2. B", "Or type your own answer."]
    assert Clarifier().wait >= 60  # long enough for a person to read and click

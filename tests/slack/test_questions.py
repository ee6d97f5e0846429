"""Clarifying questions on Slack: Block Kit buttons in the answer's thread (and "Other…" for the person's own
words); the click goes back to the model and the same answer goes on; only the person asked may answer."""

from __future__ import annotations

from tests.fakes.fake_router import text_script
from tests.support.questions import asking_script
from tests.support.slack import ADMIN, BOB, CHANNEL, buttons, visible
from tests.support.waits import wait_for

ANSWER = "For Python 3.12: pip install it."


def question_in(bot, thread_ts: str):
    return next((m for m in bot.fake.bot_messages(CHANNEL, thread_ts) if m.text.startswith("❓")), None)


def tool_results(request: dict) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


async def ask_and_get_question(bot):
    bot.router.queue(asking_script())
    bot.router.queue(text_script(ANSWER))
    post = await bot.fake.user_posts("How do I install it?", channel=CHANNEL)
    await wait_for(lambda: question_in(bot, post.ts) is not None, within=10, what="the question")
    return post, question_in(bot, post.ts)


async def click(bot, question, action_id: str, user: str | None = None) -> None:
    value = next(b["value"] for b in buttons(question.blocks) if b["action_id"] == action_id)
    payload = bot.fake.build_block_actions(
        action_id=action_id, value=value, channel=CHANNEL, message_ts=question.ts, user=user
    )
    await bot.fake.wait_ack(await bot.fake.socket_send_interactive(payload))


async def test_a_click_answers_the_question_and_the_answer_goes_on(bot):
    post, question = await ask_and_get_question(bot)
    assert [b["text"]["text"] for b in buttons(question.blocks)] == ["Python 3.12", "Python 2.7", "Other…"]
    await click(bot, question, "hfchat_q_1")
    await bot.settle()
    assert tool_results(bot.router.requests[-1]) == ["The user's answer: Python 2.7"]
    assert ANSWER in bot.answer_text(CHANNEL, post.ts)
    shown = bot.fake.message(CHANNEL, question.ts)
    assert "→ Python 2.7" in str(shown.blocks) and not buttons(shown.blocks)


async def test_only_the_person_asked_may_answer(bot):
    _, question = await ask_and_get_question(bot)
    await click(bot, question, "hfchat_q_0", user=BOB)
    await wait_for(lambda: any("This question is for" in t for t in bot.responses()), what="the refusal")
    assert buttons(bot.fake.message(CHANNEL, question.ts).blocks)  # still waiting for its asker
    await click(bot, question, "hfchat_q_0")
    await bot.settle()
    assert tool_results(bot.router.requests[-1]) == ["The user's answer: Python 3.12"]


async def test_other_opens_a_form_for_the_persons_own_words(bot):
    post, question = await ask_and_get_question(bot)
    await click(bot, question, "hfchat_q_other")
    await wait_for(lambda: bool(bot.fake.calls("views.open")), what="the form")
    view = bot.fake.calls("views.open")[-1].params["view"]
    view = view if isinstance(view, dict) else __import__("json").loads(view)
    submission = {
        "type": "view_submission",
        "team": {"id": bot.fake.team_id, "domain": bot.fake.team_domain},
        "user": {"id": bot.fake.default_user_id, "team_id": bot.fake.team_id},
        "api_app_id": bot.fake.app_id,
        "token": bot.fake.verification_token,
        "trigger_id": bot.fake.new_trigger_id(),
        "view": {**view, "state": {"values": {"answer": {"answer": {"type": "plain_text_input", "value": "mine"}}}}},
    }
    await bot.fake.wait_ack(await bot.fake.socket_send_interactive(submission))
    await bot.settle()
    assert tool_results(bot.router.requests[-1]) == ["The user's answer: mine"]
    assert "→ mine" in str(bot.fake.message(CHANNEL, question.ts).blocks)
    assert visible(bot.answers(CHANNEL, post.ts)[-1])


async def test_a_workspace_admin_turns_questions_off_with_settings(bot):
    await bot.command("/settings", "workspace clarify off", user=BOB)
    assert "Only an admin" in bot.responses()[-1]  # a member cannot
    await bot.command("/settings", "workspace clarify off", user=ADMIN)
    assert bot.responses()[-1] == "`clarify` is now `off` for the workspace."
    bot.router.queue(text_script(ANSWER))
    post = await bot.fake.user_posts("How do I install it?", channel=CHANNEL)
    await bot.settle()
    assert "tools" not in bot.router.requests[-1]  # the question tool is not even offered
    assert question_in(bot, post.ts) is None and visible(bot.fake.bot_messages(CHANNEL, post.ts)[-1]) == ANSWER

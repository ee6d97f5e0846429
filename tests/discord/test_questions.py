"""Clarifying questions on Discord: buttons under a question (one per choice, and "Other…" for the person's own
words); the click goes back to the model and the same answer goes on. Where the answer goes through an interaction
the question is one of its follow-ups; in a thread it is a message there, and only the person asked may answer."""

from __future__ import annotations

import json

import pytest

from core.tools.clarify import NAME
from tests.fakes.discord import FLAG_EPHEMERAL, FakeDiscord, running_client
from tests.fakes.fake_router import text_script
from tests.support.discord import make_bot, open_threads
from tests.support.questions import asking_script

ANSWER = "For Python 3.12, use pip."


def questions_in(fake: FakeDiscord, channel_id: str) -> list:
    """The bot's question messages: those whose buttons are a question's choices (or were, once answered)."""
    return [m for m in fake.channel_messages(channel_id) if m.content.startswith("❓ **")]


def choice_ids(message) -> dict[str, str]:
    return {
        item["label"]: item["custom_id"]
        for row in message.data.get("components") or []
        for item in row.get("components") or []
    }


def tool_results(request: dict) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


@pytest.fixture
async def fake():
    async with FakeDiscord() as fake:
        fake.bob = fake.add_user("bob")
        fake.group = fake.add_group_dm(fake.default_user, fake.bob)
        yield fake


async def test_a_question_in_an_ask_is_a_follow_up_and_the_click_continues_the_answer(discord_core, fake_router, fake):
    fake_router.queue(asking_script())
    fake_router.queue(text_script(ANSWER))
    group = fake.group["id"]
    async with running_client(fake, make_bot(discord_core)):
        ask = await fake.slash_command(
            group, fake.default_user, "ask", {"prompt": "How do I install it?"}, user_install=True
        )
        await fake.wait_until(lambda: bool(questions_in(fake, group)))
        [question] = questions_in(fake, group)
        assert question.data["flags"] & FLAG_EPHEMERAL  # the answer is the asker's alone: so is the question
        assert "Which Python do you mean?" in question.content
        ids = choice_ids(question)
        assert list(ids) == ["Python 3.12", "Python 2.7", "Other…"]
        click = await fake.component_click(group, fake.default_user, question.id, ids["Python 3.12"], user_install=True)
        await fake.wait_until(lambda: (m := fake.original_response(ask)) is not None and m.content == ANSWER)
    assert click.response_type == 7  # the question now shows the choice, without its buttons
    shown = fake.message(group, question.id)
    assert shown.content.endswith("→ Python 3.12") and not shown.data["components"]
    assert tool_results(fake_router.requests[-1]) == ["The user's answer: Python 3.12"]
    assert ask.followups_sent == 1  # the question; the answer grew in the original response
    fake.assert_clean()


async def test_other_opens_a_form_for_the_persons_own_words(discord_core, fake_router, fake):
    fake_router.queue(asking_script())
    fake_router.queue(text_script(ANSWER))
    group = fake.group["id"]
    async with running_client(fake, make_bot(discord_core)):
        await fake.slash_command(group, fake.default_user, "ask", {"prompt": "How do I install it?"}, user_install=True)
        await fake.wait_until(lambda: bool(questions_in(fake, group)))
        [question] = questions_in(fake, group)
        other = await fake.component_click(
            group, fake.default_user, question.id, choice_ids(question)["Other…"], user_install=True
        )
        await fake.wait_until(lambda: other.modal is not None)
        [row] = other.modal["components"]
        field = (row.get("component") or row["components"][0])["custom_id"]
        submitted = await fake.submit_modal(other, {field: "the one my distro ships"})
        await fake.wait_until(lambda: submitted.acknowledged)
        await discord_core.chat.replies.wait_idle()
    assert submitted.response_type == 7
    assert fake.message(group, question.id).content.endswith("→ the one my distro ships")
    assert tool_results(fake_router.requests[-1]) == ["The user's answer: the one my distro ships"]
    fake.assert_clean()


async def test_in_a_thread_the_question_is_posted_there_and_only_the_asker_may_answer(discord_core, fake_router, fake):
    fake_router.queue(asking_script())
    fake_router.queue(text_script(ANSWER))
    [thread] = await open_threads(fake, discord_core, 1)
    async with running_client(fake, make_bot(discord_core)):
        await fake.message_create(thread["id"], fake.default_user, "How do I install it?")
        await fake.wait_until(lambda: bool(questions_in(fake, thread["id"])))
        [question] = questions_in(fake, thread["id"])
        assert not question.data["flags"] & FLAG_EPHEMERAL
        ids = choice_ids(question)
        fake.add_member(fake.default_guild, fake.bob)
        refused = await fake.component_click(thread["id"], fake.bob, question.id, ids["Python 2.7"])
        await fake.wait_until(lambda: refused.acknowledged)
        assert "This question is for alice" in refused.callbacks[0].data["content"]
        assert refused.callbacks[0].data["flags"] & FLAG_EPHEMERAL
        await fake.component_click(thread["id"], fake.default_user, question.id, ids["Python 2.7"])
        await fake.wait_until(
            lambda: any(
                m.content == ANSWER for m in fake.channel_messages(thread["id"]) if m.author_id == fake.bot_user["id"]
            )
        )
    assert tool_results(fake_router.requests[-1]) == ["The user's answer: Python 2.7"]
    offered = [t["function"]["name"] for t in fake_router.requests[0]["tools"]]
    assert offered == [NAME]
    fake.assert_clean()


async def test_an_admin_turned_it_off_for_the_server(discord_core, fake_router, fake):
    from core.keys import Actor, ConversationKey
    from core.records import Scope

    admin = Actor("discord", fake.guild_owner["id"], "owner", fake.default_guild["id"], is_admin=True)
    key = ConversationKey("discord", fake.default_guild["id"], fake.default_channel["id"], "")
    await discord_core.chat.preferences.set_option(admin, key, Scope.WORKSPACE, "clarify", "off")
    fake_router.queue(text_script(ANSWER))
    [thread] = await open_threads(fake, discord_core, 1)
    async with running_client(fake, make_bot(discord_core)):
        await fake.message_create(thread["id"], fake.default_user, "How do I install it?")
        await fake.wait_until(lambda: bool(fake_router.requests))
        await discord_core.chat.replies.wait_idle()
    assert "tools" not in fake_router.requests[-1]
    assert json.dumps(fake_router.requests[-1]).count(NAME) == 0


async def test_a_question_and_an_answer_too_long_for_the_messages_still_fit_five_follow_ups(
    discord_core, fake_router, fake
):
    from tests.fakes.discord import USER_INSTALL_FOLLOWUPS

    long_answer = "".join(f"Step {i}: " + "run the installer and check the version. " * 10 + "\n\n" for i in range(40))
    fake_router.queue(asking_script())
    fake_router.queue(text_script(long_answer, pieces=40, delay=0.01))
    group = fake.group["id"]
    async with running_client(fake, make_bot(discord_core)):
        ask = await fake.slash_command(
            group, fake.default_user, "ask", {"prompt": "How do I install it?"}, user_install=True
        )
        await fake.wait_until(lambda: bool(questions_in(fake, group)))
        [question] = questions_in(fake, group)
        await fake.component_click(
            group, fake.default_user, question.id, choice_ids(question)["Python 3.12"], user_install=True
        )
        await fake.wait_until(
            lambda: any(fake.message(group, m).data["attachments"] for m in ask.followup_message_ids), within=20
        )
        await discord_core.chat.replies.wait_idle()
    assert ask.followups_sent == USER_INSTALL_FOLLOWUPS  # 3 of the answer, the question, the whole answer as a file
    assert not [r for r in fake.requests if r.status >= 400]
    fake.assert_clean()

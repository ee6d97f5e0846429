"""Message commands and forwarded messages through SimCord (the real bot, a simulated Discord): a message's context
menu in a server, with its modal, and a message forwarded into the bot's thread."""

from __future__ import annotations

import pytest

from tests.fakes.fake_router import text_script

OTHER_TALK = "an unrelated secret nobody picked"


@pytest.fixture(autouse=True)
def _router_on_env(env, fake_router):
    env.fake_router = fake_router


def last_prompt(fake_router) -> str:
    return str([m for m in fake_router.requests[-1]["messages"] if m["role"] == "user"][-1]["content"])


async def test_translate_answers_only_the_person_from_the_picked_message(env, world, fake_router):
    await world.bob.send(world.channel, OTHER_TALK)
    picked = await world.bob.send(world.channel, "Der Zug fährt um neun.")
    fake_router.queue(text_script("The train leaves at nine."))
    result = await world.alice.context_menu(world.channel, "Translate", picked)
    assert result.ephemeral and result.response.content == "The train leaves at nine."
    prompt = last_prompt(fake_router)
    assert prompt.startswith("Translate this message into English.") and "Der Zug fährt um neun." in prompt
    assert OTHER_TALK not in str(fake_router.requests[-1])


async def test_ask_huggingchat_in_a_thread_from_the_message(env, world, fake_router):
    question = await world.alice.send(world.channel, "Is the API stable?")
    picked = await world.bob.send(world.channel, "Only the v2 endpoints.", reply_to=question)
    fake_router.queue(text_script("Bob says only v2 is stable."))
    shown = await world.alice.context_menu(world.channel, "Ask HuggingChat", picked)
    assert shown.modal is not None
    controls = {}
    for row in shown.modal["components"]:
        for control in [row.get("component")] if row.get("component") else row.get("components") or []:
            controls[control["type"]] = control["custom_id"]
    await world.alice.submit_modal(shown, {controls[4]: "What is stable?", controls[3]: ["thread"]})
    [thread] = world.channel.threads
    assert thread.id == picked.id  # opened from the picked message
    assert thread.last_message.content == "Bob says only v2 is stable."
    prompt = last_prompt(fake_router)
    assert prompt.startswith("What is stable?") and "(in reply to alice: Is the API stable?)" in prompt


async def test_a_message_forwarded_into_the_bots_thread_is_read(env, world, fake_router):
    fake_router.queue(text_script("Tell me about tea", pieces=2))
    await world.alice.slash(world.channel, "chat", prompt="Keep notes for me")
    [thread] = world.channel.threads
    note = await world.bob.send(world.channel, "Standup moves to 10:30.")
    fake_router.queue(text_script("Noted: standup at 10:30."))
    await world.alice.forward(note, thread)
    assert thread.last_message.content == "Noted: standup at 10:30."
    assert "Forwarded message:\n> Standup moves to 10:30." in last_prompt(fake_router)

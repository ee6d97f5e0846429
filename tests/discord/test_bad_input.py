"""Bad input on Discord, refused before anything is opened: an over-long /chat or mention opens no thread, and a
refusal that echoes what was typed shows its hidden and direction controls written out."""

from __future__ import annotations

import pytest

from tests.fakes.fake_router import text_script

LIMIT = 200


@pytest.fixture
async def discord_core(core_factory, fake_router):
    return await core_factory(fake_router.url, max_prompt_chars=LIMIT)


@pytest.fixture(autouse=True)
def _router_on_env(env, fake_router):
    env.fake_router = fake_router


async def test_an_over_long_chat_prompt_opens_no_thread(env, world, fake_router):
    refused = await world.alice.slash(world.channel, "chat", prompt="x" * (LIMIT + 1))
    assert refused.ephemeral and f"the limit is {LIMIT}" in refused.response.content
    assert world.channel.threads == [] and fake_router.requests == []
    fake_router.queue(text_script("fine", pieces=1))
    await world.alice.slash(world.channel, "chat", prompt="x" * LIMIT)
    assert len(world.channel.threads) == 1


async def test_an_over_long_mention_opens_no_thread(env, world, fake_router, simcord_bot):
    await world.alice.send(world.channel, f"<@{simcord_bot.user.id}> " + "y" * (LIMIT + 5))
    assert world.channel.threads == [] and fake_router.requests == []
    assert f"the limit is {LIMIT}" in world.channel.last_message.content


async def test_a_refusal_writes_out_hidden_controls(env, world):
    refused = await world.alice.slash(world.channel, "model", name="qwen\u202eevil\u200b")
    shown = refused.response.content
    assert "not a model the router serves" in shown
    assert "\u202e" not in shown and "\u200b" not in shown and "[U+202E]" in shown and "[U+200B]" in shown

"""/settings, /assistant and /usage through SimCord: thin commands over the core."""

from __future__ import annotations

import pytest

from tests.fakes.fake_router import text_script


@pytest.fixture(autouse=True)
def _router_on_env(env, fake_router):
    env.fake_router = fake_router


async def test_settings_assistant_and_usage(env, world, fake_router):
    result = await world.alice.slash(world.channel, "settings", name="temperature", value="0.4")
    assert result.ephemeral and "`temperature` is now `0.4` for your default" in result.response.content
    bad = await world.alice.slash(world.channel, "settings", name="top_p", value="7")
    assert "out of range" in bad.response.content
    denied = await world.alice.slash(world.channel, "settings", name="system_prompt", value="x", scope="channel")
    assert "Only an admin" in denied.response.content
    shown = await world.alice.slash(world.channel, "settings")
    assert "`temperature` = `0.4` (user)" in shown.response.content

    created = await world.alice.slash(
        world.channel, "assistant", action="create", name="Chef", fields='instructions="You cook." temperature=0.9'
    )
    assert "Created" in created.response.content and "**Chef** (personal)" in created.response.content
    used = await world.alice.slash(world.channel, "assistant", action="use", name="chef")
    assert "start with **Chef**" in used.response.content
    fake_router.queue(text_script("Pasta.", pieces=1))
    await world.alice.slash(world.channel, "chat", prompt="dinner?")
    sent = fake_router.requests[-1]
    assert sent["messages"][0]["content"] == "You cook." and sent["temperature"] == 0.9
    listed = await world.bob.slash(world.channel, "assistant", action="list")
    assert "No assistants yet" in listed.response.content  # personal: Bob does not see Alice's

    usage = await world.alice.slash(world.channel, "usage")
    assert "Your usage, last 30 days" in usage.response.content and "1 answers" in usage.response.content
    refused = await world.alice.slash(world.channel, "usage", scope="server")
    assert "Only an admin" in refused.response.content
    server = await world.mod.slash(world.channel, "usage", scope="server", days=7)
    assert "Workspace usage, last 7 days" in server.response.content


async def test_about(env, world):
    result = await world.alice.slash(world.channel, "about")
    text = result.response.content
    assert result.ephemeral and "HuggingChat bot" in text and "`meta-llama/Llama-3.3-70B-Instruct`" in text
    assert "/delete all" in text and "training" in text

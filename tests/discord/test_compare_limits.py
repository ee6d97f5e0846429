"""/compare and /limits through SimCord: the real bot's commands over the core, the scripted router."""

from __future__ import annotations

import pytest

from tests.fakes.fake_router import text_script

LLAMA = "meta-llama/Llama-3.3-70B-Instruct"
QWEN = "Qwen/Qwen3-32B"
GEMMA = "google/gemma-3-27b-it"


@pytest.fixture(autouse=True)
def _router_on_env(env, fake_router):
    env.fake_router = fake_router


def bot_messages(channel) -> list:
    return [m for m in channel.history() if m.author.bot]


async def test_compare_streams_one_answer_per_model(env, world, fake_router):
    fake_router.queue(text_script("Llama thinks tea.", pieces=4, delay=0.01), model=LLAMA)
    fake_router.queue(text_script("Qwen prefers coffee.", pieces=4, delay=0.01), model=QWEN)
    fake_router.queue(text_script("Gemma drinks water.", pieces=4, delay=0.01), model=GEMMA)
    result = await world.alice.slash(
        world.channel, "compare", prompt="Tea or coffee?", model_a=LLAMA, model_b="qwen/qwen3-32b", model_c=GEMMA
    )
    assert result.response.content == f"⚖️ Comparing `{LLAMA}`, `{QWEN}`, `{GEMMA}`"  # the names as the router has them
    assert sorted(r["model"] for r in fake_router.requests) == sorted([LLAMA, QWEN, GEMMA])
    assert all(r["messages"][-1]["content"] == "Tea or coffee?" for r in fake_router.requests)
    answers = {m.content for m in bot_messages(world.channel)} - {result.response.content}
    assert answers == {
        f"**{LLAMA}**\nLlama thinks tea.",
        f"**{QWEN}**\nQwen prefers coffee.",
        f"**{GEMMA}**\nGemma drinks water.",
    }
    streamed = [
        r
        for r in env.http_requests
        if r.method == "PATCH" and r.path.startswith(f"/channels/{world.channel.id}/messages/")
    ]
    assert streamed, "each answer grows by edits"
    assert all(r.json.get("allowed_mentions") == {"parse": []} for r in streamed)
    assert world.channel.threads == []  # a comparison is no conversation


async def test_compare_refuses_a_single_model_and_an_unknown_one(env, world, fake_router):
    same = await world.alice.slash(world.channel, "compare", prompt="hi", model_a=LLAMA, model_b=LLAMA.lower())
    assert same.ephemeral and "2 to 4 different models" in same.response.content
    unknown = await world.alice.slash(world.channel, "compare", prompt="hi", model_a=LLAMA, model_b="nope/never")
    assert unknown.ephemeral and "not a model the router serves" in unknown.response.content
    assert fake_router.requests == []


async def test_limits_set_by_an_admin_refused_to_others_and_enforced(env, world, simcord_bot, fake_router):
    shown = await world.mod.slash(world.channel, "limits")
    assert shown.ephemeral and "messages per minute per person: no limit" in shown.response.content

    updated = await world.mod.slash(world.channel, "limits", limit="messages_per_minute", value="1")
    assert updated.ephemeral and "Updated." in updated.response.content
    assert "messages per minute per person: 1" in updated.response.content

    # /limits is hidden from members without Manage Server (default_permissions), and the server checks again:
    # an admin may let everyone see the command (Integrations settings), but only admins change limits
    assert "limits" in world.mod.available_commands(world.channel)
    assert "limits" not in world.alice.available_commands(world.channel)
    [command] = [c for c in await simcord_bot.tree.fetch_commands() if c.name == "limits"]
    world.guild.set_command_permissions(command, {world.alice: True})
    assert "limits" in world.alice.available_commands(world.channel)
    denied = await world.alice.slash(world.channel, "limits", limit="messages_per_minute", value="100")
    assert denied.ephemeral and "Only an admin of this workspace can change its limits." in denied.response.content
    still = await world.alice.slash(world.channel, "limits")
    assert "messages per minute per person: 1" in still.response.content  # reading them is fine

    fake_router.queue(text_script("First answer.", pieces=1))
    first = await world.alice.slash(world.channel, "chat", prompt="one")
    assert not first.ephemeral
    second = await world.alice.slash(world.channel, "chat", prompt="two")
    assert second.ephemeral  # told before the prompt is shown or a thread opened
    assert "allows 1 messages a minute per person. You can continue in" in second.response.content
    assert len(world.channel.threads) == 1 and len(fake_router.requests) == 1
    other = await world.bob.slash(world.channel, "chat", prompt="bob's turn")  # per person
    assert not other.ephemeral

    allowed = await world.mod.slash(world.channel, "limits", limit="allowed_models", value=QWEN)
    assert f"allowed models: `{QWEN}`" in allowed.response.content
    refused = await world.mod.slash(world.channel, "compare", prompt="x", model_a=QWEN, model_b=GEMMA)
    assert refused.ephemeral and f"`{GEMMA}` is not allowed in this workspace" in refused.response.content

"""What `/model` and `/settings` show on Discord is what the next answer uses, with assistants and settings at
every scope (SimCord)."""

from __future__ import annotations

import pytest

from tests.fakes.fake_router import text_script

LLAMA, QWEN, GEMMA = "meta-llama/Llama-3.3-70B-Instruct", "Qwen/Qwen3-32B", "google/gemma-3-27b-it"


@pytest.fixture(autouse=True)
def _router_on_env(env, fake_router):
    env.fake_router = fake_router


async def _setup(world, case: str) -> tuple[str, str]:
    """(the model answers here will use, the words that say where it comes from)"""
    alice, mod, channel = world.alice, world.mod, world.channel
    if case == "channel assistant":
        made = await mod.slash(channel, "assistant", action="create", name="Coder", fields=f"model={QWEN} shared=yes")
        assert "Created" in made.response.content, made.response.content
        await mod.slash(channel, "assistant", action="channel", name="Coder")
        return QWEN, "from the assistant Coder"
    if case == "user assistant over user model":
        await alice.slash(channel, "model", name=GEMMA)
        await alice.slash(channel, "assistant", action="create", name="Mine", fields=f"model={QWEN}")
        await alice.slash(channel, "assistant", action="use", name="Mine")
        return QWEN, "from the assistant Mine"
    if case == "server model":
        await mod.slash(channel, "model", name=GEMMA, scope="server")
        return GEMMA, "the workspace's default"
    if case == "user over server":
        await mod.slash(channel, "model", name=GEMMA, scope="server")
        await alice.slash(channel, "model", name=QWEN)
        return QWEN, "your default"
    return LLAMA, "the default"


@pytest.mark.parametrize(
    "case", ["default", "server model", "user over server", "channel assistant", "user assistant over user model"]
)
async def test_model_shows_what_the_next_answer_uses(env, world, fake_router, case):
    expected, where = await _setup(world, case)
    shown = await world.alice.slash(world.channel, "model")
    assert f"Model here: `{expected}` ({where})" in shown.response.content, shown.response.content
    settings = await world.alice.slash(world.channel, "settings")
    assert f"`model` = `{expected}`" in settings.response.content, settings.response.content

    fake_router.queue(text_script("ok", pieces=1))
    await world.alice.slash(world.channel, "chat", prompt="which model are you?")
    assert fake_router.requests[-1]["model"].split(":")[0] == expected

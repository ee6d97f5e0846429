"""What `/model` and `/settings` show is what the next answer uses: assistants and settings at every scope."""

from __future__ import annotations

import pytest

from tests.fakes.fake_router import text_script
from tests.support.slack import ADMIN, ALICE, CHANNEL

LLAMA, QWEN, GEMMA = "meta-llama/Llama-3.3-70B-Instruct", "Qwen/Qwen3-32B", "google/gemma-3-27b-it"


async def _setup(bot, case: str) -> tuple[str, str]:
    """(the model every answer here will use, the words that say where it comes from)"""
    if case == "channel assistant":
        await bot.command("/assistant", f"new Coder model={QWEN}", user=ADMIN)
        await bot.command("/assistant", "sharing on", user=ADMIN)
        await bot.command("/assistant", "edit Coder shared=yes", user=ADMIN)
        await bot.command("/assistant", "channel Coder", user=ADMIN, channel=CHANNEL)
        return QWEN, "Coder"
    if case == "user assistant over user model":
        await bot.command("/model", GEMMA, user=ALICE)
        await bot.command("/assistant", f"new Mine model={QWEN}", user=ALICE)
        await bot.command("/assistant", "use Mine", user=ALICE)
        return QWEN, "Mine"
    if case == "channel model":
        await bot.command("/model", f"channel {GEMMA}", user=ADMIN, channel=CHANNEL)
        return GEMMA, "channel"
    if case == "user over channel":
        await bot.command("/model", f"channel {GEMMA}", user=ADMIN, channel=CHANNEL)
        await bot.command("/model", QWEN, user=ALICE)
        return QWEN, "your default"
    return LLAMA, "default"


@pytest.mark.parametrize(
    "case", ["default", "channel model", "user over channel", "channel assistant", "user assistant over user model"]
)
async def test_model_shows_what_the_next_answer_uses(bot, case):
    expected, where = await _setup(bot, case)
    await bot.command("/model", "", user=ALICE, channel=CHANNEL)
    shown = bot.responses()[-1]
    assert f"Current model: `{expected}`" in shown and where in shown, shown
    await bot.command("/settings", "", user=ALICE, channel=CHANNEL)
    assert f"`{expected}`" in bot.responses()[-1].split("\n")[1], bot.responses()[-1]

    bot.router.queue(text_script("ok"))
    await bot.fake.user_posts("which model are you?", channel=CHANNEL, user=ALICE)
    await bot.settle()
    assert bot.router.requests[-1]["model"].split(":")[0] == expected

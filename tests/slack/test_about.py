"""`/about` on Slack: the version, the model in use here and how data is kept and erased."""

from __future__ import annotations

from tests.support.slack import CHANNEL


def _says_about(text: str, model: str) -> bool:
    return "HuggingChat bot" in text and f"`{model}`" in text and "/delete all" in text and "training" in text


async def test_about_on_slack(bot):
    await bot.command("/about", "", channel=CHANNEL)
    assert _says_about(bot.responses()[-1], "meta-llama/Llama-3.3-70B-Instruct")
    await bot.command("/hfchat", "about", channel=CHANNEL)
    assert _says_about(bot.responses()[-1], "meta-llama/Llama-3.3-70B-Instruct")

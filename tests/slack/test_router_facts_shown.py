"""What the router really did, as a Slack user sees it: the provider that served the answer (from the router's
`x-inference-provider` header), only the model that answered credited after a failover, one message when every
model failed, and a provider's own words for an error it wrote into the stream."""

from __future__ import annotations

from tests.fakes.fake_router import Recording, Status, text_script
from tests.support.slack import CHANNEL, visible

LLAMA, QWEN = "meta-llama/Llama-3.3-70B-Instruct", "Qwen/Qwen3-32B"


def _footer(message) -> str:
    return " ".join(
        element.get("text", "")
        for block in message.blocks or []
        if block.get("type") == "context"
        for element in block.get("elements", [])
    )


async def _ask(bot, question: str):
    post = await bot.fake.user_posts(question, channel=CHANNEL)
    await bot.settle()
    [answer] = bot.answers(CHANNEL, post.ts)
    return answer


async def test_the_footer_names_the_provider_the_router_reported(bot):
    bot.router.provider_header = "groq"
    bot.router.queue(text_script("Served by groq."))
    answer = await _ask(bot, "who serves you?")
    assert _footer(answer) == f"{LLAMA} via groq"


async def test_after_a_failover_only_the_model_that_answered_is_credited(bot):
    bot.router.queue([Status(503)], model=LLAMA)
    bot.router.queue(text_script("Qwen here."), model=QWEN)
    answer = await _ask(bot, "hello")
    text = visible(answer)
    assert text.startswith("Qwen here.") and f"`{QWEN}` answered instead" in text
    assert _footer(answer).startswith(QWEN)


async def test_when_every_model_fails_one_message_says_so_and_credits_none(bot):
    bot.router.queue([Status(503)], model=LLAMA)
    for _ in range(3):
        bot.router.queue([Status(502)], model=QWEN)
    bot.router.default_script = [Status(502)]  # the rest of omni's default route, should it be asked
    answer = await _ask(bot, "hello")
    text = visible(answer)
    assert text.count("⚠️") == 1 and "None of the models could answer" in text and "answered instead" not in text
    assert LLAMA not in _footer(answer) and QWEN not in _footer(answer)


async def test_a_providers_error_inside_the_stream_is_shown_in_its_words(bot):
    bot.router.queue([Recording.named("groq-event-error-tool-use-failed.sse")], model=LLAMA)
    answer = await _ask(bot, "search something")
    text = visible(answer)
    assert "«Failed to call a function." in text and "connection to the model was cut" not in text

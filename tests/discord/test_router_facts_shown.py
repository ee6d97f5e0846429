"""What the router really did, as a Discord user sees it (SimCord): only the model that answered credited after a
failover, one message when every model failed, a provider's own words for an error inside its stream."""

from __future__ import annotations

import pytest

from tests.fakes.fake_router import Recording, Status, text_script

LLAMA, QWEN = "meta-llama/Llama-3.3-70B-Instruct", "Qwen/Qwen3-32B"


@pytest.fixture(autouse=True)
def _router_on_env(env, fake_router):
    env.fake_router = fake_router


async def _answer(world) -> str:
    await world.alice.slash(world.channel, "chat", prompt="hello")
    [thread] = world.channel.threads
    return thread.last_message.content


async def test_after_a_failover_only_the_model_that_answered_is_credited(env, world, fake_router):
    fake_router.queue([Status(503)], model=LLAMA)
    fake_router.queue(text_script("Qwen here.", pieces=1), model=QWEN)
    text = await _answer(world)
    assert text.startswith("Qwen here.") and f"`{QWEN}` answered instead" in text and text.count("instead") == 1


async def test_when_every_model_fails_one_message_says_so(env, world, fake_router):
    fake_router.queue([Status(503)], model=LLAMA)
    # the stand-in refuses the request inside its stream (nothing to retry, nothing to wait for)
    fake_router.queue([Recording.named("hf-inference-tgi-validation-error.sse")], model=QWEN)
    text = await _answer(world)
    assert text.count("⚠️") == 1 and "None of the models could answer" in text and "answered instead" not in text


async def test_a_providers_error_inside_the_stream_is_shown_in_its_words(env, world, fake_router):
    fake_router.queue([Recording.named("hf-inference-tgi-validation-error.sse")], model=LLAMA)
    text = await _answer(world)
    assert "must be <= 4096" in text and "connection to the model was cut" not in text

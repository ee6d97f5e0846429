"""Omni (a virtual model routing per message) and failover before the first token."""

import pytest

from core.errors import RouterError
from core.models.omni import failover_stream, pick_route, route_models
from core.records import MessageStatus, Scope
from core.router.client import ChatRequest, TextDelta
from tests.fakes.fake_router import Cut, Status, chunk, text_script
from tests.support.chat import ADMIN, ALICE, KEY, ask

QWEN = "Qwen/Qwen3-32B"
LLAMA = "meta-llama/Llama-3.3-70B-Instruct"
GEMMA = "google/gemma-3-27b-it"


@pytest.fixture
async def omni(core_factory, fake_router):
    return await core_factory(
        fake_router.url,
        default_model="omni",
        omni_default_models=f"{QWEN}, {LLAMA}",
        omni_vision_models=f"{QWEN},{GEMMA}",  # Qwen is text-only in the catalog: skipped on this route
        omni_tools_models=LLAMA,
    )


def test_route_policy():
    assert pick_route() == "default"
    assert pick_route(tools_enabled=True) == "tools"
    assert pick_route(has_images=True, tools_enabled=True) == "vision"


async def test_route_models_skip_unknown_and_text_only(core):
    assert route_models("default", f"nope/model, {QWEN}, omni, {QWEN}", core.catalog) == [QWEN]
    assert route_models("vision", f"{QWEN},{GEMMA}", core.catalog) == [GEMMA]
    assert route_models("default", "nope/a,nope/b", core.catalog) == ["nope/a", "nope/b"]  # all unknown: trust config


async def test_omni_is_selectable_and_answers_with_the_default_route(core, fake_router):
    assert await core.chat.preferences.set_model(ALICE, KEY, Scope.USER, "Omni") == "omni"
    assert (await core.chat.preferences.model_choice(KEY, "alice")).model == "omni"
    fake_router.queue(text_script("routed"))
    _, _, out = await ask(core, "hello")
    # the default route's first model the router serves (gpt-oss is not in the fake router's list)
    assert fake_router.requests[-1]["model"] == LLAMA
    assert f"omni · default route → `{LLAMA}`" in out.texts()[-1]


async def test_default_model_omni_from_config(omni, fake_router):
    assert (await omni.chat.preferences.model_choice(KEY, "alice")).model == "omni"
    _, outcome, out = await ask(omni, "hi")
    assert [r["model"] for r in fake_router.requests] == [QWEN]
    assert outcome.state.model == QWEN and "default route" in out.texts()[-1]


@pytest.mark.parametrize("status", [500, 503, 429, 404])
async def test_failover_before_the_first_token(omni, fake_router, status):
    fake_router.queue([Status(status)], model=QWEN)
    fake_router.queue(text_script("The fallback answers."), model=LLAMA)
    _, outcome, out = await ask(omni, "hello")
    assert [r["model"] for r in fake_router.requests] == [QWEN, LLAMA]  # no retry of Qwen: Llama was waiting
    final = out.texts()[-1]
    assert final.startswith("The fallback answers.")
    assert f"`{QWEN}` could not answer" in final and f"`{LLAMA}` answered instead" in final
    stored = await omni.store.get_message(outcome.reply_id)
    assert stored.model == LLAMA and stored.status == MessageStatus.COMPLETE
    assert out.calls[-1].view.model == LLAMA  # the footer names the model that answered


@pytest.mark.parametrize(("status", "words"), [(401, "HF_TOKEN"), (402, "credits")])
async def test_account_errors_are_not_failed_over(omni, fake_router, status, words):
    fake_router.queue([Status(status)], model=QWEN)
    _, outcome, out = await ask(omni, "hello")
    assert [r["model"] for r in fake_router.requests] == [QWEN]
    assert words in out.texts()[-1] and outcome.state.status == MessageStatus.ERROR


async def test_no_failover_after_the_first_token(omni, fake_router):
    fake_router.queue([chunk("Half an ans"), Cut()], model=QWEN)
    _, outcome, out = await ask(omni, "hello")
    assert [r["model"] for r in fake_router.requests] == [QWEN]
    assert outcome.state.status == MessageStatus.ERROR and out.texts()[-1].startswith("Half an ans")


async def test_every_model_failing_shows_the_last_error(omni, fake_router):
    fake_router.queue([Status(503)], model=QWEN)
    for _ in range(3):  # the last model keeps the client's retries
        fake_router.queue([Status(404)], model=LLAMA)
    _, outcome, out = await ask(omni, "hello")
    assert outcome.state.status == MessageStatus.ERROR
    final = out.texts()[-1]
    assert "None of the models could answer" in final and "not available" in final
    assert "answered instead" not in final  # the stand-in produced nothing: it is not credited


async def test_tools_route_for_an_assistant_that_may_search(omni, fake_router):
    await omni.chat.assistants.create(ALICE, KEY, "Researcher", web_search=True)
    await omni.chat.assistants.use(ALICE, KEY, "Researcher")
    _, _, out = await ask(omni, "look it up")
    assert fake_router.requests[-1]["model"] == LLAMA
    assert "tools route" in out.texts()[-1]


async def test_admin_overrides_a_route_per_channel(omni, fake_router):
    await omni.chat.preferences.set_option(ADMIN, KEY, Scope.CHANNEL, "omni_default", f"{GEMMA}, {LLAMA}")
    await ask(omni, "hi")
    assert fake_router.requests[-1]["model"] == GEMMA
    with pytest.raises(Exception, match="not a model"):
        await omni.chat.preferences.set_option(ADMIN, KEY, Scope.CHANNEL, "omni_default", "nope/missing")


async def test_failover_stream_directly(core, fake_router):
    fake_router.queue([Status(503)], model="a/one")
    fake_router.queue(text_script("two here"), model="a/two")
    seen = []
    request = ChatRequest("ignored", [{"role": "user", "content": "x"}], 32)
    events = [
        e async for e in failover_stream(core.router, request, ["a/one", "a/two"], lambda *args: seen.append(args))
    ]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "two here"
    [(failures, answered_by)] = seen
    assert [model for model, _ in failures] == ["a/one"] and isinstance(failures[0][1], RouterError)
    assert answered_by == "a/two"

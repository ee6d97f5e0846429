"""A conversation is never sent more than the window of whoever may serve it: with the router choosing the provider,
the smallest live provider's window; with one pinned (`model:provider`, or the provider setting), that provider's."""

from __future__ import annotations

from core.models.catalog import context_range
from core.records import Scope
from tests.fakes.fake_router import text_script
from tests.support.chat import ALICE, KEY, ask

TWO = "org/two-windows"  # providers: wide 65,536, narrow 4,096, broken (down) 1,024, one without a window


def test_the_catalog_counts_the_smallest_live_window_unless_a_provider_is_pinned(core):
    catalog = core.catalog
    assert catalog.context_window(TWO) == 4096
    for policy in ("fastest", "cheapest", "preferred"):
        assert catalog.context_window(f"{TWO}:{policy}") == 4096  # any provider may still serve it
    assert catalog.context_window(f"{TWO}:wide") == 65536
    assert catalog.context_window(f"{TWO}:narrow") == 4096
    assert catalog.context_window(f"{TWO}:unknown-window") == 4096  # its window is unknown: the safe one
    assert context_range(catalog.get(TWO)) == "4,096–65,536 tokens"
    assert context_range(catalog.get("meta-llama/Llama-3.3-70B-Instruct")) == "131,072 tokens"


async def _long_conversation(core, fake_router) -> None:
    await core.chat.preferences.set_model(ALICE, KEY, Scope.USER, TWO)
    for turn in range(6):  # ~6 × 2,000 tokens: more than 4,096, well within 65,536
        fake_router.queue(text_script(f"answer {turn}"))
        await ask(core, f"question {turn} " + "word " * 1200)


async def test_with_the_router_choosing_the_provider_the_smallest_window_is_respected(core, fake_router):
    await _long_conversation(core, fake_router)
    sent = fake_router.requests[-1]
    estimated = sum(len(m["content"]) for m in sent["messages"]) // 3 + sent["max_tokens"]
    assert estimated <= 4096
    assert len(sent["messages"]) < 11  # older turns were left out


async def test_a_pinned_provider_gets_its_own_window(core, fake_router):
    await core.chat.preferences.set_option(ALICE, KEY, Scope.USER, "provider", "wide")
    await _long_conversation(core, fake_router)
    sent = fake_router.requests[-1]
    assert sent["model"] == f"{TWO}:wide"
    assert len([m for m in sent["messages"] if m["role"] != "system"]) == 11  # everything fits in 65,536

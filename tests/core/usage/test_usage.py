"""Usage: the store's daily totals on both backends, pricing from the router, `/usage` in the console."""

import io
import time

import pytest
from rich.console import Console

from bots.console.app import ConsoleApp
from core.errors import NotAllowed
from core.keys import ConversationKey
from core.records import UsageRow
from core.usage.accounting import format_usage, price, summarize
from tests.fakes.fake_router import FakeRouter, text_script
from tests.support.chat import ADMIN, ALICE, BOB, KEY, ask

LLAMA = "meta-llama/Llama-3.3-70B-Instruct"
QWEN = "Qwen/Qwen3-32B"


async def test_store_usage_rows_per_day_user_model_provider(store):
    await store.record_usage("discord", "g1", "u1", None, LLAMA, 100, 10, provider="groq")
    await store.record_usage("discord", "g1", "u1", None, LLAMA, 50, 5, provider="groq")
    await store.record_usage("discord", "g1", "u2", None, QWEN, 7, 3)
    await store.record_usage("discord", "g2", "u1", None, QWEN, 1, 1, provider="cerebras")
    await store.record_usage("slack", "g1", "u1", None, QWEN, 1000, 1000)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    rows = await store.usage_rows("discord", workspace="g1")
    assert sorted(rows, key=lambda r: r.user_id) == [
        UsageRow(today, "u1", LLAMA, "groq", 150, 15, 2),
        UsageRow(today, "u2", QWEN, "", 7, 3, 1),
    ]
    mine = await store.usage_rows("discord", user_id="u1")
    assert {(r.model, r.provider, r.requests) for r in mine} == {(LLAMA, "groq", 2), (QWEN, "cerebras", 1)}
    assert await store.usage_rows("discord", since=time.time() + 60) == []


def test_pricing_uses_the_provider_or_an_estimate(core):
    assert price(core.catalog, LLAMA, "groq") == ((0.59, 0.79), False)
    assert price(core.catalog, f"{LLAMA}:groq", "") == ((0.59, 0.79), False)
    assert price(core.catalog, LLAMA, "someone-else") == ((0.59, 0.79), True)  # the average of priced ones
    assert price(core.catalog, QWEN, "cerebras") == (None, False)  # the router gives no price
    rows = [
        UsageRow("2026-01-01", "u1", LLAMA, "groq", 1_000_000, 1_000_000, 3),
        UsageRow("2026-01-02", "u2", f"{LLAMA}:fastest", "groq", 0, 1_000_000, 1),
        UsageRow("2026-01-02", "u1", QWEN, "", 500, 500, 1),
    ]
    summary = summarize(rows, core.catalog, "Usage", 30)
    assert [line.label for line in summary.by_model] == [LLAMA, QWEN]  # the suffix is folded into the model
    assert summary.by_model[0].cost == pytest.approx(0.59 + 0.79 + 0.79)
    assert not summary.by_model[1].priced and not summary.total.priced
    assert [line.label for line in summary.by_day] == ["2026-01-01", "2026-01-02"]
    text = format_usage(summary, people=True, user_names={"u1": "Alice"})
    assert "`Alice`" in text and "no price" in text and "~$2.1700" in text


async def test_usage_for_a_person_and_for_admins(core_factory):
    async with FakeRouter(provider_header="groq") as router:
        core = await core_factory(router.url)
        router.queue(text_script("one"))
        await ask(core, "hello")
        await ask(core, "hello again", BOB)
        await ask(core, "elsewhere", key=ConversationKey("test", "W2", "C1", "T1"))
        mine = await core.chat.usage.for_user(ALICE)
        assert (mine.total.prompt_tokens, mine.total.completion_tokens, mine.total.requests) == (22, 14, 2)
        assert mine.by_model[0].label == LLAMA
        assert mine.total.cost == pytest.approx((22 * 0.59 + 14 * 0.79) / 1e6) and not mine.total.estimated
        with pytest.raises(NotAllowed):
            await core.chat.usage.for_workspace(ALICE, KEY)
        workspace = await core.chat.usage.for_workspace(ADMIN, KEY)
        assert {line.label: line.requests for line in workspace.by_user} == {"alice": 1, "bob": 1}
        assert len(workspace.by_day) == 1 and workspace.by_day[0].requests == 2


async def test_console_usage(core, fake_router):
    out = io.StringIO()
    app = ConsoleApp(core, Console(file=out, width=200, color_system=None), user="carol")
    await app.start()
    await app.handle_line("/usage")
    await app.handle_line("hello")
    await app.handle_line("/usage 7")
    await app.handle_line("/usage workspace")
    text = out.getvalue()
    assert "Your usage, last 30 days: nothing yet." in text
    assert "Your usage, last 7 days" in text and "**" not in text  # a table, not Markdown
    total = next(line for line in text.splitlines() if "│ total" in line)
    assert [cell.strip() for cell in total.split("│")[1:5]] == ["total", "1", "11", "7"]
    assert "Workspace usage" in text and "by person" in text and "carol" in text  # the console user is the admin


async def test_a_provider_that_reports_no_usage_is_counted_from_the_text_and_marked(core, fake_router):
    import json

    from tests.fakes.fake_router import Recording

    fake_router.queue([Recording.named("sambanova-no-usage.sse")])  # a real stream with no usage at all
    submitted, outcome, _ = await ask(core, "What is deep learning?")
    reply = await core.store.get_message(outcome.reply_id)
    assert reply.completion_tokens and reply.completion_tokens > 0 and reply.prompt_tokens > 0
    assert reply.extra.get("usage_estimated") is True
    mine = await core.chat.usage.for_user(ALICE)
    assert mine.total.requests == 1 and mine.total.counted and mine.total.completion_tokens == reply.completion_tokens
    text = format_usage(mine)
    assert "≈" in text and "counted from the text (estimated)" in text
    exported = json.loads(await core.chat.conversations.export_json(submitted.conversation.id, ALICE))
    assert exported["messages"][-1]["usage_estimated"] is True

    fake_router.queue(text_script("with usage"))  # the provider's own figures win, unmarked
    _, outcome, _ = await ask(core, "again")
    reply = await core.store.get_message(outcome.reply_id)
    assert (reply.prompt_tokens, reply.completion_tokens) == (11, 7) and "usage_estimated" not in reply.extra
    rows = await core.store.usage_rows("test")
    assert [(r.requests, r.estimated) for r in rows] == [(2, 1)]  # one of the two answers was counted

"""Tool progress in Slack, as it happens: on a native stream each web search and page read is a `task_update` chunk
(title, status, the pages read as `sources`), sent while the tool runs and again when it ends; on the edit path a
compact status line under the text; a call that failed is an `alert` block under the answer. Against the fake
Slack over the wire (which refuses malformed chunks and blocks) and a loopback web."""

from __future__ import annotations

import pytest

from core.keys import Actor, ConversationKey
from core.records import Scope
from tests.fakes.fake_router import text_script, tool_calls_script
from tests.fakes.slack import FakeSlack
from tests.support.slack import CHANNEL, running_bot, visible
from tests.support.web import serving

ANSWER = "Paris has about 2.1 million inhabitants."


@pytest.fixture
async def loopback_web():
    async with serving(("searxng", "paris")) as site_web:
        yield site_web


def _searching(core_factory, base: str):
    async def make(router_url: str):
        core = await core_factory(
            router_url,
            web_search_provider="searxng",
            searxng_url=base,
            web_fetch_allow_networks="127.0.0.1/32",
            web_fetch_timeout=1.0,
            web_fetch_pages=1,
        )
        return core

    return make


async def _web_search_on(bot, fake: FakeSlack) -> None:
    actor = Actor("slack", fake.default_user_id, "", fake.team_id)
    key = ConversationKey("slack", fake.team_id, CHANNEL, "0")
    await bot.core.chat.preferences.set_option(actor, key, Scope.USER, "web_search", "on")


def _queue(fake_router, base: str) -> None:
    # one round of two calls: a search (reads the Paris page) and a link that cannot be read (not http)
    fake_router.queue(
        tool_calls_script(("web_search", {"query": "population of Paris"}), ("fetch_url", {"url": "ftp://x.test/a"}))
    )
    fake_router.queue(text_script(ANSWER, pieces=4, delay=0.05))


def _tasks(call) -> list[dict]:
    return [c for c in call.params.get("chunks") or [] if c.get("type") == "task_update"]


async def test_native_stream_shows_each_tool_call_as_a_task(core_factory, fake_router, loopback_web):
    async with FakeSlack(echo_events=True) as fake:
        async with running_bot(_searching(core_factory, loopback_web.base), fake_router, fake) as bot:
            await _web_search_on(bot, fake)
            _queue(fake_router, loopback_web.base)
            post = await fake.user_posts("How many people live in Paris?", channel=CHANNEL)
            await bot.settle(15)
            [answer] = bot.answers(CHANNEL, post.ts)

    stream_calls = [c for c in fake.calls() if c.method in ("chat.startStream", "chat.appendStream", "chat.stopStream")]
    assert all(c.ok for c in stream_calls)  # the fake refuses malformed chunks: none were
    updates = [(c, t) for c in stream_calls for t in _tasks(c)]
    by_title = {}
    for call, task in updates:
        by_title.setdefault(task["title"], []).append((call, task))
    search = by_title["🔎 Searching the web for “population of Paris”"]
    reading = next(v for k, v in by_title.items() if k.startswith("📄 Reading"))
    # shown while running, then once more when done: a search with the page it read, a read that failed
    assert [t["status"] for _, t in search] == ["in_progress", "complete"]
    assert f"{loopback_web.base}/paris" in [s["url"] for s in search[1][1]["sources"]]
    assert [t["status"] for _, t in reading] == ["in_progress", "error"] and reading[1][1]["details"]
    # the calls showed up before the answer's text did: the in-progress tasks went with no text at all
    first = search[0][0]
    assert first.method == "chat.startStream" and not (first.params.get("markdown_text") or "").strip()
    assert not any(c.get("type") == "markdown_text" and c["text"].strip() for c in first.params.get("chunks"))
    # the answer's text itself is untouched by the tasks, and the failed call is an alert under it
    assert visible(answer).startswith(ANSWER)
    [alert] = [b for b in answer.blocks if b["type"] == "alert"]
    assert alert["level"] == "error" and "Reading" in alert["text"]["text"]


def _plans(call) -> list[str]:
    return [c["title"] for c in call.params.get("chunks") or [] if c.get("type") == "plan_update"]


async def test_calls_the_model_plans_together_show_as_one_plan_whose_title_follows_them(
    core_factory, fake_router, loopback_web
):
    async with FakeSlack(echo_events=True) as fake:
        async with running_bot(_searching(core_factory, loopback_web.base), fake_router, fake) as bot:
            await _web_search_on(bot, fake)
            _queue(fake_router, loopback_web.base)  # two calls asked for at once, before any text
            post = await fake.user_posts("How many people live in Paris?", channel=CHANNEL)
            await bot.settle(15)
            [answer] = bot.answers(CHANNEL, post.ts)

    stream_calls = [c for c in fake.calls() if c.method in ("chat.startStream", "chat.appendStream", "chat.stopStream")]
    assert all(c.ok for c in stream_calls)  # the fake checks plan_update chunks and the display mode
    start = stream_calls[0]
    assert start.method == "chat.startStream" and start.params["task_display_mode"] == "plan"
    assert answer.stream is not None and answer.stream.task_display_mode == "plan"
    titles = [title for call in stream_calls for title in _plans(call)]
    # the title first, before the tasks it heads, then again only when it changes: both calls done, one failed
    assert start.params["chunks"][0] == {"type": "plan_update", "title": "Working through 2 steps (0 done)"}
    assert titles == ["Working through 2 steps (0 done)", "Done: 2 steps, 1 failed"]
    assert visible(answer).startswith(ANSWER)


async def test_a_single_call_is_a_task_among_the_text_not_a_plan(core_factory, fake_router, loopback_web):
    async with FakeSlack(echo_events=True) as fake:
        async with running_bot(_searching(core_factory, loopback_web.base), fake_router, fake) as bot:
            await _web_search_on(bot, fake)
            fake_router.queue(tool_calls_script(("web_search", {"query": "population of Paris"})))
            fake_router.queue(text_script(ANSWER, pieces=4, delay=0.05))
            post = await fake.user_posts("How many people live in Paris?", channel=CHANNEL)
            await bot.settle(15)
            [answer] = bot.answers(CHANNEL, post.ts)

    stream_calls = [c for c in fake.calls() if c.method in ("chat.startStream", "chat.appendStream", "chat.stopStream")]
    assert all(c.ok for c in stream_calls) and any(_tasks(c) for c in stream_calls)
    assert "task_display_mode" not in stream_calls[0].params
    assert answer.stream is not None and answer.stream.task_display_mode == "timeline"
    assert not any(_plans(c) for c in stream_calls)
    assert visible(answer).startswith(ANSWER)


async def test_edit_path_shows_a_compact_status_line_while_tools_run(core_factory, fake_router, loopback_web):
    loopback_web.release.clear()
    async with FakeSlack(echo_events=True) as fake:
        make = _searching(core_factory, loopback_web.base)
        async with running_bot(make, fake_router, fake, native_streaming=False) as bot:
            await _web_search_on(bot, fake)
            _queue(fake_router, loopback_web.base)
            post = await fake.user_posts("How many people live in Paris?", channel=CHANNEL)
            await bot.settle(15)
            [answer] = bot.answers(CHANNEL, post.ts)

    shown = [
        b["text"]
        for c in fake.calls()
        if c.method in ("chat.postMessage", "chat.update") and c.ok
        for b in c.params.get("blocks") or []
        if b.get("type") == "markdown"
    ]
    status = [t for t in shown if "Searching the web" in t]
    assert status and all("\n" not in t.strip() for t in status)  # one line, both calls on it
    assert all("Reading" in t for t in status)
    assert visible(answer).startswith(ANSWER) and "Searching" not in visible(answer)
    assert [b["level"] for b in answer.blocks if b["type"] == "alert"] == ["error"]

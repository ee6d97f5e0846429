"""Markdown tables in answers drawn as Slack `table` blocks (whether markdown blocks and streamed markdown_text
render pipe tables is reported both ways), in place between the text around them; a table still being streamed is
held back until it can be drawn: on a native stream until it is whole, on the edit path until its separator row
has come. Against the fake Slack over the wire, which checks table blocks as Slack does."""

from __future__ import annotations

import pytest

from core.streaming.tables import open_table_at_end, segments
from tests.fakes.fake_router import text_script
from tests.fakes.slack import FakeSlack
from tests.support.slack import CHANNEL, running_bot, visible

TABLE = "| City | Population |\n| --- | --: |\n| Paris | 2.1 M |\n| Lyon | 0.5 M |\n"
ANSWER = "Two cities:\n\n" + TABLE + "\nParis is the larger."


def test_tables_are_found_outside_code_and_held_back_while_half_written():
    [intro, table, after] = segments(ANSWER)
    assert intro == "Two cities:\n\n" and after == "\nParis is the larger."
    assert table.header == ["City", "Population"] and table.align == [None, "right"] and len(table.rows) == 2
    assert segments("```\n" + TABLE + "```\n") == ["```\n" + TABLE + "```\n"]  # code, not a table
    assert open_table_at_end("Two cities:\n\n| City | Pop") == (13, False)  # a header: maybe a table
    assert open_table_at_end("Two cities:\n\n| City | Population |\n| --- | --: |\n| Par") == (13, True)
    assert open_table_at_end(ANSWER[: ANSWER.index("Paris is") + 3]) is None  # text after it: the table is whole
    assert open_table_at_end("| a | b |\n| c | d |\nx") is None


def _tables_in(call) -> list[dict]:
    blocks = list(call.params.get("blocks") or [])
    blocks += [b for c in call.params.get("chunks") or [] if c.get("type") == "blocks" for b in c["blocks"]]
    return [b for b in blocks if b.get("type") == "table"]


def _pipes_shown(call) -> bool:
    """Whether a request shows table rows as raw Markdown text."""
    texts = [call.params.get("markdown_text") or ""]
    texts += [c["text"] for c in call.params.get("chunks") or [] if c.get("type") == "markdown_text"]
    texts += [b["text"] for b in call.params.get("blocks") or [] if b.get("type") == "markdown"]
    return any("| Paris" in t or "| City" in t for t in texts)


@pytest.mark.parametrize("native", [True, False])
async def test_a_streamed_table_is_drawn_as_a_table_block(core_factory, fake_router, native):
    async with FakeSlack(echo_events=True) as fake:
        async with running_bot(core_factory, fake_router, fake, native_streaming=native) as bot:
            fake_router.queue(text_script(ANSWER, pieces=24, delay=0.04))
            post = await fake.user_posts("compare the cities", channel=CHANNEL)
            await bot.settle()
            [answer] = bot.answers(CHANNEL, post.ts)

    calls = [c for c in fake.calls() if c.method.startswith("chat.") and c.method != "chat.getPermalink"]
    assert all(c.ok for c in calls)  # the fake refuses malformed table blocks: none were
    assert visible(answer) == ANSWER  # byte-exact, the table written back from its block
    assert not any(_pipes_shown(c) for c in calls)  # the rows never showed as raw pipes, not even half-streamed
    drawn = [t for c in calls for t in _tables_in(c)]
    assert drawn and drawn[-1]["rows"][0] == [
        {"type": "raw_text", "text": "City"},
        {"type": "raw_text", "text": "Population"},
    ]
    assert drawn[-1]["column_settings"] == [{"align": "left"}, {"align": "right"}]
    if native:
        # drawn once, whole, as the stream's own chunk, in its place before the last sentence
        [table] = drawn
        assert len(table["rows"]) == 3
        kinds = [p if isinstance(p, str) else p["type"] for p in answer.stream.parts]
        assert kinds.index("table") < max(i for i, k in enumerate(kinds) if k != "table")
    else:
        # while streaming the edit path drew the table as its rows came, never a header without its separator
        assert any(len(t["rows"]) == 2 for t in drawn) and all(len(t["rows"]) >= 1 for t in drawn)

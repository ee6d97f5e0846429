"""Pure helpers: mention neutralising (also across stream chunks), thread links, mention stripping."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from bots.slack.sink import SlackSink
from bots.slack.text import neutralize, parse_thread_link, strip_mention
from bots.slack.tiers import NATIVE_LIMITS

ALPHABET = st.sampled_from(["<", "!", "@", "here", "channel", "everyone", "U1", ">", " ", "a", "|", "^", "sub"])


def _chunked(text: str, cuts: list[int]) -> str:
    sink = SlackSink(None, team="T", channel="C", thread_ts="1", user="U", limits=NATIVE_LIMITS)
    points = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    out = []

    def send(raw: str) -> str:  # what the stream call would carry
        content, _drawn = sink._content("ts", raw, [])
        return content.get("markdown_text", "") + "".join(c.get("text", "") for c in content.get("chunks", []))

    for start, end in itertools.pairwise(points):
        chunk, held = sink._release("ts", text[start:end], final=False)
        out.append(send(chunk))
        sink._commit("ts", chunk, held)
    chunk, _ = sink._release("ts", "", final=True)
    return "".join(out) + send(chunk)


@given(st.lists(ALPHABET, max_size=30).map("".join), st.lists(st.integers(0, 200), max_size=10))
def test_chunked_stream_is_as_safe_as_the_whole(text, cuts):
    streamed = _chunked(text, cuts)
    assert streamed == neutralize(text)
    assert "<!" not in streamed and "<@" not in streamed


def test_neutralize_keeps_ordinary_text():
    assert neutralize("if a < b and c > d: x <= y") == "if a < b and c > d: x <= y"
    assert neutralize("<!here> <@U1> <!subteam^S1>") == "&lt;!here> &lt;@U1> &lt;!subteam^S1>"
    assert neutralize("mail me@example.com, @here") == "mail me@example.com, @\u2060here"


def test_parse_thread_link():
    base = "https://acme.slack.com/archives/C0CHAN0001/p1700000000123456"
    assert parse_thread_link(f"<{base}>") == ("C0CHAN0001", "1700000000.123456", "acme.slack.com")
    assert parse_thread_link(f"{base}?thread_ts=1699999999.000100&cid=C0CHAN0001") == (
        "C0CHAN0001",
        "1699999999.000100",
        "acme.slack.com",
    )
    assert parse_thread_link(f"<{base}>").belongs_to("acme") and not parse_thread_link(base).belongs_to("other")
    assert parse_thread_link("not a link") is None


def test_strip_mention():
    assert strip_mention("<@U0BOT> model x", "U0BOT") == ("model x", True)
    assert strip_mention("hi <@U0OTHER>", "U0BOT") == ("hi <@U0OTHER>", False)

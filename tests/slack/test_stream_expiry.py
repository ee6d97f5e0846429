"""Native streams that outlive Slack's expiry (about 5 minutes): the answer ends a stream before it expires, at a
paragraph break, and goes on in a new message (a code fence open there closed and reopened with its language);
a stream that expires anyway is replayed, and the final text is byte-exact wherever the expiry struck. Against the
fake Slack over the wire, which expires streams (`stream_ttl`, `expire_streams_after`)."""

from __future__ import annotations

import dataclasses
import itertools

from core.streaming.splitting import open_fence_at_end
from tests.fakes.fake_router import text_script
from tests.fakes.slack import FakeSlack
from tests.support.slack import CHANNEL, FAST_NATIVE, running_bot, visible

ANSWER = (
    "First paragraph, said plainly.\n\n"
    "Here is the code:\n\n"
    "```python\n"
    "def add(a, b):\n"
    "    return a + b\n"
    "\n"
    "print(add(2, 3))\n"
    "```\n\n"
    "- a list item\n"
    "- another item\n\n"
    "And the last paragraph, which ends the answer."
)
PIECES = 8


def _stream_calls(fake: FakeSlack, ts: str) -> int:
    return sum(
        1
        for c in fake.calls()
        if c.method in ("chat.startStream", "chat.appendStream")
        and c.ok
        and ts in (c.params.get("ts"), (c.response or {}).get("ts"))
    )


async def test_a_stream_expiring_after_any_chunk_still_ends_byte_exact(core_factory, fake_router):
    async with FakeSlack(echo_events=True) as fake:
        async with running_bot(core_factory, fake_router, fake) as bot:
            fake_router.queue(text_script(ANSWER, pieces=PIECES, delay=0.08))
            post = await fake.user_posts("explain", channel=CHANNEL)
            await bot.settle()
            [plain] = bot.answers(CHANNEL, post.ts)
            assert visible(plain) == ANSWER and plain.stream.state == "stopped"
            chunks = _stream_calls(fake, plain.ts)
            assert chunks >= 4  # the start and several appends: each is a moment the stream can expire after

            for k in range(1, chunks + 1):
                fake.expire_streams_after(k)
                fake_router.queue(text_script(ANSWER, pieces=PIECES, delay=0.08))
                post = await fake.user_posts(f"explain again {k}", channel=CHANNEL)
                await bot.settle()
                [answer] = bot.answers(CHANNEL, post.ts)
                assert answer.stream.state == "expired", k  # the expiry struck this answer's stream
                assert visible(answer) == ANSWER, k  # and what was not confirmed was replayed, byte for byte
                assert any(b.get("block_id", "").startswith("hfchat_done_") for b in answer.blocks or []), k


def _rejoined(texts: list[str]) -> str:
    """The answer from its messages: a fence closed at the end of one and reopened at the start of the next is one."""
    out = texts[0]
    for text in texts[1:]:
        fence = open_fence_at_end(out.removesuffix("```"))
        if fence is not None and out.endswith("\n" + fence.closing) and text.startswith(fence.opening):
            out, text = out.removesuffix(fence.closing), text.removeprefix(fence.opening)
        out += text
    return out


async def test_a_long_stream_is_rotated_at_a_paragraph_break_before_it_expires(core_factory, fake_router):
    # streams expire after 2 s here (Slack: about 5 minutes); the answer streams for about 4.5 s
    native = dataclasses.replace(FAST_NATIVE, stream_rotate_after=1.0, stream_max_age=1.6, file_after_messages=0)
    code = "```python\n" + "".join(f"step_{i} = {i}\n\n" for i in range(12)) + "```\n\n"
    answer = "Intro paragraph.\n\n" + code + "".join(f"Paragraph {i} of the end.\n\n" for i in range(10)) + "Done."
    async with FakeSlack(echo_events=True, stream_ttl=2.0) as fake:
        async with running_bot(core_factory, fake_router, fake, native_limits=native) as bot:
            fake_router.queue(text_script(answer, pieces=45, delay=0.1))
            post = await fake.user_posts("write a long one", channel=CHANNEL)
            await bot.settle(20)
            messages = bot.answers(CHANNEL, post.ts)

    refused = [c for c in fake.calls() if c.method.startswith("chat.") and c.response.get("error")]
    assert not refused  # no stream lived to expire, nothing refused
    assert len(messages) >= 3 and all(m.stream is not None and m.stream.state == "stopped" for m in messages)
    texts = [visible(m) for m in messages]
    assert _rejoined(texts) == answer
    # the code block was cut while open: closed in one message, reopened with its language in the next
    assert any(a.endswith("\n```") and b.startswith("```python\n") for a, b in itertools.pairwise(texts))
    # every message but the last ended at a paragraph break (or a fence closed after one)
    assert all(t.removesuffix("```").endswith("\n\n") for t in texts[:-1])

"""Benchmark: N concurrent answers streaming into one Slack workspace, against the loopback fake Slack.

    python -m bench.slack_streams                 # native streaming, N = 1, 10, 50
    python -m bench.slack_streams --mode edit     # chat.postMessage + chat.update path
    python -m bench.slack_streams --mode both --sizes 1 10

Uses the adapter's real pacing (bots.slack.sink.NATIVE_LIMITS / EDIT_LIMITS) and the fake's Slack-like
rate limits (chat.update 50/min per workspace, chat.postMessage ~1/s per channel). The fake router streams
every answer over a few seconds. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from pathlib import Path

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.web.async_client import AsyncWebClient

from bots.slack.app import build_adapter
from core.app import build_core
from tests.conftest import make_settings
from tests.fakes.fake_router import FakeRouter, text_script
from tests.fakes.slack_server import FakeSlack

ANSWER = " ".join(f"token{i}" for i in range(150)) + " Done."
CHANNELS = 10


def _visible(message) -> str:
    for block in message.blocks or []:
        if block.get("type") == "markdown":
            return block["text"]
    return message.final_text


async def run_once(n: int, mode: str, pieces: int, delay: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeRouter() as router, FakeSlack() as fake:
            for _ in range(n):
                router.queue(text_script(ANSWER, pieces=pieces, delay=delay))
            core = await build_core(make_settings(Path(tmp), router.url))
            client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
            adapter = build_adapter(core, client=client, native_streaming=mode == "native")
            handler = AsyncSocketModeHandler(adapter.app, fake.app_token, web_client=client)
            await handler.connect_async()
            try:
                started = time.monotonic()
                posts = []
                for i in range(n):
                    channel = f"C0BENCH{i % CHANNELS:03d}"
                    posts.append((channel, await fake.user_posts(f"question {i}", channel=channel)))
                await asyncio.sleep(0.2)
                await adapter.idle(within=600)
                elapsed = time.monotonic() - started
                correct = 0
                for channel, post in posts:
                    answers = fake.bot_messages(channel, post.ts)
                    if len(answers) == 1 and _visible(answers[0]) == ANSWER:
                        correct += 1
                return {
                    "n": n,
                    "mode": mode,
                    "seconds": round(elapsed, 1),
                    "chat.postMessage": len(fake.calls("chat.postMessage")),
                    "chat.update": len(fake.calls("chat.update")),
                    "chat.startStream": len(fake.calls("chat.startStream")),
                    "chat.appendStream": len(fake.calls("chat.appendStream")),
                    "chat.stopStream": len(fake.calls("chat.stopStream")),
                    "429s": sum(fake.rate_limited.values()),
                    "all_correct": correct == n,
                    "correct": correct,
                }
            finally:
                await handler.close_async()
                await core.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["native", "edit", "both"], default="native")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--pieces", type=int, default=30, help="chunks per answer")
    parser.add_argument("--delay", type=float, default=0.1, help="seconds between chunks")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    modes = ["native", "edit"] if args.mode == "both" else [args.mode]
    columns = [
        "mode",
        "n",
        "seconds",
        "chat.postMessage",
        "chat.update",
        "chat.startStream",
        "chat.appendStream",
        "chat.stopStream",
        "429s",
        "all_correct",
    ]
    print(" | ".join(columns))
    for mode in modes:
        for n in args.sizes:
            row = await run_once(n, mode, args.pieces, args.delay)
            print(" | ".join(str(row[c]) for c in columns), flush=True)


if __name__ == "__main__":
    asyncio.run(main())

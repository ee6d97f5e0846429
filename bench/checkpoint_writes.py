"""Benchmark: database writes made by streaming answers, with the partial-answer checkpoints.

    python -m bench.checkpoint_writes                      # 10 answers at once, 300 tokens at 30 tokens/s
    python -m bench.checkpoint_writes --answers 1 --tokens 600 --rate 60

Each answer streams through the real chat service into an in-memory sink (1 s between edits, like
Discord's lane) against the loopback fake router; the store is SQLite in a temp file. Rows written are
SQLite's own count (`total_changes`), so every write is counted, not only the checkpoints: the user
message, the answer's row, its checkpoints, the final update. Compared with what saving at every token
would cost. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from pathlib import Path

from core.app import build_core
from core.keys import Actor, ConversationKey
from core.ops import metrics
from core.streaming import PlatformLimits
from tests.fakes.fake_router import FakeRouter, profile_script
from tests.support.settings import make_settings
from tests.support.sinks import RecordingSink


async def run(answers: int, tokens: int, rate: float) -> dict:
    words = [f"word{i} " for i in range(tokens)]
    async with FakeRouter() as router:
        with tempfile.TemporaryDirectory() as tmp:
            core = await build_core(make_settings(Path(tmp), router.url))
            try:
                for _ in range(answers):
                    router.queue(profile_script(words, ttft=0.3, tokens_per_second=rate))
                store = core.store
                before_rows = store.db.total_changes
                before_checkpoints = (
                    metrics.REGISTRY.get_sample_value("hfchat_answer_checkpoints_total", {"platform": "bench"}) or 0.0
                )
                started = time.monotonic()
                submitted = [
                    await core.chat.submit(
                        ConversationKey("bench", "", f"c{i}", "t"),
                        Actor("bench", "u", "u"),
                        "go",
                        RecordingSink(PlatformLimits(max_chars=2000, edit_interval=1.0), lane=i),
                    )
                    for i in range(answers)
                ]
                outcomes = [await s.reply for s in submitted]
                took = time.monotonic() - started
                rows = store.db.total_changes - before_rows
                checkpoints = (
                    metrics.REGISTRY.get_sample_value("hfchat_answer_checkpoints_total", {"platform": "bench"}) or 0.0
                ) - before_checkpoints
            finally:
                await core.close()
    assert all(o.state.answer == "".join(words) for o in outcomes)
    return {
        "answers": answers,
        "tokens_per_answer": tokens,
        "seconds": round(took, 1),
        "rows_written": rows,
        "checkpoint_writes": int(checkpoints),
        "rows_per_second": round(rows / took, 2),
        "rows_per_answer": round(rows / answers, 1),
        "rows_if_saved_per_token": answers * tokens,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=10)
    parser.add_argument("--tokens", type=int, default=300)
    parser.add_argument("--rate", type=float, default=30.0, help="tokens per second")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the fakes' access logs
    for name, value in asyncio.run(run(args.answers, args.tokens, args.rate)).items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()

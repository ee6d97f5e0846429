"""How long a 20-turn conversation takes to load and fit, with 10,000 messages in the database.

    python -m bench.context_fit [--messages 10000] [--runs 100]

Fills a fresh SQLite store (WAL, secure_delete, as in production) with conversations of realistic
message sizes, then times `recent_messages` + `fit_messages` for one 20-turn conversation, and, for
comparison, for a single conversation holding 2,000 messages (where fitting must drop old ones).
Prints the median and p95 over the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from core.keys import ConversationKey
from core.records import StoredMessage
from core.replies.context import fit_messages
from core.replies.pipeline import HISTORY_LIMIT
from core.store.sqlite import SQLiteStore


def _text(rng: random.Random, words: int) -> str:
    return " ".join(
        rng.choice(["model", "token", "thread", "answer", "router", "stream", "llama", "café", "数据"])
        for _ in range(words)
    )


async def _fill(store: SQLiteStore, total: int, rng: random.Random) -> tuple[int, int]:
    big = await store.create_conversation(ConversationKey("bench", "W", "C", "big"), "u1")
    big_messages = min(2000, total // 5)
    for i in range(big_messages):
        role = "user" if i % 2 == 0 else "assistant"
        await store.add_message(big.id, StoredMessage(role=role, content=_text(rng, 60 if role == "user" else 250)))
    remaining, index, target = total - big_messages, 0, None
    while remaining > 0:
        conversation = await store.create_conversation(
            ConversationKey("bench", "W", "C", f"t{index}"), f"u{index % 50}"
        )
        for turn in range(min(40, remaining)):
            role = "user" if turn % 2 == 0 else "assistant"
            await store.add_message(
                conversation.id,
                StoredMessage(
                    role=role,
                    content=_text(rng, 40 if role == "user" else 200),
                    author_id=f"u{index % 50}",
                    author_name="Ann",
                ),
            )
        target = target or conversation.id
        remaining -= 40
        index += 1
    return target, big.id


async def _time(store: SQLiteStore, conversation_id: int, runs: int, window: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        history = await store.recent_messages(conversation_id, HISTORY_LIMIT)
        fit_messages(history, system_prompt="You are helpful.", context_window=window, max_tokens=2048)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _report(label: str, samples: list[float]) -> None:
    samples.sort()
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(f"{label:<48} median {statistics.median(samples):7.3f} ms   p95 {p95:7.3f} ms   (n={len(samples)})")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "bench.db")
        await store.open()
        started = time.perf_counter()
        twenty_turns, big = await _fill(store, args.messages, random.Random(7))
        print(f"filled {args.messages} messages in {time.perf_counter() - started:.1f} s")
        _report("20-turn conversation, 131k context", await _time(store, twenty_turns, args.runs, 131_072))
        _report("20-turn conversation, 8k context (drops some)", await _time(store, twenty_turns, args.runs, 8192))
        _report("2,000-message conversation, 32k context", await _time(store, big, args.runs, 32_768))
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())

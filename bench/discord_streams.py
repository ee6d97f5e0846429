"""Concurrent streamed replies against the loopback fake Discord, with Discord's real limits.

    python bench/discord_streams.py [N ...]        (default: 1 10 50)

For each N: N threads each get a user message at once; the bot streams N answers from the scripted
router (about 4 s of tokens each) under Discord's per-channel limit (5 requests / 5 s per route) and
the production cadence (`DISCORD_LIMITS`: 1 edit per second per channel, ~40 requests/s for the bot).
Prints per N: edits per stream, mean interval between requests in one channel, 429s answered by the
fake, and whether every final message equals the model's answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import itertools

from bots.discord.app import build_bot
from core.app import build_core
from core.config import Settings
from core.keys import ConversationKey
from tests.fakes.discord_server import FakeDiscord, running_client
from tests.fakes.fake_router import FakeRouter, text_script

CREATE = "/channels/{channel_id}/messages"
EDIT = "/channels/{channel_id}/messages/{message_id}"
PIECES, DELAY = 40, 0.1  # 4 s of tokens per answer


async def run(n: int, tmp: Path) -> dict:
    async with FakeRouter() as router, FakeDiscord() as fake:
        answers = [f"Stream {i}. " + " ".join(f"token{j}" for j in range(90)) for i in range(n)]
        for answer in answers:
            router.queue(text_script(answer, pieces=PIECES, delay=DELAY))
        settings = Settings(
            hf_token="hf_bench",
            hf_router_url=router.url,
            default_model="meta-llama/Llama-3.3-70B-Instruct",
            database_url=f"sqlite:///{tmp}/bench-{n}.db",
            local_mode="off",
            model_overrides_file=None,
            _env_file=None,
        )
        core = await build_core(settings)
        try:
            threads, conversation_ids = [], []
            for i in range(n):
                thread = fake.add_thread(fake.default_channel, f"bench {i}")
                key = ConversationKey("discord", fake.default_guild["id"], fake.default_channel["id"], thread["id"])
                conversation = await core.store.create_conversation(key, fake.default_user["id"], f"bench {i}")
                threads.append(thread)
                conversation_ids.append(conversation.id)
            bot = build_bot(core, print_invite=False, guild_ready_timeout=0.05)
            bot_id = fake.bot_user["id"]
            async with running_client(fake, bot):
                started = time.monotonic()
                await asyncio.gather(*(fake.message_create(t["id"], fake.default_user, "go") for t in threads))

                def finals() -> list[str]:
                    return sorted(
                        m.content for t in threads for m in fake.channel_messages(t["id"]) if m.author_id == bot_id
                    )

                with contextlib.suppress(TimeoutError):
                    await fake.wait_until(lambda: finals() == sorted(answers), within=60 + n)
                elapsed = time.monotonic() - started
                # let the answers be stored before the core closes
                await fake.wait_until(lambda: not any(map(core.chat.is_streaming, conversation_ids)), within=30)
            edits, gaps = [], []
            for thread in threads:
                lane = [
                    r
                    for r in fake.requests
                    if r.route in (CREATE, EDIT) and r.params.get("channel_id") == thread["id"] and r.status == 200
                ]
                edits.append(sum(1 for r in lane if r.method == "PATCH"))
                times = [r.time for r in lane]
                gaps += [b - a for a, b in itertools.pairwise(times)]
            return {
                "n": n,
                "edits": statistics.mean(edits),
                "interval": statistics.mean(gaps) if gaps else float("nan"),
                "min_interval": min(gaps) if gaps else float("nan"),
                "429": fake.rate_limit_hits,
                "correct": finals() == sorted(answers),
                "seconds": elapsed,
                "spec_violations": len(fake.spec_violations),
            }
        finally:
            await core.close()


async def main(sizes: list[int]) -> None:
    logging.basicConfig(level=logging.WARNING)
    print(
        f"{'N':>4} {'edits/stream':>13} {'mean interval':>14} {'min interval':>13} {'429s':>5} "
        f"{'final text':>10} {'wall s':>7} {'spec':>5}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            r = await run(n, Path(tmp))
            print(
                f"{r['n']:>4} {r['edits']:>13.1f} {r['interval']:>13.2f}s {r['min_interval']:>12.2f}s {r['429']:>5} "
                f"{'ok' if r['correct'] else 'WRONG':>10} {r['seconds']:>7.1f} {r['spec_violations']:>5}",
                flush=True,
            )


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:]] or [1, 10, 50]))

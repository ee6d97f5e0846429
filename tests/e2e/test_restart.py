"""Killed mid-answer: real `hfchat run` processes on PostgreSQL are sent SIGKILL or SIGTERM; a restart marks
INTERRUPTED only the replies of dead processes, never a live one's. The store contract behind it is in
tests/core/store/test_restart.py.
"""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from tests.fakes.slack import FakeSlack
from tests.support.processes import BotProcess, bot_env
from tests.support.router import EchoRouter
from tests.support.stores import PG_URL, fresh_schema
from tests.support.waits import wait_until

CHANNEL = "C0CHAN0001"


@pytest.mark.postgres
async def test_sigkill_mid_answer_then_restart(tmp_path):
    async with fresh_schema() as schema, FakeSlack() as fake, EchoRouter(pieces=40, delay=0.15) as router:
        # long heartbeats: what marks the dead process's answer is the restart, not a neighbour's sweep
        env = bot_env(fake, router, PG_URL, DATABASE_SCHEMA=schema, WORKER_HEARTBEAT_SECONDS="60")
        doomed, survivor = BotProcess("doomed", env, tmp_path), BotProcess("survivor", env, tmp_path)
        await asyncio.gather(doomed.start(), survivor.start())
        restarted = None
        try:
            first = fake.build_app_mention("first question", channel=CHANNEL)
            second = fake.build_app_mention("second question", channel=CHANNEL)
            assert (await fake.http_send(doomed.url, first)).status == 200
            assert (await fake.http_send(survivor.url, second)).status == 200
            conn = await _connect(schema)
            try:

                async def both_streaming():
                    rows = await conn.fetch(
                        "SELECT id, platform_message_id FROM messages WHERE role='assistant' AND status='streaming'"
                    )
                    return len(rows) == 2 and all(r["platform_message_id"] for r in rows) and rows

                await wait_until(both_streaming, what="both answers to be on Slack")
                doomed.send_signal(signal.SIGKILL)
                assert await doomed.wait() == -signal.SIGKILL
                restarted = await BotProcess("doomed", env, tmp_path).start()

                first_reply = fake.bot_messages(CHANNEL, first["ts"])
                await wait_until(
                    lambda: first_reply[0].stream.state == "stopped", what="the cut answer to be closed on Slack"
                )
                assert "interrupted" in first_reply[0].final_text
                assert {b.get("type") for b in first_reply[0].blocks or []} >= {"actions"}

                async def settled():
                    return await conn.fetch(
                        "SELECT m.role, m.content, m.status, c.thread FROM messages m"
                        " JOIN conversations c ON c.id = m.conversation_id"
                        " WHERE m.status <> 'streaming' ORDER BY m.id"
                    )

                rows = await wait_until(
                    lambda: _when(settled, lambda r: len(r) == 4), within=20, what="the survivor's answer"
                )
            finally:
                await conn.close()
        finally:
            await asyncio.gather(
                survivor.stop(), doomed.stop(), *([restarted.stop()] if restarted else []), return_exceptions=True
            )

    by_thread = {(r["thread"], r["role"]): r for r in rows}
    assert by_thread[(first["ts"], "user")]["content"] == "first question"
    assert by_thread[(second["ts"], "user")]["content"] == "second question"
    assert by_thread[(first["ts"], "assistant")]["status"] == "interrupted"
    cut = by_thread[(first["ts"], "assistant")]["content"]
    assert cut and EchoRouter.answer_for("first question").startswith(cut)  # what it had written was saved
    # the live neighbour's answer was never touched: it finished whole
    assert by_thread[(second["ts"], "assistant")]["status"] == "complete"
    assert by_thread[(second["ts"], "assistant")]["content"] == EchoRouter.answer_for("second question")
    assert "marked 1 answers interrupted" in restarted.log_text()


@pytest.mark.postgres
async def test_sigterm_lets_answers_finish(tmp_path):
    async with fresh_schema() as schema, FakeSlack() as fake, EchoRouter(pieces=10, delay=0.1) as router:
        env = bot_env(fake, router, PG_URL, DATABASE_SCHEMA=schema, SHUTDOWN_GRACE_SECONDS="10")
        bot = await BotProcess("bot", env, tmp_path).start()
        try:
            mention = fake.build_app_mention("graceful question", channel=CHANNEL)
            assert (await fake.http_send(bot.url, mention)).status == 200
            await wait_until(lambda: fake.bot_messages(CHANNEL, mention["ts"]), what="the answer to start")
            bot.send_signal(signal.SIGTERM)
            assert await bot.wait(20) == 0
        finally:
            await bot.stop()
        conn = await _connect(schema)
        try:
            rows = await conn.fetch("SELECT role, content, status FROM messages ORDER BY id")
            workers = await conn.fetchval("SELECT COUNT(*) FROM workers")
        finally:
            await conn.close()
    assert [(r["role"], r["status"]) for r in rows] == [("user", "complete"), ("assistant", "complete")]
    assert rows[1]["content"] == EchoRouter.answer_for("graceful question")
    assert fake.bot_messages(CHANNEL, mention["ts"])[0].stream.state == "stopped"
    assert workers == 0  # it said goodbye


@pytest.mark.postgres
async def test_sigterm_with_no_grace_stops_answers_cleanly(tmp_path):
    async with fresh_schema() as schema, FakeSlack() as fake, EchoRouter(pieces=40, delay=0.2) as router:
        # the last half of a short grace is for stopped answers to send their end: 1 s here (0.5 s of grace left
        # 0.25 s, less than a native stream's own cadence, and the answer was given up as interrupted)
        env = bot_env(fake, router, PG_URL, DATABASE_SCHEMA=schema, SHUTDOWN_GRACE_SECONDS="2")
        bot = await BotProcess("bot", env, tmp_path).start()
        try:
            mention = fake.build_app_mention("impatient question", channel=CHANNEL)
            assert (await fake.http_send(bot.url, mention)).status == 200
            await wait_until(lambda: fake.bot_messages(CHANNEL, mention["ts"]), what="the answer to start")
            started = time.monotonic()
            bot.send_signal(signal.SIGTERM)
            assert await bot.wait(20) == 0
            took = time.monotonic() - started
        finally:
            await bot.stop()
        conn = await _connect(schema)
        try:
            rows = await conn.fetch("SELECT role, content, status FROM messages ORDER BY id")
        finally:
            await conn.close()
    assert took < 8
    assert [(r["role"], r["status"]) for r in rows] == [("user", "complete"), ("assistant", "stopped")]
    assert rows[1]["content"]  # the part already written is kept
    message = fake.bot_messages(CHANNEL, mention["ts"])[0]
    assert message.stream.state == "stopped" and "Stopped" in message.final_text


async def _connect(schema: str):
    import asyncpg

    return await asyncpg.connect(PG_URL, server_settings={"search_path": f'"{schema}"'})


async def _when(fetch, ready):
    value = await fetch()
    return value if ready(value) else None

"""Scheduled prompts with two real `hfchat run` processes on one PostgreSQL schema (Slack in HTTP mode): both look
for due runs five times a second, yet every run happens exactly once (one message in the channel, one answer), and a
schedule survives a restart of both: the run that fell due while they were down is made up once.

Needs PostgreSQL on 127.0.0.1:5432: skipped without it, failed instead when HFCHAT_REQUIRE_POSTGRES=1.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from tests.fakes.slack import FakeSlack
from tests.support.processes import BotProcess, bot_env, bot_processes
from tests.support.router import EchoRouter
from tests.support.stores import PG_URL, fresh_schema
from tests.support.waits import wait_until

pytestmark = pytest.mark.postgres

CHANNEL = "C0CHAN0001"
ROUNDS = 4


async def _connect(schema: str):
    import asyncpg

    return await asyncpg.connect(PG_URL, server_settings={"search_path": f'"{schema}"'})


def runs_posted(fake: FakeSlack) -> list:
    return [m for m in fake.bot_messages(CHANNEL) if not m.is_reply and "Scheduled prompt" in m.final_text]


async def test_each_run_happens_once_across_two_processes_and_a_restart(tmp_path):
    async with fresh_schema() as schema, FakeSlack() as fake, EchoRouter(pieces=2, delay=0.01) as router:
        env = bot_env(fake, router, PG_URL, DATABASE_SCHEMA=schema, SCHEDULE_CHECK_SECONDS="0.2")
        conn = await _connect(schema)
        try:
            async with bot_processes(env, tmp_path, 2) as bots:
                command = fake.build_slash_command("/schedule", '"Morning digest" every day 08:00', channel=CHANNEL)
                response = await fake.http_send(bots[0].url, command, kind="command")
                assert response.status == 200
                await wait_until(lambda: fake.response_url_posts, what="the /schedule answer")
                assert "Scheduled “Morning digest”" in str(fake.response_url_posts[-1]["body"])
                schedule_id = await conn.fetchval("SELECT id FROM schedules")
                for round_ in range(1, ROUNDS + 1):
                    # the run falls due now for both processes at once
                    await conn.execute("UPDATE schedules SET next_run=$1 WHERE id=$2", time.time() - 1, schedule_id)
                    await wait_until(lambda r=round_: len(runs_posted(fake)) >= r, within=15, what=f"run {round_}")
                    await asyncio.sleep(1.0)  # both processes looked at least five times more: a double would show
                    assert len(runs_posted(fake)) == round_
                logs = [bot.log_text() for bot in bots]
            claimed = [len(re.findall(r"schedule \d+: run \d+ claimed", text)) for text in logs]

            # both down; the run due meanwhile is made up once by the first process back
            await conn.execute("UPDATE schedules SET next_run=$1 WHERE id=$2", time.time() - 3600, schedule_id)
            again = await BotProcess("again", env, tmp_path).start()
            try:
                await wait_until(lambda: len(runs_posted(fake)) == ROUNDS + 1, within=20, what="the made-up run")
                await asyncio.sleep(1.0)
            finally:
                await again.stop()
            row = await conn.fetchrow("SELECT runs, next_run FROM schedules WHERE id=$1", schedule_id)
            answers = await conn.fetch(
                "SELECT c.thread, COUNT(*) AS answers FROM messages m JOIN conversations c ON c.id = m.conversation_id"
                " WHERE m.role='assistant' AND m.status='complete' GROUP BY c.thread"
            )
        finally:
            await conn.close()

        posted = runs_posted(fake)
        assert len(posted) == ROUNDS + 1 and row["runs"] == ROUNDS + 1
        assert row["next_run"] > time.time()  # moved on to the next 08:00, not stuck in the past
        # each run's thread holds exactly one answer, to the prompt
        assert sorted(r["thread"] for r in answers) == sorted(m.ts for m in posted)
        assert {r["answers"] for r in answers} == {1}
        for message in posted:
            [answer] = [m for m in fake.bot_messages(CHANNEL, message.ts) if m.ts != message.ts]
            assert EchoRouter.answer_for("Morning digest") in answer.final_text
        assert sum(claimed) == ROUNDS  # each round claimed by one of the two processes
        assert all("Traceback" not in text and "Morning digest" not in text for text in logs)  # no prompt in logs

"""Two real `hfchat run` processes on one PostgreSQL schema, Slack in HTTP mode behind a "load balancer".

Every event goes to both processes (as a balancer retrying would); follow-ups in one thread go to
alternating processes while the previous answer is still streaming. One answer per event, answers in
one conversation never overlap (the advisory conversation lock), nothing is lost, and a setting changed
through one process is what the other uses.

Needs PostgreSQL on 127.0.0.1:5432: skipped without it, failed instead when HFCHAT_REQUIRE_POSTGRES=1.
"""

from __future__ import annotations

import asyncio
import itertools
import re

import pytest

from tests.fakes.slack import FakeSlack
from tests.support.processes import bot_env, bot_processes
from tests.support.router import EchoRouter
from tests.support.stores import PG_URL, fresh_schema
from tests.support.waits import wait_until

pytestmark = pytest.mark.postgres

CHANNEL = "C0CHAN0001"
TEAM = "T0TEAM0001"


def visible(message) -> str:
    for block in message.blocks or []:
        if block.get("type") == "markdown":
            return block["text"]
    return message.final_text


async def _connect(schema: str):
    import asyncpg

    return await asyncpg.connect(PG_URL, server_settings={"search_path": f'"{schema}"'})


async def test_two_processes_share_one_database(tmp_path):
    async with fresh_schema() as schema, FakeSlack() as fake, EchoRouter() as router:
        env = bot_env(fake, router, PG_URL, DATABASE_SCHEMA=schema)
        async with bot_processes(env, tmp_path, 2) as bots:
            questions: list[tuple[str, str]] = []  # (event ts, question)

            async def deliver(event_payload: dict, first: int) -> None:
                """The same signed event to both processes, the second as a balancer's retry while the first is
                still being handled (sent a moment later, so the primary, alternating, usually claims it: with both
                at the same instant one process could win every claim and the check that both answered would be
                luck, as it was 1 run in 3 on a loaded machine)."""
                primary, other = bots[first % 2], bots[(first + 1) % 2]

                async def retry():
                    await asyncio.sleep(0.2)
                    return await fake.http_send(other.url, event_payload, retry_num=1, retry_reason="http_timeout")

                results = await asyncio.gather(fake.http_send(primary.url, event_payload), retry())
                assert [r.status for r in results] == [200, 200]

            def replies() -> list:
                return fake.bot_messages(CHANNEL, root)

            # the opening mention, to both at once
            mention = fake.build_app_mention("question 0", channel=CHANNEL)
            root = mention["ts"]
            questions.append((root, "question 0"))
            await deliver(fake.build_event_callback(mention), 0)

            # follow-ups in the thread, each sent while the previous answer is still being written
            for k in range(1, 5):
                await wait_until(lambda k=k: len(replies()) >= k, what=f"reply {k - 1} to start")
                follow = fake.build_app_mention(f"question {k}", channel=CHANNEL, thread_ts=root)
                questions.append((follow["ts"], f"question {k}"))
                await deliver(fake.build_event_callback(follow), k)

            # a setting changed through process 0 is used by process 1 (once the thread is quiet: an
            # answer waiting for the lock resolves its model when it starts, so it would take it too)
            await wait_until(
                lambda: len(replies()) == 5 and all(m.stream.state == "stopped" for m in replies()),
                within=20,
                what="the first five answers",
            )
            command = fake.build_slash_command("/model", "Qwen/Qwen3-32B", channel=CHANNEL)
            response = await fake.http_send(bots[0].url, command, kind="command")
            assert response.status == 200
            await wait_until(lambda: fake.response_url_posts, what="the /model answer")
            assert "Qwen/Qwen3-32B" in str(fake.response_url_posts[-1]["body"])
            last = fake.build_app_mention("question 5", channel=CHANNEL, thread_ts=root)
            questions.append((last["ts"], "question 5"))
            await deliver(fake.build_event_callback(last), 1)

            conn = await _connect(schema)
            try:

                async def all_answered():
                    return await conn.fetchval(
                        "SELECT COUNT(*) FROM messages WHERE role='assistant' AND status='complete'"
                    ) == len(questions) and all(m.stream and m.stream.state == "stopped" for m in replies())

                await wait_until(all_answered, within=30, what="every answer to complete")
                await asyncio.sleep(0.5)  # a late duplicate would show up here
                rows = await conn.fetch(
                    "SELECT m.role, m.content, m.status, m.platform_message_id, m.model FROM messages m"
                    " JOIN conversations c ON c.id = m.conversation_id"
                    " WHERE c.platform='slack' AND c.workspace=$1 AND c.channel=$2 AND c.thread=$3 ORDER BY m.id",
                    TEAM,
                    CHANNEL,
                    root,
                )
                conversations = await conn.fetchval("SELECT COUNT(*) FROM conversations")
                claimed = await conn.fetchval("SELECT COUNT(*) FROM processed_events")
            finally:
                await conn.close()
            logs = [bot.log_text() for bot in bots]

        # nothing lost, nothing doubled: question, answer, question, answer ... all stored, all complete
        assert conversations == 1
        assert [r["role"] for r in rows] == ["user", "assistant"] * len(questions)
        for (ts, question), user, answer in zip(questions, rows[0::2], rows[1::2], strict=True):
            assert (user["content"], user["platform_message_id"]) == (question, f"{CHANNEL}/{ts}")
            assert (answer["content"], answer["status"]) == (EchoRouter.answer_for(question), "complete")
            assert answer["platform_message_id"]  # where the answer is on Slack
        assert claimed >= 2 * len(questions)  # event ids and message ids, each claimed once

        # one router request and one Slack message per question, in order
        assert len(router.requests) == len(questions)
        assert [visible(m) for m in replies()] == [EchoRouter.answer_for(q) for _, q in questions]
        assert [r["model"] for r in router.requests][-1] == "Qwen/Qwen3-32B"
        assert rows[-1]["model"] == "Qwen/Qwen3-32B"
        assert {r["model"] for r in router.requests[:-1]} == {"meta-llama/Llama-3.3-70B-Instruct"}

        # never interleaved: each stream began after the previous one ended, at the router and on Slack
        intervals = sorted(router.intervals)
        for (_, end, _), (start, _, _) in itertools.pairwise(intervals):
            assert start >= end
        streams = sorted((m.stream.started_at, m.stream.stopped_at) for m in replies())
        for (_, stopped), (started, _) in itertools.pairwise(streams):
            assert started >= stopped

        # both processes really answered, and neither logged what anyone wrote
        answered = [len(re.findall(r"reply \d+ started", text)) for text in logs]
        assert sum(answered) == len(questions) and min(answered) >= 1, answered
        for text in logs:
            assert "question" not in text and "Answer to" not in text
            assert "Traceback" not in text, text

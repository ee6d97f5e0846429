"""Two real `hfchat run` Discord processes on one PostgreSQL schema, against one FakeDiscord.

Sharded as Discord shards (DISCORD_SHARD_COUNT=2, DISCORD_SHARD_IDS=[0] / [1]): each guild's events reach
only the session of shard (guild_id >> 22) % 2 and DMs reach shard 0, so each guild is answered by its
shard's process, exactly once; a setting one process stores is what the other uses; an event the gateway
delivers twice (a RESUME replay) is answered once.

Misconfigured (both processes on shard 0): every event reaches both; the database claim answers each
message once and the advisory conversation lock keeps the answers in one thread from interleaving.

Needs PostgreSQL on 127.0.0.1:5432: skipped without it, failed instead when HFCHAT_REQUIRE_POSTGRES=1.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from pathlib import Path

import pytest

from tests.fakes.discord import FakeDiscord, StoredMessage, guild_id_for_shard, shard_for
from tests.support.processes import DiscordBotProcess, discord_bot_env
from tests.support.router import EchoRouter
from tests.support.stores import PG_URL, fresh_schema
from tests.support.waits import wait_until

pytestmark = pytest.mark.postgres

QWEN = "Qwen/Qwen3-32B"


async def _connect(schema: str):
    import asyncpg

    return await asyncpg.connect(PG_URL, server_settings={"search_path": f'"{schema}"'})


@contextlib.asynccontextmanager
async def running(bots: list[DiscordBotProcess], *, one_by_one: bool = False):
    """Start the processes (in order when one_by_one: the fake then lists their sessions in that order)."""
    try:
        if one_by_one:
            for bot in bots:
                await bot.start(within=40)
        else:
            await asyncio.gather(*(bot.start(within=40) for bot in bots))
        yield bots
    finally:
        await asyncio.gather(*(bot.stop() for bot in bots), return_exceptions=True)


def add_guild(fake: FakeDiscord, shard: int, n: int) -> tuple[dict, dict]:
    guild_id = guild_id_for_shard(shard, 2, n)
    guild = fake.add_guild(f"guild {n} on shard {shard}", owner=fake.guild_owner, guild_id=guild_id)
    fake.add_member(guild, fake.default_user)
    return guild, fake.add_text_channel(guild, "general")


def bot_replies(fake: FakeDiscord, channel_id: str) -> list[StoredMessage]:
    return [m for m in fake.channel_messages(channel_id) if m.author_id == fake.bot_user["id"]]


def got(session, message_id: str) -> bool:
    return any(p["t"] == "MESSAGE_CREATE" and p["d"]["id"] == message_id for p in session.buffer)


def shards_that_got(sessions, message_id: str) -> set[tuple[int, int]]:
    return {tuple(s.shard) for s in sessions if got(s, message_id)}


async def answers(conn) -> list:
    return await conn.fetch(
        "SELECT m.id, m.role, m.content, m.status, m.model, m.worker_id, c.workspace, c.channel, c.thread"
        " FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.platform = 'discord'"
        " ORDER BY m.id"
    )


async def complete_answers(conn) -> int:
    return await conn.fetchval("SELECT COUNT(*) FROM messages WHERE role = 'assistant' AND status = 'complete'")


async def _count_is(conn, expected: int) -> bool:
    return await complete_answers(conn) == expected


def replies_started(log: str) -> int:
    return len(re.findall(r"reply \d+ started", log))


def assert_private_and_clean(bots: list[DiscordBotProcess]) -> None:
    for bot in bots:
        text = bot.log_text()
        assert "question" not in text and "Answer to" not in text  # no user text in the logs
        assert "Traceback" not in text, text


async def test_each_shard_answers_its_own_guilds_once_and_shares_settings(tmp_path: Path):
    async with (
        fresh_schema() as schema,
        FakeDiscord(shard_count=2) as fake,
        EchoRouter(pieces=6, delay=0.06) as router,
    ):
        alice, bot_id = fake.default_user, fake.bot_user["id"]
        guilds = {shard: [add_guild(fake, shard, n) for n in range(2)] for shard in (0, 1)}
        env = discord_bot_env(fake, router, PG_URL, DATABASE_SCHEMA=schema, DISCORD_SHARD_COUNT="2")
        bots = [
            DiscordBotProcess(f"shard{i}", {**env, "DISCORD_SHARD_IDS": f"[{i}]", "WORKER_ID": f"shard{i}"}, tmp_path)
            for i in (0, 1)
        ]
        async with running(bots):
            conn = await _connect(schema)
            try:
                sessions = {s.shard[0]: s for s in fake.sessions.values()}
                assert sorted(s.shard for s in sessions.values()) == [[0, 2], [1, 2]]

                # a mention in every guild (at once), then a follow-up in each thread the bot opened
                opened: dict[str, tuple[int, dict]] = {}  # user message id -> (shard, channel)
                for shard, pairs in guilds.items():
                    for guild, channel in pairs:
                        text = f"<@{bot_id}> question in {guild['name']}"
                        sent = await fake.message_create(channel["id"], alice, text)
                        opened[sent["id"]] = (shard, channel)
                await wait_until(lambda: len(fake.threads()) == 4, within=20, what="a thread per mention")
                threads = {t["parent_id"]: t for t in fake.threads()}
                await wait_until(
                    lambda: all(len(bot_replies(fake, t["id"])) == 1 for t in threads.values()),
                    within=20,
                    what="the first answers",
                )
                followed: dict[str, tuple[int, dict]] = {}
                for shard, pairs in guilds.items():
                    for guild, channel in pairs:
                        thread = threads[channel["id"]]
                        sent = await fake.message_create(thread["id"], alice, f"question 2 in {guild['name']}")
                        followed[sent["id"]] = (shard, thread)
                await wait_until(lambda: _count_is(conn, 8), within=30, what="eight complete answers")

                # each event reached its shard's session only; each guild was answered by that shard's process
                for message_id, (shard, _) in {**opened, **followed}.items():
                    assert shards_that_got(sessions.values(), message_id) == {(shard, 2)}
                rows = await answers(conn)
                assert len(rows) == 16
                for row in rows:
                    if row["role"] == "assistant":
                        assert row["worker_id"] == f"shard{shard_for(row['workspace'], 2)}"
                        assert row["status"] == "complete"
                for guild_id in {r["workspace"] for r in rows}:
                    conversation = [r for r in rows if r["workspace"] == guild_id]
                    assert [r["role"] for r in conversation] == ["user", "assistant"] * 2
                    for question, answer in zip(conversation[0::2], conversation[1::2], strict=True):
                        assert answer["content"] == EchoRouter.answer_for(question["content"])
                for thread in threads.values():
                    shown = [m.content for m in bot_replies(fake, thread["id"])]
                    questions = [r["content"] for r in rows if r["thread"] == thread["id"] and r["role"] == "user"]
                    assert shown == [EchoRouter.answer_for(q) for q in questions]
                assert len(router.requests) == 8
                assert [replies_started(b.log_text()) for b in bots] == [4, 4]

                # a RESUME that replays shard 0's events from its first mention on: nothing is answered again
                first = next(mid for mid, (shard, _) in opened.items() if shard == 0)
                seq = next(p["s"] for p in sessions[0].buffer if p["t"] == "MESSAGE_CREATE" and p["d"]["id"] == first)
                fake.replay_on_resume(sessions[0], seq)
                await fake.drop_connections()
                await wait_until(lambda: fake.resume_count == 2, within=20, what="both shards to resume")
                replayed = {p["d"]["id"] for p in fake.replayed_again if p["t"] == "MESSAGE_CREATE"}
                assert set(opened) & replayed and set(followed) & replayed  # mentions and follow-ups, again
                await asyncio.sleep(2.0)  # a duplicate answer (or thread) would begin within this
                assert len(router.requests) == 8 and len(fake.threads()) == 4
                assert len(await answers(conn)) == 16
                assert all(len(bot_replies(fake, t["id"])) == 2 for t in threads.values())

                # alice's own default model, chosen through shard 1's process, is used by shard 0's process
                channel_b, (guild_a, channel_a) = guilds[1][0][1], guilds[0][1]
                choose = await fake.slash_command(channel_b["id"], alice, "model", {"name": QWEN})
                await wait_until(lambda: choose.callbacks, what="the /model answer")
                assert choose.callbacks[0].data["content"] == f"Your default model is now `{QWEN}`."
                text = f"<@{bot_id}> question 3 in {guild_a['name']}"
                asked = await fake.message_create(channel_a["id"], alice, text)
                dm = fake.add_dm_channel(alice)
                in_dm = await fake.message_create(dm["id"], alice, "question in a DM")
                await wait_until(lambda: _count_is(conn, 10), within=30, what="the answers after /model")
                rows = await answers(conn)
            finally:
                await conn.close()

        assert shards_that_got(sessions.values(), asked["id"]) == {(0, 2)}
        assert shards_that_got(sessions.values(), in_dm["id"]) == {(0, 2)}  # DMs go to shard 0
        late = [r for r in rows[16:] if r["role"] == "assistant"]
        assert [(r["model"], r["worker_id"]) for r in late] == [(QWEN, "shard0"), (QWEN, "shard0")]
        assert [r["model"] for r in router.requests[-2:]] == [QWEN, QWEN]
        assert {r["model"] for r in router.requests[:8]} == {"meta-llama/Llama-3.3-70B-Instruct"}
        assert [m.content for m in bot_replies(fake, dm["id"])] == [EchoRouter.answer_for("question in a DM")]
        assert_private_and_clean(bots)
        fake.assert_clean()


async def test_two_processes_on_the_same_shard_answer_once_and_never_interleave(tmp_path: Path):
    async with (
        fresh_schema() as schema,
        FakeDiscord(shard_count=2) as fake,
        EchoRouter(pieces=8, delay=0.1) as router,
    ):
        alice, owner, bot_id = fake.default_user, fake.guild_owner, fake.bot_user["id"]
        _, channel = add_guild(fake, 0, 0)
        env = discord_bot_env(fake, router, PG_URL, DATABASE_SCHEMA=schema, DISCORD_SHARD_COUNT="2")
        env["DISCORD_SHARD_IDS"] = "[0]"  # both: the misconfiguration
        bots = [DiscordBotProcess(name, {**env, "WORKER_ID": name}, tmp_path) for name in ("first", "second")]
        questions: list[str] = []
        async with running(bots, one_by_one=True):
            first, second = fake.shard_sessions(0)  # in IDENTIFY order: bots[0]'s, then bots[1]'s
            assert first.shard == second.shard == [0, 2]
            conn = await _connect(schema)
            try:
                # the second process's connection lags: only the first gets the admin's /model and question 0
                fake.hold_dispatches(second)
                choose = await fake.slash_command(channel["id"], owner, "model", {"name": QWEN, "scope": "server"})
                await wait_until(lambda: choose.callbacks, what="the /model answer")
                assert choose.callbacks[0].data["content"] == f"This server's default model is now `{QWEN}`."
                questions.append("question 0")
                await fake.message_create(channel["id"], alice, f"<@{bot_id}> question 0")
                await wait_until(lambda: len(fake.threads()) == 1, what="the thread")
                [thread] = fake.threads()
                await wait_until(lambda: bot_replies(fake, thread["id"]), what="answer 0 to start")

                # now the first lags: the second gets the old events (already claimed) and question 1, which
                # it answers only after the first's answer 0 is finished (the advisory lock)
                fake.hold_dispatches(first)
                await fake.release_dispatches(second)
                questions.append("question 1")
                await fake.message_create(thread["id"], alice, "question 1")
                await wait_until(lambda: len(bot_replies(fake, thread["id"])) == 2, within=20, what="answer 1")
                await fake.release_dispatches(first)

                # then both get everything; each follow-up arrives while the previous answer is being written
                for k in range(2, 6):
                    await wait_until(
                        lambda k=k: len(bot_replies(fake, thread["id"])) >= k, within=20, what=f"answer {k - 1}"
                    )
                    questions.append(f"question {k}")
                    await fake.message_create(thread["id"], alice, f"question {k}")
                await wait_until(lambda: _count_is(conn, len(questions)), within=40, what="every answer")
                await asyncio.sleep(1.0)  # a late duplicate would show up here
                rows = await answers(conn)
                claimed = await conn.fetchval("SELECT COUNT(*) FROM processed_events WHERE event_id LIKE 'message:%'")
            finally:
                await conn.close()

        # every event reached both processes
        asked = [p["d"]["id"] for p in first.buffer if p["t"] == "MESSAGE_CREATE" and p["d"]["author"]["id"] != bot_id]
        assert len(asked) == len(questions) and all(got(second, message_id) for message_id in asked)
        # ... and was handled once: one /model response, one thread, one stored question and answer each
        assert len(choose.callbacks) == 1 and len(fake.threads()) == 1
        assert claimed == len(questions)
        assert [r["role"] for r in rows] == ["user", "assistant"] * len(questions)
        for question, user, answer in zip(questions, rows[0::2], rows[1::2], strict=True):
            assert user["content"] == question
            assert (answer["content"], answer["status"], answer["model"]) == (
                EchoRouter.answer_for(question),
                "complete",
                QWEN,  # the server default, set through the first process, used by both
            )
        assert [r["worker_id"] for r in rows[1:4:2]] == ["first", "second"]
        assert {r["worker_id"] for r in rows if r["role"] == "assistant"} <= {"first", "second"}
        replies = bot_replies(fake, thread["id"])
        assert [m.content for m in replies] == [EchoRouter.answer_for(q) for q in questions]
        assert len(router.requests) == len(questions)

        # never interleaved: each answer began after the previous one ended, at the router and on Discord
        intervals = sorted(router.intervals)
        for (_, end, _), (start, _, _) in itertools.pairwise(intervals):
            assert start >= end
        for before, after in itertools.pairwise(replies):
            assert after.history[0].at >= before.history[-1].at
        assert [replies_started(b.log_text()) for b in bots][1] >= 1
        assert sum(replies_started(b.log_text()) for b in bots) == len(questions)
        assert_private_and_clean(bots)
        fake.assert_clean()

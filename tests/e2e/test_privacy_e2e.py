"""The privacy promise end to end, with the real adapters at DEBUG level.

A full Slack conversation and a full Discord conversation carry a canary string (in the prompts and in
the model's answers). It must appear in no log record. After `/delete` and "delete all my data" it must be
gone from the database itself: the SQLite file bytes and its WAL, or every table of the PostgreSQL schema.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import asyncpg
import pytest

from bots.discord.app import build_bot
from core.keys import ConversationKey
from core.streaming import PlatformLimits
from tests.fakes.discord import FakeDiscord, running_client
from tests.fakes.fake_router import text_script
from tests.fakes.slack import FakeSlack
from tests.support.slack import ALICE, CHANNEL, DM, running_bot
from tests.support.stores import PG_URL, fresh_schema

CANARY = "CANARY-privacy-5e1d9c"
FAST = PlatformLimits(max_chars=2000, edit_interval=0.05, bucket_rate=200.0, bucket_burst=50)
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


pytestmark = pytest.mark.usefixtures("no_proxy")


@contextlib.asynccontextmanager
async def _database(backend: str, tmp_path: Path):
    if backend == "sqlite":
        yield {"database_url": f"sqlite:///{tmp_path}/test.db"}
        return
    async with fresh_schema() as schema:
        yield {"database_url": PG_URL, "database_schema": schema}


async def _canary_left(backend: str, options: dict, tmp_path: Path) -> list[str]:
    """Where the canary still is: file names (SQLite) or table names (PostgreSQL)."""
    if backend == "sqlite":
        files = sorted(tmp_path.glob("test.db*"))  # noqa: ASYNC240  (a test's few small files)
        assert files
        return [path.name for path in files if CANARY.encode() in path.read_bytes()]
    conn = await asyncpg.connect(PG_URL, timeout=10)
    try:
        schema = options["database_schema"]
        tables = await conn.fetch("SELECT table_name FROM information_schema.tables WHERE table_schema=$1", schema)
        assert tables
        found = []
        for row in tables:
            name = row["table_name"]
            hits = await conn.fetchval(
                f'SELECT count(*) FROM "{schema}"."{name}" AS t WHERE t::text LIKE $1', f"%{CANARY}%"
            )
            if hits:
                found.append(name)
        return found
    finally:
        await conn.close()


def _logged(debug_logs) -> list[str]:
    return [t for t in debug_logs.texts() if CANARY in t]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_slack_conversation_leaves_no_trace(core_factory, fake_router, tmp_path, debug_logs, backend):
    async with _database(backend, tmp_path) as options:
        core = await core_factory(fake_router.url, log_level="DEBUG", **options)
        async with FakeSlack(echo_events=True) as fake:
            async with running_bot(_reuse(core), fake_router, fake) as bot:
                fake_router.queue(text_script(f"Noted: {CANARY} is safe with me."))
                post = await fake.user_posts(f"remember {CANARY}", channel=CHANNEL, user=ALICE)
                await bot.settle()
                fake_router.queue(text_script(f"Still {CANARY}."))
                await fake.user_posts(f"repeat {CANARY}", channel=CHANNEL, thread_ts=post.ts, user=ALICE, mention=False)
                await bot.settle()
                fake_router.queue(text_script(f"In DMs too: {CANARY}."))
                await fake.user_posts(f"dm {CANARY}", channel=DM, user=ALICE)
                await bot.settle()
                assert CANARY in bot.answer_text(CHANNEL, post.ts)
                assert await _canary_left(backend, options, tmp_path)  # stored while the conversation lives
                # `@bot delete` in the thread, then "delete all my data"
                await fake.user_posts("delete", channel=CHANNEL, thread_ts=post.ts, user=ALICE)
                await bot.settle()
                assert (
                    await bot.core.chat.conversations.for_key(ConversationKey("slack", fake.team_id, CHANNEL, post.ts))
                    is None
                )
                await bot.command("/delete", "all", user=ALICE)
                await bot.interact(
                    fake.build_block_actions(action_id="hfchat_delete_all_confirm", value="all", user=ALICE)
                )
                assert await bot.core.store.list_conversations("slack", ALICE) == []
        assert await _canary_left(backend, options, tmp_path) == []
    assert _logged(debug_logs) == []


def _reuse(core):
    async def factory(_url: str, **_overrides):
        return core

    return factory


@pytest.mark.parametrize("backend", BACKENDS)
async def test_discord_conversation_leaves_no_trace(core_factory, fake_router, tmp_path, debug_logs, backend):
    async with _database(backend, tmp_path) as options:
        core = await core_factory(fake_router.url, log_level="DEBUG", **options)
        async with FakeDiscord() as fake:
            alice = fake.default_user
            bot = build_bot(core, limits=FAST, print_invite=False, guild_ready_timeout=0.05)
            async with running_client(fake, bot):
                # a mention opens a thread; a follow-up in it; a DM conversation
                fake_router.queue(text_script(f"Noted: {CANARY}."))
                await fake.message_create(fake.default_channel["id"], alice, f"<@{fake.bot_user['id']}> keep {CANARY}")
                await fake.wait_until(lambda: len(fake.threads()) == 1)
                [thread] = fake.threads()
                await fake.wait_until(lambda: any(CANARY in m.content for m in fake.channel_messages(thread["id"])))
                await core.chat.replies.wait_idle()
                fake_router.queue(text_script(f"Again {CANARY}."))
                await fake.message_create(thread["id"], alice, f"and {CANARY}?")
                await fake.wait_until(
                    lambda: any(m.content == f"Again {CANARY}." for m in fake.channel_messages(thread["id"]))
                )
                await core.chat.replies.wait_idle()
                dm = fake.add_dm_channel(alice)
                fake_router.queue(text_script(f"DM {CANARY}."))
                await fake.message_create(dm["id"], alice, f"private {CANARY}")
                await fake.wait_until(
                    lambda: any(m.content == f"DM {CANARY}." for m in fake.channel_messages(dm["id"]))
                )
                await core.chat.replies.wait_idle()
                assert await _canary_left(backend, options, tmp_path)

                delete = await fake.slash_command(thread["id"], alice, "delete")
                await fake.wait_until(lambda: delete.acknowledged)
                assert "Deleted" in delete.callbacks[0].data.get("content", "")
                everything = await fake.slash_command(dm["id"], alice, "delete", {"all": True})
                await fake.wait_until(lambda: everything.acknowledged)
                prompt = fake.original_response(everything)
                assert prompt is not None
                click = await fake.component_click(dm["id"], alice, prompt.id, "hfchat:erase")
                await fake.wait_until(lambda: click.acknowledged)
                assert await core.store.list_conversations("discord", alice["id"]) == []
        assert await _canary_left(backend, options, tmp_path) == []
    assert _logged(debug_logs) == []

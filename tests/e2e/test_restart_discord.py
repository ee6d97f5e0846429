"""A real Discord `hfchat run` process killed mid-answer (SIGKILL) against the FakeDiscord, then restarted.

While it streams, the bot saves the partial answer every few seconds; the restart finds the answer left
STREAMING by a dead process, marks it INTERRUPTED and edits its Discord message in place: the saved text,
an "interrupted" notice, and Regenerate / Continue instead of Stop. Regenerate then answers again. An
answer cut after several messages is marked on the last one: tests/discord/test_interrupted.py.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path

from core.replies.interrupted import INTERRUPTED_NOTICE
from tests.fakes.discord import FakeDiscord
from tests.support.discord import buttons
from tests.support.processes import DiscordBotProcess, discord_bot_env
from tests.support.router import EchoRouter
from tests.support.waits import wait_until

QUESTION = "tell me a long story about checkpoints"


def _query(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
        return db.execute(sql).fetchall()


async def query(path: Path, sql: str) -> list[tuple]:
    return await asyncio.to_thread(_query, path, sql)


async def test_sigkill_mid_answer_then_restart_marks_the_message_in_place(tmp_path: Path):
    db_path = tmp_path / "bot.db"
    async with FakeDiscord() as fake, EchoRouter(pieces=60, delay=0.15) as router:
        env = discord_bot_env(fake, router, f"sqlite:///{db_path}")
        doomed = await DiscordBotProcess("doomed", env, tmp_path).start(within=40)
        restarted = None
        try:
            general = fake.default_channel["id"]
            await fake.message_create(general, fake.default_user, f"<@{fake.bot_user['id']}> {QUESTION}")
            await wait_until(lambda: len(fake.threads(general)) == 1, what="the thread for the answer")
            [thread] = fake.threads(general)

            async def saved_partway():
                rows = await query(
                    db_path,
                    "SELECT id, content, platform_message_id FROM messages"
                    " WHERE role='assistant' AND status='streaming'",
                )
                # past the save at the first post: a periodic checkpoint has run
                return rows[0] if rows and len(rows[0][1]) >= 8 and rows[0][2] else None

            reply_id, _, message_id = await wait_until(saved_partway, within=20, what="a checkpoint mid-answer")
            doomed.send_signal(signal.SIGKILL)
            assert await doomed.wait() == -signal.SIGKILL
            [(saved,)] = await query(db_path, f"SELECT content FROM messages WHERE id={reply_id}")
            answer = EchoRouter.answer_for(QUESTION)
            assert answer.startswith(saved) and len(saved) < len(answer)  # what was written, not the whole

            live = fake.message(thread["id"], message_id)
            assert set(buttons(live)) == {"stop"}  # the dead process left it streaming
            restarted = await DiscordBotProcess("restarted", env, tmp_path).start(within=40)
            await wait_until(
                lambda: INTERRUPTED_NOTICE in fake.message(thread["id"], message_id).content,
                within=20,
                what="the message to be marked interrupted",
            )
            marked = fake.message(thread["id"], message_id)
            assert marked.content == f"{saved}\n\n{INTERRUPTED_NOTICE}"  # the saved text, kept, in place
            assert buttons(marked) == {"regen": "Regenerate", "cont": "Continue"}
            assert await query(db_path, f"SELECT content, status FROM messages WHERE id={reply_id}") == [
                (saved, "interrupted")
            ]

            # the restarted process serves the button the dead one left
            regen = f"hfchat:regen:{buttons_conversation(marked)}"
            await fake.component_click(thread["id"], fake.default_user, message_id, regen)

            async def answered_again():
                return await query(db_path, "SELECT content FROM messages WHERE role='assistant' AND status='complete'")

            assert await wait_until(answered_again, within=30, what="the regenerated answer") == [(answer,)]
            await wait_until(
                lambda: any(m.content == answer for m in fake.channel_messages(thread["id"])),
                what="the regenerated answer on Discord",
            )
        finally:
            await asyncio.gather(doomed.stop(), *([restarted.stop()] if restarted else []), return_exceptions=True)
        fake.assert_clean()
    assert "marked 1 answers interrupted" in restarted.log_text()
    for bot in (doomed, restarted):
        text = bot.log_text()
        assert QUESTION not in text and saved not in text  # no user text, no answer text in the logs
        assert "Traceback" not in text, text


def buttons_conversation(message) -> str:
    """The conversation id the message's buttons carry."""
    row = (message.data.get("components") or [])[0]
    return row["components"][0]["custom_id"].split(":")[2]

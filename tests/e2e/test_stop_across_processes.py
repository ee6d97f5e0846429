"""Stop across processes, proved with two real `hfchat run` processes (Slack in HTTP mode, one PostgreSQL schema)
behind a "balancer" that sends each request where it likes: a Stop that reaches the process not writing the answer
stops it within a second, whichever Stop it is (Slack's native Stop, `@bot stop`, the Stop button). Here the bus
is PostgreSQL's LISTEN/NOTIFY (no REDIS_URL); tests/core/replies/test_stop_bus.py also runs it through Redis.

Needs PostgreSQL on 127.0.0.1:5432: skipped without it, failed instead when HFCHAT_REQUIRE_POSTGRES=1.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.fakes.fake_router import FakeRouter, Raw, Sleep, chunk, text_script
from tests.fakes.slack import FakeSlack
from tests.support.processes import bot_env, bot_processes
from tests.support.stores import PG_URL, fresh_schema
from tests.support.waits import wait_until

pytestmark = pytest.mark.postgres

CHANNEL = "C0CHAN0001"
PRIVATE = "G0PRIV0001"  # native streaming refused there: answers are posted and edited, with a Stop button
ALICE = "U0USER0001"
LONG = " ".join(f"word{i}" for i in range(300))


def visible(message) -> str:
    for block in message.blocks or []:
        if block.get("type") == "markdown":
            return block["text"]
    return message.final_text


def thinking_script(pause: float = 8.0) -> list:
    """A little text, then a long think (keep-alive comments): nothing is appended meanwhile, so only a Stop
    passed on by the other process can end it within a second."""
    steps: list = [chunk(""), chunk("Let me think about this carefully. ")]
    for _ in range(int(pause / 0.1)):
        steps += [Sleep(0.1), Raw(b": keep-alive\n\n")]
    return [*steps, chunk("Done."), chunk(finish="stop")]


async def test_a_stop_reaching_the_other_process_stops_the_answer_within_a_second(tmp_path):
    async with (
        fresh_schema() as schema,
        FakeSlack(streaming_unsupported_types={"private"}) as fake,
        FakeRouter() as router,
    ):
        fake.add_channel(PRIVATE, "private", name="secret")
        env = bot_env(fake, router, PG_URL, DATABASE_SCHEMA=schema)
        async with bot_processes(env, tmp_path, 2) as (writer, other):

            async def ask(text: str, channel: str) -> str:
                """A mention that only the writer gets; returns its thread once its answer is on Slack."""
                mention = fake.build_app_mention(text, channel=channel, user=ALICE)
                assert (await fake.http_send(writer.url, fake.build_event_callback(mention))).status == 200
                await wait_until(lambda: fake.bot_messages(channel, mention["ts"]), within=10, what="the answer")
                return mention["ts"]

            async def stopped_within_a_second(sent_at: float, channel: str, thread: str) -> None:
                log = router.streams[-1]
                await wait_until(lambda: log.closed is not None or log.finished is not None, within=10, what="end")
                assert log.finished is None, "the answer ran to its end"
                assert log.closed - sent_at < 1.0, f"stopped after {log.closed - sent_at:.2f}s"
                [answer] = fake.bot_messages(channel, thread)
                await wait_until(lambda: "Stopped" in visible(answer), within=5, what="the stopped answer")

            # 1. Slack's native Stop, delivered to the other process (Slack stops the stream; its event goes
            # wherever the balancer sends it)
            router.queue(thinking_script())
            thread = await ask("think hard", CHANNEL)
            [streaming] = fake.bot_messages(CHANNEL, thread)
            assert streaming.stream is not None and streaming.stream.state == "streaming"
            await fake.user_stops(CHANNEL, thread, user=ALICE, deliver=False)
            event = fake.build_agent_session_stopped(CHANNEL, thread, [streaming.ts], user=ALICE)
            sent_at = time.monotonic()
            assert (await fake.http_send(other.url, fake.build_event_callback(event))).status == 200
            await stopped_within_a_second(sent_at, CHANNEL, thread)
            assert streaming.stream.state == "stopped"  # closed with what was written

            # 2. `@bot stop` in the thread, to the other process
            router.queue(text_script(LONG, pieces=150, delay=0.05))
            thread = await ask("write a lot", CHANNEL)
            stop = fake.build_app_mention("stop", channel=CHANNEL, thread_ts=thread, user=ALICE)
            sent_at = time.monotonic()
            assert (await fake.http_send(other.url, fake.build_event_callback(stop))).status == 200
            await stopped_within_a_second(sent_at, CHANNEL, thread)

            # 3. the Stop button (an edited answer), pressed on the other process
            router.queue(text_script(LONG, pieces=150, delay=0.05))
            thread = await ask("write a lot here", PRIVATE)
            [answer] = fake.bot_messages(PRIVATE, thread)
            await wait_until(lambda: answer.blocks and "hfchat_stop" in str(answer.blocks), what="the Stop button")
            value = next(
                e["value"]
                for b in answer.blocks
                if b["type"] == "actions"
                for e in b["elements"]
                if e["action_id"] == "hfchat_stop"
            )
            press = fake.build_block_actions(
                action_id="hfchat_stop", value=value, channel=PRIVATE, message_ts=answer.ts, user=ALICE
            )
            sent_at = time.monotonic()
            assert (await fake.http_send(other.url, press, kind="interactive")).status == 200
            await stopped_within_a_second(sent_at, PRIVATE, thread)
            assert not any("Nothing is being written" in str(p["body"]) for p in fake.response_url_posts)

            logs = writer.log_text(), other.log_text()
        # the writer wrote all three, the other only passed the Stops on
        assert len(re.findall(r"reply \d+ started", logs[0])) == 3 and not re.findall(r"reply \d+ started", logs[1])
        assert len(re.findall(r"stop from another process in conversation \d+: True", logs[0])) == 3

"""Socket Mode redeliveries (an envelope with retry_attempt > 0, which Slack sends when it saw no ack in time: the
first delivery went to a connection that died, or its ack came late) are processed, once: a retry of an event never
seen is answered, and a retry arriving while the first delivery is still being handled is acked and dropped. The
middleware dedupes by event_id through the store's claim (bots/slack/middleware.py), never by retry_attempt (a
retry after a first handling that failed on the database is tests/slack/test_db_faults.py's)."""

from __future__ import annotations

import asyncio

from tests.fakes.fake_router import text_script
from tests.support.slack import CHANNEL, visible


async def test_a_retry_of_an_event_never_received_is_answered(bot):
    bot.router.queue(text_script("Answered from the retry."))
    event = bot.fake.build_event_callback(bot.fake.build_app_mention("the first delivery was lost", channel=CHANNEL))
    await bot.send(event, retry_attempt=2, retry_reason="timeout")
    await bot.settle()
    ts = event["event"]["ts"]
    assert [visible(m) for m in bot.answers(CHANNEL, ts)] == ["Answered from the retry."]
    assert len(bot.router.requests) == 1


async def test_a_retry_arriving_while_the_first_is_handled_is_acked_and_dropped(bot):
    bot.router.queue(text_script("Only once, slowly.", pieces=6, delay=0.1))
    bot.router.queue(text_script("Twice?!"))
    event = bot.fake.build_event_callback(bot.fake.build_app_mention("slow one", channel=CHANNEL))
    first, retry = await asyncio.gather(
        bot.fake.socket_send_event(event),
        bot.fake.socket_send_event(event, retry_attempt=1, retry_reason="timeout"),
    )
    await asyncio.gather(bot.fake.wait_ack(first), bot.fake.wait_ack(retry))  # both acked: Slack stops retrying
    await bot.settle()
    ts = event["event"]["ts"]
    assert [visible(m) for m in bot.answers(CHANNEL, ts)] == ["Only once, slowly."]
    assert len(bot.router.requests) == 1

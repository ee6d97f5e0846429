"""The database locked under the Slack bot: HTTP mode acknowledges only what is stored, so Slack delivers again;
Socket Mode cannot un-acknowledge, so the person is asked to send it again and nothing is stored."""

from __future__ import annotations

import pytest

from core.chat import NOT_SAVED
from tests.fakes.fake_router import text_script
from tests.fakes.slack import FakeSlack
from tests.support.slack import CHANNEL, running_bot, visible
from tests.support.stores import (
    FAST_RETRY,
    fetch_rows,
    messages_locked,
    pg_url_with_lock_timeout,
)


async def test_slack_http_200_comes_once_the_message_is_stored_and_the_answer_streams_after(core_factory, fake_router):
    from bots.slack.http import serve_http

    async with FakeSlack() as fake:
        async with running_bot(core_factory, fake_router, fake, socket=False, store_before_ack=True) as bot:
            runner = await serve_http(bot.adapter, "127.0.0.1", 0)
            url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
            try:
                fake_router.queue(text_script("A slow answer, long after the 200.", pieces=10, delay=0.15))
                event = fake.build_event_callback(fake.build_app_mention("store me first", channel=CHANNEL))
                response = await fake.http_send(url, event)
                assert response.status == 200
                rows = await fetch_rows(bot.core.store, "SELECT role, content, status FROM messages ORDER BY id")
                assert rows[0] == ("user", "store me first", "complete")  # stored before the 200
                assert rows[1:] == [("assistant", "", "streaming")] or rows[1:] == []  # the answer comes after
                await bot.settle()
                assert [visible(m) for m in bot.answers(CHANNEL, event["event"]["ts"])] == [
                    "A slow answer, long after the 200."
                ]
            finally:
                await runner.cleanup()


async def test_slack_http_database_unavailable_errors_and_the_redelivery_is_answered_once(
    core_factory, fake_router, backend_settings
):
    from bots.slack.http import serve_http

    async def factory(url: str):
        return await core_factory(url, **backend_settings)

    async with FakeSlack() as fake:
        async with running_bot(factory, fake_router, fake, socket=False, store_before_ack=True) as bot:
            store = bot.core.store
            store.retry_policy = FAST_RETRY
            runner = await serve_http(bot.adapter, "127.0.0.1", 0)
            url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
            try:
                event = fake.build_event_callback(fake.build_app_mention("please keep this", channel=CHANNEL))
                async with messages_locked(store):
                    failed = await fake.http_send(url, event)
                assert failed.status >= 500  # not acknowledged: Slack delivers it again
                # SQLite refused the claim itself; PostgreSQL took the claim, failed on the message and gave
                # the claims back. Either way nothing of the message is stored.
                assert await fetch_rows(store, "SELECT role FROM messages") == []
                assert await fetch_rows(store, "SELECT event_id FROM processed_events") == []
                assert await fetch_rows(store, "SELECT title FROM conversations WHERE title <> ''") == []
                assert fake_router.requests == []

                fake_router.queue(text_script("Kept and answered."))
                retried = await fake.http_send(url, event, retry_num=1, retry_reason="http_error")
                again = await fake.http_send(url, event, retry_num=2, retry_reason="http_timeout")
                assert (retried.status, again.status) == (200, 200)
                await bot.settle()
                assert [visible(m) for m in bot.answers(CHANNEL, event["event"]["ts"])] == ["Kept and answered."]
                assert len(fake_router.requests) == 1
                rows = await fetch_rows(store, "SELECT role, content FROM messages ORDER BY id")
                assert rows == [("user", "please keep this"), ("assistant", "Kept and answered.")]
            finally:
                await runner.cleanup()


@pytest.mark.postgres
async def test_slack_socket_mode_asks_to_send_again_and_stores_nothing(core_factory, fake_router, pg_app_schema):
    schema, app_name = pg_app_schema

    async def factory(url: str):
        return await core_factory(url, database_url=pg_url_with_lock_timeout(app_name), database_schema=schema)

    async with FakeSlack() as fake:
        async with running_bot(factory, fake_router, fake) as bot:
            store = bot.core.store
            store.retry_policy = FAST_RETRY
            mention = fake.build_app_mention("a message the database refuses", channel=CHANNEL)
            async with messages_locked(store):
                await bot.send(mention)
                await bot.settle()
            assert NOT_SAVED in bot.ephemeral_texts()
            assert await fetch_rows(store, "SELECT role FROM messages") == []
            assert await fetch_rows(store, "SELECT event_id FROM processed_events") == []  # claims given back
            assert await fetch_rows(store, "SELECT title FROM conversations WHERE title <> ''") == []
            assert fake_router.requests == [] and bot.answers(CHANNEL, mention["ts"]) == []

"""The database locked under the Discord bot: a gateway event cannot be un-acknowledged, so the person is asked to
send it again, and nothing of the message is stored."""

from __future__ import annotations

import pytest

from core.chat import NOT_SAVED
from tests.fakes.discord import FakeDiscord, running_client
from tests.support.stores import (
    FAST_RETRY,
    fetch_rows,
    messages_locked,
    pg_url_with_lock_timeout,
)


@pytest.mark.postgres
async def test_discord_asks_to_send_again_and_stores_nothing(core_factory, fake_router, pg_app_schema):
    from bots.discord.app import build_bot

    schema, app_name = pg_app_schema
    core = await core_factory(fake_router.url, database_url=pg_url_with_lock_timeout(app_name), database_schema=schema)
    core.store.retry_policy = FAST_RETRY
    async with FakeDiscord() as fake:
        bot = build_bot(core, print_invite=False, guild_ready_timeout=0.05)
        async with running_client(fake, bot):
            channel = fake.default_channel["id"]
            async with messages_locked(core.store):
                sent = await fake.message_create(channel, fake.default_user, f"<@{fake.bot_user['id']}> hello?")
                await fake.wait_until(lambda: any(NOT_SAVED in m.content for m in _everywhere(fake)), within=10)
        [told] = [m for m in _everywhere(fake) if NOT_SAVED in m.content]
        assert told.data["message_reference"]["message_id"] == sent["id"]  # a reply to the message
        fake.assert_clean()
    assert await fetch_rows(core.store, "SELECT role FROM messages") == []
    assert await fetch_rows(core.store, "SELECT event_id FROM processed_events") == []
    assert await fetch_rows(core.store, "SELECT title FROM conversations WHERE title <> ''") == []
    assert fake_router.requests == []


def _everywhere(fake: FakeDiscord) -> list:
    return [m for channel_id in fake.channels for m in fake.channel_messages(channel_id)]

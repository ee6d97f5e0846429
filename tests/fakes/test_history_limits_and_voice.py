"""The fakes' own tests for what catch-up and voice rely on: Slack's history limits for apps distributed outside the
Marketplace (1 request a minute, 15 items), channel members, audio clips; Discord's voice messages and channel options
resolved with the invoking member's permissions."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.discord import FakeDiscord, Perm
from tests.fakes.discord.voice import IS_VOICE_MESSAGE, voice_message_create
from tests.fakes.slack import FakeSlack
from tests.support.audio import make_audio, waveform


async def test_slack_history_for_a_commercially_distributed_app(no_proxy):
    async with FakeSlack(commercial_distribution=True) as fake:
        for n in range(20):
            fake.add_user_message(f"m{n}")
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        page = await client.conversations_history(channel=fake.default_channel_id, limit=200)
        assert len(page["messages"]) == 15 and page["has_more"]  # 15 items, whatever was asked
        with pytest.raises(SlackApiError) as again:
            await client.conversations_history(channel=fake.default_channel_id)  # one a minute
        assert again.value.response.status_code == 429 and int(again.value.response.headers["Retry-After"]) >= 59
        ts = page["messages"][0]["ts"]
        await client.conversations_replies(channel=fake.default_channel_id, ts=ts)  # a budget of its own
        with pytest.raises(SlackApiError) as replies_again:
            await client.conversations_replies(channel=fake.default_channel_id, ts=ts)
        assert replies_again.value.response.status_code == 429


async def test_slack_internal_apps_keep_tier_3(no_proxy):
    async with FakeSlack() as fake:
        for n in range(20):
            fake.add_user_message(f"m{n}")
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        for _ in range(3):
            assert len((await client.conversations_history(channel=fake.default_channel_id))["messages"]) == 20


async def test_slack_members_and_a_channel_without_the_bot(no_proxy):
    async with FakeSlack() as fake:
        fake.add_channel("G0PRIV0001", "private", name="priv", members=["U0USER0001"])
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        assert (await client.conversations_members(channel="G0PRIV0001"))["members"] == ["U0USER0001"]
        assert not (await client.conversations_info(channel="G0PRIV0001"))["channel"]["is_member"]
        with pytest.raises(SlackApiError, match="not_in_channel"):
            await client.conversations_history(channel="G0PRIV0001")


async def test_slack_audio_clip_is_served_with_the_token(no_proxy):
    async with FakeSlack() as fake:
        audio = make_audio("m4a", seconds=1.0)
        clip = fake.add_audio_clip(audio, 1.0)
        assert (clip["subtype"], clip["duration_ms"], clip["mimetype"]) == ("slack_audio", 1000, "audio/mp4")


async def test_discord_voice_messages_and_resolved_channel_permissions():
    async with FakeDiscord() as fake:
        audio = make_audio("ogg", seconds=2.0)
        channel, alice = fake.default_channel["id"], fake.default_user
        message = await voice_message_create(fake, channel, alice, audio, 2.0, waveform(2))
        [attachment] = message["attachments"]
        assert message["flags"] & IS_VOICE_MESSAGE and message["content"] == ""
        assert (attachment["filename"], attachment["content_type"], attachment["duration_secs"]) == (
            "voice-message.ogg",
            "audio/ogg",
            2.0,
        )
        with pytest.raises(ValueError, match="Ogg/Opus"):
            await voice_message_create(fake, fake.default_channel["id"], fake.default_user, b"RIFF....", 1.0, "")
        hidden = fake.add_text_channel(
            fake.default_guild,
            "hidden",
            permission_overwrites=[
                {"id": fake.default_guild["id"], "type": 0, "allow": "0", "deny": str(Perm.VIEW_CHANNEL)}
            ],
        )
        interaction = await fake.slash_command(
            fake.default_channel["id"], fake.default_user, "x", [{"name": "channel", "type": 7, "value": hidden["id"]}]
        )
        resolved = interaction.payload["data"]["resolved"]["channels"][hidden["id"]]
        assert not int(resolved["permissions"]) & Perm.VIEW_CHANNEL

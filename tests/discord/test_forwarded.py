"""Forwarded messages (Discord's message snapshots) are read as what was sent, their files included, in DMs and in
the bot's threads."""

from __future__ import annotations

from tests.fakes.discord import FakeDiscord, running_client
from tests.fakes.fake_router import text_script
from tests.support.discord import make_bot, open_threads


def bot_said(fake: FakeDiscord, channel_id: str, text: str):
    return lambda: any(
        m.content == text for m in fake.channel_messages(channel_id) if m.author_id == fake.bot_user["id"]
    )


async def test_a_message_forwarded_into_a_dm_is_answered_with_its_text_and_files(discord_core, fake_router):
    fake_router.queue(text_script("The meeting is at 3pm in room B."))
    async with FakeDiscord() as fake:
        source = await fake.message_create(
            fake.default_channel["id"],
            fake.default_user,
            "Meeting moved to 3pm.",
            attachments=[("room.txt", b"Room B, second floor", "text/plain")],
        )
        dm = fake.add_dm_channel(fake.default_user)
        async with running_client(fake, make_bot(discord_core)):
            forwarded = await fake.message_create(dm["id"], fake.default_user, "", forward=source)
            assert forwarded["message_snapshots"][0]["message"]["content"] == "Meeting moved to 3pm."
            await fake.wait_until(bot_said(fake, dm["id"], "The meeting is at 3pm in room B."), within=10)
        sent = str(fake_router.requests[-1]["messages"][-1]["content"])
        assert "Forwarded message:\n> Meeting moved to 3pm." in sent
        assert "Room B, second floor" in sent  # the forwarded file, read
        fake.assert_clean()


async def test_a_message_forwarded_into_the_bots_thread_with_a_comment(discord_core, fake_router):
    fake_router.queue(text_script("Noted: deploy freeze until Monday."))
    async with FakeDiscord() as fake:
        [thread] = await open_threads(fake, discord_core, 1)
        source = await fake.message_create(fake.default_channel["id"], fake.default_user, "Deploy freeze until Monday.")
        async with running_client(fake, make_bot(discord_core)):
            await fake.message_create(thread["id"], fake.default_user, "What does this mean for us?", forward=source)
            await fake.wait_until(bot_said(fake, thread["id"], "Noted: deploy freeze until Monday."), within=10)
        sent = fake_router.requests[-1]["messages"][-1]["content"]
        assert sent.startswith("What does this mean for us?\n\nForwarded message:\n> Deploy freeze until Monday.")
        fake.assert_clean()

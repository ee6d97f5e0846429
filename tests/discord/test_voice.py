"""Discord voice messages (IS_VOICE_MESSAGE, Ogg/Opus, `duration_secs`, `waveform`) and audio attachments: downloaded
from the CDN, transcribed through the fake speech endpoint, the transcript shown as a spoiler replying to the recording
before the answer, and stored as the person's message (erased with it)."""

from __future__ import annotations

from tests.fakes.discord import FakeDiscord, running_client
from tests.fakes.discord.voice import IS_VOICE_MESSAGE, voice_message_create
from tests.fakes.fake_router import text_script
from tests.support.audio import make_audio, waveform
from tests.support.discord import make_bot, open_threads
from tests.support.waits import wait_until


async def _gone(core, message_id: str) -> bool:
    return await core.store.find_by_platform_message("discord", message_id) is None


def bot_messages(fake, channel_id):
    return [m for m in fake.channel_messages(channel_id) if m.author_id == fake.bot_user["id"]]


async def test_a_voice_message_in_a_dm_is_transcribed_shown_collapsed_and_answered(discord_core, fake_router):
    audio = make_audio("ogg", seconds=3.0)
    fake_router.speech.says(audio, "What's the weather like on Mars?")
    fake_router.queue(text_script("Cold and dusty."))
    async with FakeDiscord() as fake:
        dm = fake.add_dm_channel(fake.default_user)
        async with running_client(fake, make_bot(discord_core)):
            voice = await voice_message_create(fake, dm["id"], fake.default_user, audio, 3.0, waveform(3.0))
            assert voice["flags"] & IS_VOICE_MESSAGE and voice["attachments"][0]["duration_secs"] == 3.0
            await fake.wait_until(lambda: any("Cold and dusty." in m.content for m in bot_messages(fake, dm["id"])))
            await discord_core.chat.replies.wait_idle()
        shown, answer = bot_messages(fake, dm["id"])[:2]
        assert shown.content == "🎙️ Transcript: ||What's the weather like on Mars?||"
        assert shown.data["message_reference"]["message_id"] == voice["id"]  # replying to the recording
        assert "Cold and dusty." in answer.content
        spoken = fake_router.speech.requests[-1]
        assert (spoken.content_type, spoken.size) == ("audio/ogg", len(audio)) and 2.9 < spoken.seconds < 3.2
        assert fake_router.requests[-1]["messages"][-1]["content"] == "What's the weather like on Mars?"
        stored = await discord_core.store.find_by_platform_message("discord", voice["id"])
        assert stored.content == "What's the weather like on Mars?" and stored.extra["voice"]["seconds"] > 2.9

        # deleting the recording erases its transcript (and what answered it)
        async with running_client(fake, make_bot(discord_core)):
            await fake.message_delete(dm["id"], voice["id"])
            await wait_until(
                lambda: _gone(discord_core, voice["id"]), what="the recording's transcript to be erased"
            )
        assert await discord_core.store.find_by_platform_message("discord", voice["id"]) is None
        fake.assert_clean()  # every request the bot made was one Discord's spec allows


async def test_an_audio_file_in_the_bots_thread_is_answered(discord_core, fake_router):
    audio = make_audio("m4a", seconds=2.0)
    fake_router.speech.says(audio, "summarize our plan")
    fake_router.queue(text_script("The plan, in short."))
    async with FakeDiscord() as fake:
        [thread] = await open_threads(fake, discord_core, 1)
        async with running_client(fake, make_bot(discord_core)):
            memo = [("memo.m4a", audio, "audio/mp4")]
            await fake.message_create(thread["id"], fake.default_user, "", attachments=memo)
            await fake.wait_until(lambda: any("The plan" in m.content for m in bot_messages(fake, thread["id"])))
            await discord_core.chat.replies.wait_idle()
        assert bot_messages(fake, thread["id"])[0].content == "🎙️ Transcript: ||summarize our plan||"
        assert fake_router.speech.requests[-1].content_type == "audio/mp4"
        fake.assert_clean()


async def test_a_recording_past_the_limit_is_refused_in_words(discord_core, fake_router):
    audio = make_audio("ogg", seconds=2.0)
    async with FakeDiscord() as fake:
        dm = fake.add_dm_channel(fake.default_user)
        async with running_client(fake, make_bot(discord_core)):
            await voice_message_create(fake, dm["id"], fake.default_user, audio, 75.0, waveform(75.0))
            await fake.wait_until(lambda: bot_messages(fake, dm["id"]))
        [said] = bot_messages(fake, dm["id"])
        assert "75 seconds long; voice messages up to 60 seconds are transcribed" in said.content
        assert fake_router.speech.requests == [] and fake_router.requests == []

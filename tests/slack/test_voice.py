"""Slack audio clips (files of subtype `slack_audio`: an MP4/AAC container, sometimes labelled video/mp4, with
`duration_ms`) and audio files: fetched with the bot token, transcribed through the fake speech endpoint, the
transcript shown as a context block before the answer, and stored as the person's message."""

from __future__ import annotations

from core.keys import ConversationKey
from tests.fakes.fake_router import text_script
from tests.support.audio import make_audio
from tests.support.slack import ALICE, CHANNEL, DM, visible


def _said(bot, channel, thread):
    return bot.fake.bot_messages(channel, thread)


async def test_an_audio_clip_in_a_dm_is_transcribed_shown_and_answered(bot):
    audio = make_audio("m4a", seconds=4.0)
    bot.router.speech.says(audio, "Plan a three day trip to Lisbon")
    bot.router.queue(text_script("Day 1: Alfama."))
    clip = bot.fake.add_audio_clip(audio, 4.0, user=ALICE)
    clip["mimetype"] = "video/mp4"  # as some Slack clients label a clip that holds only audio
    post = await bot.fake.user_posts("", channel=DM, user=ALICE, files=[clip])
    await bot.settle()
    transcript, answer = _said(bot, DM, post.ts)[:2]
    assert transcript.blocks == [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "🎙️ _Transcript:_ Plan a three day trip to Lisbon"}]}
    ]
    assert visible(answer) == "Day 1: Alfama."
    spoken = bot.router.speech.requests[-1]
    assert spoken.content_type == "audio/mp4" and spoken.size == len(audio) and 3.9 < spoken.seconds < 4.2
    assert bot.fake.file_downloads[-1]["authorized"]
    assert bot.router.requests[-1]["messages"][-1]["content"] == "Plan a three day trip to Lisbon"
    conversation = await bot.core.chat.conversations.for_key(ConversationKey("slack", bot.fake.team_id, DM, post.ts))
    [question, _] = await bot.core.store.recent_messages(conversation.id, 5)
    assert question.content == "Plan a three day trip to Lisbon" and question.extra["voice"]["files"]


async def test_a_clip_past_sixty_seconds_is_refused_in_words(bot):
    audio = make_audio("m4a", seconds=2.0)
    clip = bot.fake.add_audio_clip(audio, 95.0, user=ALICE)  # Slack says how long it is
    post = await bot.fake.user_posts("", channel=DM, user=ALICE, files=[clip])
    await bot.settle()
    [said] = _said(bot, DM, post.ts)
    assert "95 seconds long; voice messages up to 60 seconds are transcribed" in said.text
    assert bot.router.speech.requests == [] and bot.router.requests == []


async def test_voice_in_local_mode_says_it_needs_the_router(core_factory, fake_router):
    from tests.fakes.slack import FakeSlack
    from tests.support.slack import running_bot

    async def local_core(url):
        core = await core_factory(url)
        core.chat.intake.voice.config = core.chat.intake.voice.config.__class__(
            router_url=url, token=None, local=True
        )  # local mode, without starting llama.cpp for this test
        return core

    async with FakeSlack(echo_events=True) as fake, running_bot(local_core, fake_router, fake) as bot:
        clip = fake.add_audio_clip(make_audio("m4a", seconds=1.0), 1.0, user=ALICE)
        post = await fake.user_posts("", channel=DM, user=ALICE, files=[clip])
        await bot.settle()
        [said] = fake.bot_messages(DM, post.ts)
        assert "Voice messages need the Hugging Face router" in said.text


async def test_an_audio_file_uploaded_in_the_bots_thread_is_transcribed_and_answered(bot):
    # not a recorded clip: a file someone uploads (an Ogg/Opus memo, no duration from Slack: the core measures it)
    bot.router.queue(text_script("First answer."))
    post = await bot.fake.user_posts("hello", channel=CHANNEL, user=ALICE)
    await bot.settle()
    audio = make_audio("ogg", seconds=3.0)
    bot.router.speech.says(audio, "Summarize the meeting notes")
    bot.router.queue(text_script("Here is the summary."))
    memo = bot.fake.add_user_file("memo.ogg", audio, "audio/ogg", user=ALICE)
    await bot.fake.user_posts("", channel=CHANNEL, thread_ts=post.ts, user=ALICE, files=[memo], mention=False)
    await bot.settle()
    texts = [visible(m) for m in _said(bot, CHANNEL, post.ts)]
    assert any("Summarize the meeting notes" in t for t in texts) and texts[-1] == "Here is the summary."
    spoken = bot.router.speech.requests[-1]
    assert spoken.size == len(audio) and 2.9 < spoken.seconds < 3.2
    assert bot.router.requests[-1]["messages"][-1]["content"] == "Summarize the meeting notes"

"""Voice messages in the core: real audio files (Ogg/Opus, MP4/AAC, WAV) transcribed through the fake speech
endpoint beside the fake router, the transcript answered and stored as the person's message (and erased with it),
HuggingChat's limits (25 MB, 60 s) told plainly, and local mode saying voice needs the router unless a local speech
model is configured."""

from __future__ import annotations

import pytest

from core.keys import Actor, ConversationKey
from core.replies.attachments import Attachment
from core.voice import Voice, VoiceConfig, VoiceRefused
from tests.fakes.fake_router import text_script
from tests.support.audio import make_audio
from tests.support.chat import sink

KEY = ConversationKey("test", "W1", "C1", "voice")
ALICE = Actor("test", "alice", "Alice", "W1")
SPEECH = "openai/whisper-large-v3-turbo"


async def say(core, files, text="", key=KEY, shown=None):
    out = sink()

    async def on_transcript(words: str) -> None:
        if shown is not None:
            shown.append(words)

    submitted = await core.chat.submit(key, ALICE, text, out, attachments=files, on_transcript=on_transcript)
    await submitted.reply
    return submitted, out


@pytest.mark.parametrize(
    ("kind", "name", "content_type", "mime"),
    [
        ("ogg", "voice-message.ogg", "audio/ogg", "audio/ogg"),  # a Discord voice message
        ("m4a", "audio_message.m4a", "audio/mp4", "audio/mp4"),  # a Slack audio clip
        ("wav", "memo.wav", "audio/wav", "audio/wav"),
    ],
)
async def test_a_voice_message_is_transcribed_answered_and_stored_as_the_message(
    core, fake_router, kind, name, content_type, mime
):
    audio = make_audio(kind, seconds=3.0)
    fake_router.speech.says(audio, "What is the capital of France?")
    fake_router.queue(text_script("Paris."))
    shown: list[str] = []
    submitted, out = await say(core, [Attachment(name, content_type, audio, voice=True)], shown=shown)

    request = fake_router.speech.requests[-1]
    assert (request.style, request.model, request.content_type) == ("hf-inference", SPEECH, mime)
    assert request.authorization == "Bearer hf_test_token" and request.size == len(audio)
    assert 2.9 < request.seconds < 3.2  # the real file, decoded
    assert shown == ["What is the capital of France?"]  # shown before the answer starts
    prompt = fake_router.requests[-1]["messages"][-1]
    assert prompt == {"role": "user", "content": "What is the capital of France?"}
    assert "Paris." in out.full_text()
    stored = await core.store.recent_messages(submitted.conversation.id, 10)
    assert stored[0].content == "What is the capital of France?"
    assert stored[0].extra["voice"]["files"] == [name] and 2.9 < stored[0].extra["voice"]["seconds"] < 3.2
    assert "images" not in stored[0].extra and "documents" not in stored[0].extra


async def test_the_transcript_is_erased_with_the_message(core, fake_router):
    audio = make_audio("ogg", seconds=2.0)
    fake_router.speech.says(audio, "remember the secret word: pineapple")
    submitted, _ = await say(core, [Attachment("voice-message.ogg", "audio/ogg", audio, voice=True)])
    await core.chat.conversations.forget(KEY, ALICE, 1)
    assert not [m for m in await core.store.recent_messages(submitted.conversation.id, 10) if "pineapple" in m.content]


async def test_text_and_voice_together_and_other_files_still_read(core, fake_router):
    audio = make_audio("ogg", seconds=2.0)
    fake_router.speech.says(audio, "and summarize the notes")
    files = [Attachment("voice-message.ogg", "audio/ogg", audio, voice=True), Attachment("notes.txt", "", b"a b c")]
    await say(core, files, text="Read this file")
    user = fake_router.requests[-1]["messages"][-1]
    assert user["content"].startswith("Read this file\n\nand summarize the notes")
    assert '<document name="notes.txt">' in user["content"]


async def test_too_long_is_refused_with_the_limit_and_never_sent(core, fake_router):
    audio = make_audio("ogg", seconds=61.5)  # the file says how long it is, whatever the platform claims
    with pytest.raises(VoiceRefused) as refused:
        await say(core, [Attachment("voice-message.ogg", "audio/ogg", audio, voice=True)])
    assert "62 seconds long; voice messages up to 60 seconds are transcribed" in str(refused.value)
    assert fake_router.speech.requests == [] and fake_router.requests == []


async def test_too_large_by_the_platforms_size_is_refused(core, fake_router):
    with pytest.raises(VoiceRefused) as refused:
        await say(core, [Attachment("long.m4a", "audio/mp4", b"", size=30 * 1024 * 1024)])
    assert "too large to transcribe (30.0 MB; the limit is 25 MB)" in str(refused.value)
    assert fake_router.speech.requests == []


async def test_a_platform_reported_length_counts_when_the_file_cannot_tell(core, fake_router):
    audio = make_audio("ogg", seconds=2.0)
    with pytest.raises(VoiceRefused, match="90 seconds long"):
        await say(core, [Attachment("voice-message.ogg", "audio/ogg", audio, seconds=90.0, voice=True)])


async def test_with_text_beside_it_an_unusable_recording_becomes_a_note(core, fake_router):
    audio = make_audio("ogg", seconds=61.5)
    fake_router.queue(text_script("Answered the text."))
    _, out = await say(core, [Attachment("voice-message.ogg", "audio/ogg", audio)], text="hello")
    assert "voice messages up to 60 seconds are transcribed" in out.full_text()
    assert fake_router.requests[-1]["messages"][-1]["content"] == "hello"


async def test_speech_service_errors_are_told(core, fake_router):
    audio = make_audio("ogg", seconds=1.0)
    fake_router.speech.fail_with = [503]
    with pytest.raises(VoiceRefused) as refused:
        await say(core, [Attachment("voice-message.ogg", "audio/ogg", audio, voice=True)])
    assert str(refused.value) == (
        "🎙️ `voice-message.ogg` was not transcribed: The speech recognition model is loading or unavailable. "
        "Try again in a minute."
    )


async def test_bytes_that_are_not_what_they_claim_are_refused_by_the_model(core, fake_router):
    """An "audio" file whose bytes are a PNG is not audio: it goes the way of files (and is refused as a bad image)."""
    with pytest.raises(Exception, match=r"`voice-message\.ogg` could not be read"):
        await say(core, [Attachment("voice-message.ogg", "audio/ogg", b"\x89PNG\r\n\x1a\n" + b"0" * 100)])
    assert fake_router.speech.requests == []


async def test_a_video_mp4_is_not_taken_for_a_voice_message(core):
    mp4 = make_audio("m4a", seconds=1.0)
    with pytest.raises(Exception, match="not a file type I can read"):
        await say(core, [Attachment("clip.mp4", "video/mp4", mp4)])


async def test_local_mode_says_voice_needs_the_router(fake_router):
    voice = Voice(VoiceConfig(router_url=fake_router.url, token=None, local=True))
    audio = make_audio("ogg", seconds=1.0)
    with pytest.raises(VoiceRefused, match="Voice messages need the Hugging Face router"):
        await voice.hear([Attachment("voice-message.ogg", "audio/ogg", audio, voice=True)], has_text=False)
    heard = await voice.hear([Attachment("voice-message.ogg", "audio/ogg", audio, voice=True)], has_text=True)
    assert heard.transcript == "" and "need the Hugging Face router" in heard.notes[0]
    assert fake_router.speech.requests == []


async def test_local_mode_with_a_local_speech_model_uses_it_without_a_token(fake_router):
    local_speech = fake_router.url.replace("127.0.0.1", "localhost") + "/audio/transcriptions"
    voice = Voice(VoiceConfig(router_url=fake_router.url, token=None, local=True, speech_url=local_speech))
    audio = make_audio("wav", seconds=1.5)
    fake_router.speech.says(audio, "local words")
    fake_router.speech.token = None  # a local server asks for no token
    heard = await voice.hear([Attachment("memo.wav", "audio/wav", audio)], has_text=False)
    request = fake_router.speech.requests[-1]
    assert (heard.transcript, request.style, request.content_type) == ("local words", "openai", "audio/wav")
    assert 1.4 < request.seconds < 1.6


async def test_the_token_goes_only_to_the_routers_own_host(fake_router):
    elsewhere = fake_router.url.replace("127.0.0.1", "localhost") + "/audio/transcriptions"
    voice = Voice(VoiceConfig(router_url=fake_router.url, token="hf_secret", local=False, speech_url=elsewhere))
    assert voice.speech().token is None
    voice = Voice(VoiceConfig(router_url=fake_router.url, token="hf_secret", local=False))
    speech = voice.speech()
    assert speech.token == "hf_secret"
    assert speech.url == fake_router.url.removesuffix("/v1") + "/hf-inference/models/openai/whisper-large-v3-turbo"

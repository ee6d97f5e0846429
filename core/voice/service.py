"""Voice messages in, text out: which files of a message are audio, whether each is within the limits
(HuggingChat's: about 25 MB and 60 seconds), and their transcripts, which become the person's message.

Without the router (local mode) there is no speech model unless one is configured (SPEECH_URL): a voice message
then gets a note saying so, never a silent drop.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.errors import UserFacingError
from core.voice.audio import SHARED_WITH_VIDEO, AudioFile, claimed_audio, duration, sniff_audio
from core.voice.speech import SpeechClient, SpeechFailed, router_speech_url, same_host

log = logging.getLogger(__name__)

NEEDS_ROUTER = (
    "Voice messages need the Hugging Face router for speech recognition: this bot runs a local model without "
    "it. Set HF_TOKEN (or point SPEECH_URL at a local speech model) to have them transcribed; until then, type it."
)


class Attachment(Protocol):
    """A file as the platform delivered it (core.replies.attachments.Attachment)."""

    name: str
    content_type: str
    data: bytes
    size: int | None
    seconds: float | None  # how long it plays, as the platform reported it
    voice: bool  # the platform marks it a voice message or audio clip


class VoiceRefused(UserFacingError):
    """A voice message that cannot be transcribed (too long, too large, no speech model); the text says why."""


@dataclass(slots=True)
class Heard:
    """What the audio of a message said, and the files left for the usual reading."""

    transcript: str
    seconds: float
    others: list[Any] = field(default_factory=list)  # the files that are not audio
    problems: list[str] = field(default_factory=list)  # why audio was not transcribed, one sentence each
    names: list[str] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        """The problems as notes under the answer."""
        return [f"🎙️ *{problem}*" for problem in self.problems]

    def as_extra(self) -> dict:
        """What the stored message keeps: that it was spoken, how long, and its files' names (not the audio)."""
        return {"voice": {"seconds": round(self.seconds, 1), "files": self.names}}


def _label(name: str) -> str:
    return "".join(ch for ch in name if ch.isprintable()).replace("`", "'").strip()[:80] or "audio"


@dataclass(frozen=True, slots=True)
class VoiceConfig:
    """The settings voice messages follow (SPEECH_MODEL, SPEECH_URL, VOICE_MAX_SECONDS, VOICE_MAX_MB)."""

    router_url: str
    token: str | None
    local: bool  # local mode: no router to transcribe with
    speech_model: str = "openai/whisper-large-v3-turbo"
    speech_url: str | None = None
    max_seconds: float = 60.0
    max_mb: float = 25.0

    @classmethod
    def of(cls, settings: Any) -> VoiceConfig:
        """From core.config.Settings."""
        return cls(
            router_url=settings.hf_router_url,
            token=settings.hf_token.get_secret_value() if settings.hf_token else None,
            local=settings.use_local_model,
            speech_model=settings.speech_model,
            speech_url=settings.speech_url,
            max_seconds=settings.voice_max_seconds,
            max_mb=settings.voice_max_mb,
        )


class Voice:
    def __init__(self, config: VoiceConfig):
        self.config = config

    @property
    def max_bytes(self) -> int:
        return int(self.config.max_mb * 1024 * 1024)

    def speech(self, token: str | None = None, bill_to: str | None = None) -> SpeechClient | None:
        """The speech model to use, or None in local mode when none is configured. `token`, `bill_to`: the
        speaker's own Hugging Face token and the organization billed (core.accounts), sent where HF_TOKEN would be."""
        config = self.config
        token = token or config.token
        if config.speech_url:
            # a configured speech server gets the token only when it is the router's own host
            same = not config.local and same_host(config.speech_url, config.router_url)
            return SpeechClient(
                config.speech_url, config.speech_model, token if same else None, bill_to if same else None
            )
        if config.local:
            return None
        url = router_speech_url(config.router_url, config.speech_model)
        return SpeechClient(url, config.speech_model, token, bill_to)

    @staticmethod
    def audio_of(attachment: Attachment) -> AudioFile | None:
        """The attachment as audio, when it is some: by its bytes, and presented as audio where the container
        could also be a video (an MP4 is audio when the platform says so: a voice clip, an audio/* type)."""
        kind = sniff_audio(attachment.data) if attachment.data else None
        if kind is None:
            if not attachment.data and (attachment.voice or claimed_audio(attachment.name, attachment.content_type)):
                return AudioFile(None, attachment.seconds)  # not fetched (too large, or the download failed)
            return None
        if kind in SHARED_WITH_VIDEO and not (
            attachment.voice or claimed_audio(attachment.name, attachment.content_type)
        ):
            return None
        return AudioFile(kind, attachment.seconds)

    async def hear(
        self, attachments: list[Attachment], *, has_text: bool, token: str | None = None, bill_to: str | None = None
    ) -> Heard | None:
        """Transcribe the audio among `attachments`; None when there is none. A message made only of audio that
        cannot be transcribed is refused (VoiceRefused, saying why); with text or other files beside it, the audio
        gets a note and the rest is answered."""
        audio = [(a, self.audio_of(a)) for a in attachments]
        spoken = [(a, found) for a, found in audio if found is not None]
        if not spoken:
            return None
        others = [a for a, found in audio if found is None]
        heard = Heard("", 0.0, others)
        speech = self.speech(token, bill_to)
        texts: list[str] = []
        for attachment, found in spoken:
            label = _label(attachment.name)
            problem = self._problem(attachment, found, label) if speech is not None else NEEDS_ROUTER
            if problem is None:
                seconds = found.seconds
                if seconds is None:
                    seconds = await asyncio.to_thread(duration, attachment.data)
                if seconds is not None and seconds > self.config.max_seconds + 0.5:
                    problem = self._too_long(label, seconds)
                else:
                    try:
                        text = await speech.transcribe(attachment.data, found.mime, label)
                    except SpeechFailed as exc:
                        text, problem = "", f"`{label}` was not transcribed: {exc}"
                    if problem is not None:
                        pass
                    elif text:
                        texts.append(text)
                        heard.seconds += seconds or 0.0
                        heard.names.append(label)
                    else:
                        problem = f"I heard nothing I could write down in `{label}`."
            if problem is not None:
                heard.problems.append(problem)
        heard.transcript = "\n\n".join(texts)
        if not heard.transcript and not has_text and not others:
            raise VoiceRefused("\n".join(f"🎙️ {problem}" for problem in heard.problems))
        if heard.problems:
            log.info("voice: %d of %d audio files not transcribed", len(heard.problems), len(spoken))
        return heard

    def _problem(self, attachment: Attachment, found: AudioFile, label: str) -> str | None:
        size = attachment.size if attachment.size is not None and not attachment.data else len(attachment.data)
        limit_mb = self.config.max_mb
        if size > self.max_bytes:
            mb = size / 1024 / 1024
            return f"`{label}` is too large to transcribe ({mb:.1f} MB; the limit is {limit_mb:g} MB)."
        if found.seconds is not None and found.seconds > self.config.max_seconds + 0.5:
            return self._too_long(label, found.seconds)
        if not attachment.data or found.kind is None:
            return f"`{label}` could not be downloaded, so it was not transcribed. Send it again."
        return None

    def _too_long(self, label: str, seconds: float) -> str:
        limit = self.config.max_seconds
        return (
            f"`{label}` is {seconds:.0f} seconds long; voice messages up to {limit:g} seconds are transcribed. "
            "Send a shorter one, or type it."
        )

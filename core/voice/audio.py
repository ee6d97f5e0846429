"""What an audio file is, from its bytes (never its name), and how long it plays.

A platform's claim about a file is only a hint: the container is read from the first bytes, and the length from
the file itself (mutagen reads Ogg/Opus, MP4/M4A, MP3, FLAC and WAV) or, for containers it cannot read (WebM),
from what the platform reported (Discord's `duration_secs`, Slack's `duration_ms`).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePath

log = logging.getLogger(__name__)


class AudioKind(StrEnum):
    OGG = "ogg"
    WAV = "wav"
    FLAC = "flac"
    MP3 = "mp3"
    MP4 = "mp4"  # M4A, and Slack's audio clips (an MP4 container with only an AAC track)
    WEBM = "webm"


MIME = {
    AudioKind.OGG: "audio/ogg",
    AudioKind.WAV: "audio/wav",
    AudioKind.FLAC: "audio/flac",
    AudioKind.MP3: "audio/mpeg",
    AudioKind.MP4: "audio/mp4",
    AudioKind.WEBM: "audio/webm",
}
AUDIO_EXTENSIONS = frozenset(".ogg .oga .opus .wav .flac .mp3 .m4a .aac .weba .webm .mp4".split())
# containers that also hold video: audio only when the platform says so (an audio clip, audio/* content type)
SHARED_WITH_VIDEO = frozenset({AudioKind.MP4, AudioKind.WEBM})


def sniff_audio(data: bytes) -> AudioKind | None:
    """The audio container the bytes start with, or None when they are not audio this module knows."""
    head = data[:64]
    if head.startswith(b"OggS"):
        return AudioKind.OGG
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return AudioKind.WAV
    if head.startswith(b"fLaC"):
        return AudioKind.FLAC
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return AudioKind.MP3
    if head[4:8] == b"ftyp":
        return AudioKind.MP4
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return AudioKind.WEBM
    return None


def claimed_audio(name: str, content_type: str) -> bool:
    """Whether the platform presents the file as audio (its content type or its name)."""
    kind = (content_type or "").split(";")[0].strip().lower()
    return kind.startswith("audio/") or PurePath(name).suffix.lower() in (AUDIO_EXTENSIONS - {".mp4", ".webm"})


@dataclass(frozen=True, slots=True)
class AudioFile:
    kind: AudioKind | None  # None: the bytes were not fetched
    seconds: float | None  # None when neither the file nor the platform says

    @property
    def mime(self) -> str:
        return MIME[self.kind] if self.kind else "application/octet-stream"


def duration(data: bytes) -> float | None:
    """How long the audio plays, read from the file (None when it cannot be told)."""
    import mutagen

    try:
        parsed = mutagen.File(io.BytesIO(data))
    except Exception as exc:  # a damaged file: its length is unknown, the speech model will refuse it
        log.info("audio length unreadable: %s", type(exc).__name__)
        return None
    length = getattr(getattr(parsed, "info", None), "length", None)
    return float(length) if length else None

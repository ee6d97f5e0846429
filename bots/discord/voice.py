"""Voice messages on Discord: a recording (the IS_VOICE_MESSAGE flag, `duration_secs`) or any audio attachment is
handed to the core like a file, with its length and whether it is a voice message; the core transcribes and answers
it. The transcript is shown collapsed, as a spoiler in a reply to the recording, right before the answer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bots.discord.sink import NO_MENTIONS
from core.replies.attachments import Attachment

log = logging.getLogger(__name__)

TRANSCRIPT_CHARS = 1900  # within Discord's 2,000 with the label


def is_audio(item: discord.Attachment) -> bool:
    return item.is_voice_message() or (item.content_type or "").startswith("audio/")


def download_limit(item: discord.Attachment, file_bytes: int, voice_mb: float) -> int:
    """Audio may be as large as voice messages are allowed to be (VOICE_MAX_MB); other files keep their limit."""
    return max(file_bytes, int(voice_mb * 1024 * 1024)) if is_audio(item) else file_bytes


def as_attachment(item: discord.Attachment, data: bytes, *, size: int | None = None) -> Attachment:
    return Attachment(
        item.filename,
        item.content_type or "",
        data,
        size=size,
        seconds=item.duration,
        voice=item.is_voice_message(),
    )


def collapsed(transcript: str) -> str:
    text = discord.utils.escape_markdown(" ".join(transcript.split()))
    if len(text) > TRANSCRIPT_CHARS:
        text = text[: TRANSCRIPT_CHARS - 1] + "…"
    return f"🎙️ Transcript: ||{text}||"


def show_transcript(message: discord.Message, channel: Any) -> Callable[[str], Awaitable[None]] | None:
    """For a message with audio, what shows its transcript: a spoiler in `channel` (where the answer goes), replying
    to the recording when it is there too."""
    if not any(is_audio(item) for item in message.attachments):
        return None

    async def show(transcript: str) -> None:
        kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
        if getattr(channel, "id", None) == message.channel.id:
            kwargs["reference"] = message.to_reference(fail_if_not_exists=False)
            kwargs["mention_author"] = False
        try:
            await channel.send(collapsed(transcript), **kwargs)
        except discord.HTTPException as exc:  # the answer still comes; only the transcript is not shown
            log.warning("could not show a transcript: %s", exc.status)

    return show

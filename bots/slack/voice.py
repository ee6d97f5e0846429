"""Voice on Slack: audio clips (files whose `subtype` is `slack_audio`, an MP4 container sometimes labelled video/mp4,
with `duration_ms`) and audio files reach the core as files with their length; the core transcribes and answers
them. The transcript is shown small and apart, as a context block in the thread, right before the answer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from bots.slack.calls import slack_error
from bots.slack.text import neutralize
from core.replies.attachments import Attachment

log = logging.getLogger(__name__)

CONTEXT_CHARS = 2900  # a context block's text element takes 3,000


def is_audio(file: dict) -> bool:
    return file.get("subtype") == "slack_audio" or str(file.get("mimetype") or "").startswith("audio/")


def download_limit(file: dict, file_bytes: int, voice_mb: float) -> int:
    return max(file_bytes, int(voice_mb * 1024 * 1024)) if is_audio(file) else file_bytes


def marked(attachment: Attachment, file: dict) -> Attachment:
    """The attachment with what Slack says of it as audio: a clip, and how long it plays."""
    duration = file.get("duration_ms")
    attachment.seconds = duration / 1000 if isinstance(duration, int | float) and duration > 0 else None
    attachment.voice = file.get("subtype") == "slack_audio"
    return attachment


def transcript_blocks(transcript: str) -> list[dict]:
    text = neutralize(" ".join(transcript.split()))
    if len(text) > CONTEXT_CHARS:
        text = text[: CONTEXT_CHARS - 1] + "…"
    return [{"type": "context", "elements": [{"type": "mrkdwn", "text": f"🎙️ _Transcript:_ {text}"}]}]


def show_transcript(
    client: Any, channel: str, thread_ts: str, files: list | None
) -> Callable[[str], Awaitable[None]] | None:
    if not files or not any(isinstance(f, dict) and is_audio(f) for f in files):
        return None

    async def show(transcript: str) -> None:
        try:
            await client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text=f"🎙️ Transcript: {neutralize(transcript)[:CONTEXT_CHARS]}",
                blocks=transcript_blocks(transcript),
            )
        except SlackApiError as exc:  # the answer still comes; only the transcript is not shown
            log.warning("could not show a transcript: %s", slack_error(exc))

    return show

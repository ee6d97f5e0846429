"""Voice messages as Discord sends them: a message flagged IS_VOICE_MESSAGE (1 << 13) with no content and exactly one
attachment, `voice-message.ogg` (audio/ogg, Opus), carrying `duration_secs` and a base64 `waveform`; its file is
served from the fake's CDN like any attachment."""

from __future__ import annotations

import copy
from typing import Any

from tests.fakes.discord.http import _sid
from tests.fakes.discord.records import UploadedFile

IS_VOICE_MESSAGE = 1 << 13


async def voice_message_create(
    fake: Any, channel_id: Any, author: Any, audio: bytes, seconds: float, waveform: str, *, reply_to: Any = None
) -> dict:
    """A person records a voice message in a channel, thread or DM: store it and dispatch MESSAGE_CREATE."""
    if not audio.startswith(b"OggS"):
        raise ValueError("Discord's clients record voice messages as Ogg/Opus")
    channel = fake._channel(channel_id)
    body: dict[str, Any] = {"content": ""}
    if reply_to is not None:
        body["message_reference"] = {"message_id": _sid(reply_to), "channel_id": channel["id"]}
    upload = UploadedFile("files[0]", "voice-message.ogg", "audio/ogg", audio)
    msg = fake._build_message(
        channel, copy.deepcopy(fake._user(author)), body, [upload], flags=IS_VOICE_MESSAGE
    )
    msg["attachments"][0].update(duration_secs=seconds, waveform=waveform)
    fake._store(msg)
    await fake.dispatch("MESSAGE_CREATE", msg)
    return msg

"""A speech-recognition endpoint on the fake router's port, speaking what the real ones speak:

- Hugging Face Inference Providers' `hf-inference` route, `POST /hf-inference/models/{model}` with the raw audio as
  the body and its type as Content-Type (huggingface_hub's `InferenceClient.automatic_speech_recognition`, and
  HuggingChat), answering `{"text": ...}`;
- OpenAI's `POST /v1/audio/transcriptions`, a multipart form with `file` and `model` (local speech servers).

The audio is decoded for real (PyAV): bytes that are not the audio their Content-Type says, or that do not decode,
get a 400 as a real model server gives; a file longer than `max_seconds` gets a 400 too. The words come from
`transcripts` (the file's bytes -> its text), since a fake cannot listen; an audio file it has no words for is "heard"
as silence ("")."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field

from aiohttp import web

from tests.support.audio import decoded_seconds

MAGIC = {"audio/ogg": b"OggS", "audio/wav": b"RIFF", "audio/flac": b"fLaC", "audio/webm": b"\x1a\x45\xdf\xa3"}


@dataclass
class SpeechRequest:
    model: str
    content_type: str
    size: int
    authorization: str
    seconds: float | None
    status: int
    style: str  # "hf-inference" or "openai"


@dataclass
class FakeSpeech:
    token: str | None = "hf_test_token"  # None: any caller is accepted (a local server)
    max_seconds: float = 600.0
    transcripts: dict[str, str] = field(default_factory=dict)  # sha256 of the audio -> its words
    requests: list[SpeechRequest] = field(default_factory=list)
    fail_with: list[int] = field(default_factory=list)  # statuses the next requests get, in order

    def says(self, audio: bytes, text: str) -> None:
        self.transcripts[hashlib.sha256(audio).hexdigest()] = text

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/hf-inference/models/{model:.+}", self._hf_inference)
        app.router.add_post("/v1/audio/transcriptions", self._openai)

    async def _hf_inference(self, request: web.Request) -> web.Response:
        return await self._answer(
            request, request.match_info["model"], request.content_type, await request.read(), "hf-inference"
        )

    async def _openai(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form.get("file")
        if not hasattr(upload, "file"):
            return web.json_response({"error": {"message": "file is required"}}, status=400)
        data = upload.file.read()
        return await self._answer(request, str(form.get("model") or ""), upload.content_type, data, "openai")

    async def _answer(self, request: web.Request, model: str, content_type: str, data: bytes, style: str):
        auth = request.headers.get("Authorization", "")
        record = SpeechRequest(model, content_type, len(data), auth, None, 200, style)
        self.requests.append(record)

        def reply(status: int, body: dict) -> web.Response:
            record.status = status
            return web.json_response(body, status=status)

        if self.token is not None and auth != f"Bearer {self.token}":
            return reply(401, {"error": "Invalid credentials in Authorization header"})
        if self.fail_with:
            status = self.fail_with.pop(0)
            return reply(status, {"error": f"failure {status}"})
        magic = MAGIC.get(content_type)
        if not content_type.startswith("audio/") or (magic and not data.startswith(magic)):
            return reply(400, {"error": f"Malformed soundfile: not {content_type or 'audio'}"})
        try:
            record.seconds = await asyncio.to_thread(decoded_seconds, data)
        except Exception:
            return reply(400, {"error": "Malformed soundfile"})
        if record.seconds > self.max_seconds:
            return reply(400, {"error": "audio too long"})
        return reply(200, {"text": " " + self.transcripts.get(hashlib.sha256(data).hexdigest(), "")})

"""The speech-recognition call: audio bytes in, text out.

Two wire formats, picked by the endpoint's path:
- Hugging Face Inference Providers (the default, as HuggingChat uses it and huggingface_hub's
  `InferenceClient.automatic_speech_recognition` sends it for `hf-inference`): `POST {router}/hf-inference/models/
  {model}` with the raw audio as the body and its type as Content-Type; the answer is `{"text": ...}`.
- OpenAI's `.../audio/transcriptions` (a local server such as a faster-whisper or whisper.cpp one): a multipart
  form with `file` and `model`; the answer is `{"text": ...}` too.

The token goes only to the router's own host, never to another speech server.
"""

from __future__ import annotations

import logging
from urllib.parse import urlparse

import aiohttp

from core.errors import UserFacingError

log = logging.getLogger(__name__)

TIMEOUT = aiohttp.ClientTimeout(total=120, sock_connect=10)


class SpeechFailed(UserFacingError):
    """The speech model could not transcribe the audio; the text says why, for the chat."""


def router_speech_url(router_url: str, model: str) -> str:
    """The hf-inference route for `model` beside an OpenAI-compatible router base (`.../v1`)."""
    base = router_url.rstrip("/").removesuffix("/v1")
    return f"{base}/hf-inference/models/{model}"


def same_host(a: str, b: str) -> bool:
    return urlparse(a).netloc == urlparse(b).netloc


class SpeechClient:
    def __init__(self, url: str, model: str, token: str | None, bill_to: str | None = None):
        self.url = url
        self.model = model
        self.token = token
        self.bill_to = bill_to  # X-HF-Bill-To: the organization an admin bills (core.accounts)

    @property
    def openai_style(self) -> bool:
        return urlparse(self.url).path.rstrip("/").endswith("/audio/transcriptions")

    async def transcribe(self, data: bytes, mime: str, filename: str = "audio") -> str:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if self.bill_to:
            headers["X-HF-Bill-To"] = self.bill_to
        try:
            async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
                if self.openai_style:
                    form = aiohttp.FormData()
                    form.add_field("file", data, filename=filename, content_type=mime)
                    form.add_field("model", self.model)
                    request = session.post(self.url, data=form, headers=headers)
                else:
                    request = session.post(self.url, data=data, headers={**headers, "Content-Type": mime})
                async with request as response:
                    if response.status != 200:
                        raise SpeechFailed(_refusal(response.status, await _error_text(response)))
                    body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("speech recognition unreachable: %s", type(exc).__name__)
            raise SpeechFailed("I couldn't reach the speech recognition service. Try again in a moment.") from None
        except ValueError:
            raise SpeechFailed("The speech recognition service sent an answer I couldn't read.") from None
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str):
            raise SpeechFailed("The speech recognition service sent an answer I couldn't read.")
        return text.strip()


async def _error_text(response: aiohttp.ClientResponse) -> str:
    try:
        body = await response.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        error = error.get("message")
    return str(error or "")[:200]


def _refusal(status: int, detail: str) -> str:
    log.warning("speech recognition refused: HTTP %d", status)
    if status == 401:
        return "The speech recognition service refused the token (HF_TOKEN): voice messages can't be transcribed."
    if status == 402:
        return "The Hugging Face account is out of credits for speech recognition."
    if status == 429:
        return "The speech recognition service is busy (rate limited). Send the voice message again in a minute."
    if status in (400, 413, 415, 422):
        return "The speech recognition service could not read this audio" + (f" ({detail})." if detail else ".")
    if status == 503:
        return "The speech recognition model is loading or unavailable. Try again in a minute."
    return f"Speech recognition failed (HTTP {status}). Try again in a moment."

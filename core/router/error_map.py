"""What a chat user is told when the router fails: SDK and transport errors mapped to `RouterError` (status codes,
Retry-After, a refused connection told apart from a timeout), and a person's own token refused."""

from __future__ import annotations

import asyncio

import openai

from core.errors import RouterError
from core.router.provider_errors import ProviderStreamError, stream_error

# a person's own token refused: said to them, with the way back (core.accounts erases it)
TOKEN_REFUSED = (
    "Hugging Face refused your token (401): it was revoked or has expired, so I've disconnected it. "
    "Connect again with `/account connect`."
)


def _retry_after(headers) -> float | None:
    if headers is None:
        return None
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _could_not_connect(exc: BaseException) -> bool:
    """The SDK's aiohttp transport reports a refused connection or an unknown host as a connect *timeout*; the
    chain of causes tells them apart."""
    cause: BaseException | None = exc
    for _ in range(6):
        if cause is None:
            return False
        if isinstance(cause, ConnectionRefusedError) or type(cause).__name__.startswith("ClientConnector"):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def map_error(exc: BaseException, model: str) -> RouterError:
    """Turn an SDK or transport error into a message a chat user understands."""
    if isinstance(exc, RouterError):
        return exc
    if isinstance(exc, ProviderStreamError):
        return stream_error(exc)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retry_after = _retry_after(exc.response.headers)
        body = str(exc.body or exc.message or "").lower()
        if status == 401:
            return RouterError(
                "auth", "The router refused the bot's token (401). An admin should check HF_TOKEN.", status=status
            )
        if status == 402:
            return RouterError(
                "credits",
                "The router account is out of credits (402). Try again later or ask an admin to top up.",
                status=status,
            )
        if status == 403:
            return RouterError("forbidden", f"The token is not allowed to use `{model}` (403).", status=status)
        if status == 404 or "model_not_supported" in body or "not supported" in body:
            return RouterError(
                "unknown_model",
                f"`{model}` is not available on the router right now (404). Pick another with /model.",
                status=status,
            )
        if status == 429:
            wait = f" Try again in {retry_after:.0f} s." if retry_after else " Try again in a moment."
            return RouterError(
                "rate_limited",
                "The router is rate limiting requests (429)." + wait,
                retry_after=retry_after,
                status=status,
            )
        if status in (400, 413, 422) and ("context" in body or "too long" in body or "maximum" in body):
            return RouterError(
                "context",
                "The conversation is too long for this model's context window. "
                "Start a new one or pick a model with a longer context.",
                status=status,
            )
        if status >= 500:
            return RouterError(
                "provider_down",
                f"The model provider is having trouble ({status}). Try again, or pick another provider or model.",
                status=status,
            )
        return RouterError("bad_request", f"The router rejected the request ({status}).", status=status)
    if isinstance(exc, openai.APITimeoutError) and _could_not_connect(exc):
        return RouterError("unreachable", "Could not reach the router. Check the network or HF_ROUTER_URL.")
    if isinstance(exc, (openai.APITimeoutError, TimeoutError, asyncio.TimeoutError)):
        return RouterError("timeout", "The model stopped responding (timed out).")
    if isinstance(exc, openai.APIConnectionError):
        return RouterError("unreachable", "Could not reach the router. Check the network or HF_ROUTER_URL.")
    if (
        isinstance(exc, (openai.APIError, ConnectionError, EOFError))
        or "Protocol" in type(exc).__name__
        or ("Transport" in type(exc).__name__ or "ReadError" in type(exc).__name__)
    ):
        return RouterError("stream_cut", "The connection to the model was cut mid-answer.")
    return RouterError("garbled", "The router sent a response the bot could not read.")

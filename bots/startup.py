"""Before and after the chat platforms start: one clear line for what a person can fix (a token the
platform refuses, a network that does not reach it), never a traceback or a log line every 10 seconds."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

from core.config import Settings
from core.startup import StartupFailure

SLACK_API = "https://slack.com/api/"
DISCORD_API = "https://discord.com/api/v10"
SLACK_ATTEMPTS = 3
SLACK_BACKOFF = 2.0  # seconds before the second attempt; doubles after


def _reason(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0]
    return text or type(exc).__name__


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def check_slack(
    settings: Settings,
    attempts: int = SLACK_ATTEMPTS,
    backoff: float = SLACK_BACKOFF,
    say: Callable[[str], None] = _say,
) -> None:
    """Reach Slack's Web API (and check the bot token) a few times before Socket Mode starts: its client
    would otherwise retry forever, a traceback every 10 seconds. Raises StartupFailure."""
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    base_url = (settings.slack_api_url or SLACK_API).rstrip("/") + "/"
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client = AsyncWebClient(token=token, base_url=base_url, timeout=10, retry_handlers=[])
    for attempt in range(1, attempts + 1):
        try:
            await (client.auth_test() if token else client.api_test())
            return
        except SlackApiError as exc:
            error = exc.response.get("error", "") if exc.response is not None else ""
            if error in ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"):
                raise StartupFailure(
                    f"Slack refused SLACK_BOT_TOKEN ({error}): copy the Bot User OAuth Token (xoxb-…) of your app "
                    "into .env"
                ) from None
            raise StartupFailure(f"Slack answered {error or 'an error'} at {base_url}") from None
        except OSError as exc:  # aiohttp's connection errors and timeouts are OSErrors
            line = f"slack: cannot reach {base_url} ({_reason(exc)})"
            if attempt == attempts:
                raise StartupFailure(
                    f"cannot reach Slack at {base_url} after {attempts} attempts ({_reason(exc)}); "
                    "check the network (or SLACK_API_URL)"
                ) from None
            wait = backoff * 2 ** (attempt - 1)
            say(f"{line}; trying again in {wait:g} s (attempt {attempt} of {attempts})")
            await asyncio.sleep(wait)
        except Exception as exc:
            # aiohttp's ClientError that is not an OSError (a bad answer, a closed connection)
            if type(exc).__module__.startswith("aiohttp") and attempt < attempts:
                say(f"slack: no answer from {base_url} ({_reason(exc)}); trying again")
                await asyncio.sleep(backoff)
                continue
            raise


def describe_frontend_failure(name: str, exc: BaseException, settings: Settings) -> str | None:
    """The line for a front end that stopped on something the person can fix, or None."""
    if name == "discord":
        if type(exc).__name__ == "LoginFailure":
            return "Discord refused DISCORD_TOKEN: reset the token on the application's Bot tab and put it in .env"
        if isinstance(exc, OSError) or type(exc).__name__ == "GatewayNotFound":
            where = settings.discord_api_url or DISCORD_API
            return f"cannot reach Discord at {where} ({_reason(exc)}); check the network (or DISCORD_API_URL)"
    if name == "slack" and isinstance(exc, OSError):
        where = settings.slack_api_url or SLACK_API
        return f"cannot reach Slack at {where} ({_reason(exc)}); check the network (or SLACK_API_URL)"
    return None

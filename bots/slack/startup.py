"""Before Socket Mode starts: reach Slack's Web API and check the bot token a few times, each failure one line."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bots.startup import SLACK_API, reason_of, say
from core.config import Settings
from core.startup import StartupFailure

SLACK_ATTEMPTS = 3
SLACK_BACKOFF = 2.0  # seconds before the second attempt; doubles after


async def check_slack(
    settings: Settings,
    attempts: int = SLACK_ATTEMPTS,
    backoff: float = SLACK_BACKOFF,
    say: Callable[[str], None] = say,
) -> None:
    """Reach Slack's Web API (and check the bot token) a few times before Socket Mode starts: its client
    would otherwise retry forever, a traceback every 10 seconds. Raises StartupFailure."""
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
            line = f"slack: cannot reach {base_url} ({reason_of(exc)})"
            if attempt == attempts:
                raise StartupFailure(
                    f"cannot reach Slack at {base_url} after {attempts} attempts ({reason_of(exc)}); "
                    "check the network (or SLACK_API_URL)"
                ) from None
            wait = backoff * 2 ** (attempt - 1)
            say(f"{line}; trying again in {wait:g} s (attempt {attempt} of {attempts})")
            await asyncio.sleep(wait)
        except Exception as exc:
            # aiohttp's ClientError that is not an OSError (a bad answer, a closed connection)
            if type(exc).__module__.startswith("aiohttp") and attempt < attempts:
                say(f"slack: no answer from {base_url} ({reason_of(exc)}); trying again")
                await asyncio.sleep(backoff)
                continue
            raise

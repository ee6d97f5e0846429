"""Before and after the chat platforms start: one clear line for what a person can fix (a token the
platform refuses, a network that does not reach it), never a traceback or a log line every 10 seconds."""

from __future__ import annotations

import sys

from core.config import Settings

SLACK_API = "https://slack.com/api/"
DISCORD_API = "https://discord.com/api/v10"


def reason_of(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0]
    return text or type(exc).__name__


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def describe_frontend_failure(name: str, exc: BaseException, settings: Settings) -> str | None:
    """The line for a front end that stopped on something the person can fix, or None."""
    if name == "discord":
        if type(exc).__name__ == "LoginFailure":
            return "Discord refused DISCORD_TOKEN: reset the token on the application's Bot tab and put it in .env"
        if isinstance(exc, OSError) or type(exc).__name__ == "GatewayNotFound":
            where = settings.discord_api_url or DISCORD_API
            return f"cannot reach Discord at {where} ({reason_of(exc)}); check the network (or DISCORD_API_URL)"
    if name == "slack" and isinstance(exc, OSError):
        where = settings.slack_api_url or SLACK_API
        return f"cannot reach Slack at {where} ({reason_of(exc)}); check the network (or SLACK_API_URL)"
    return None

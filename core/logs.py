"""Logging that keeps the privacy promise: no message text, prompts, answers or tokens in logs.

Several libraries log whole request bodies at DEBUG (aiosqlite logs SQL parameters, the OpenAI SDK
logs request options, discord.py and slack_sdk log payloads). Their loggers are capped at INFO
whatever the configured level, so DEBUG logging of our own code stays safe to turn on.
"""

from __future__ import annotations

import logging

PAYLOAD_LOGGERS = (
    "aiosqlite", "asyncpg", "openai", "httpx", "httpx2", "httpcore", "httpcore2", "hpack",
    "discord.http", "discord.gateway", "discord.client", "discord.state", "discord.webhook",
    "slack_sdk", "slack_bolt", "aiohttp.access", "aiohttp.client", "websockets",
)  # fmt: skip


def cap_payload_loggers(level: int = logging.INFO) -> None:
    """Never below INFO; with a stricter configured level (e.g. WARNING) they follow it."""
    level = max(level, logging.INFO)
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(level)


cap_payload_loggers()

"""Logging that keeps the privacy promise: no message text, prompts, answers or tokens in logs.

Several libraries log whole request bodies at DEBUG (aiosqlite logs SQL parameters, the OpenAI SDK
logs request options, discord.py and slack_sdk log payloads). Their loggers are capped at INFO
whatever the configured level, so DEBUG logging of our own code stays safe to turn on.
"""

from __future__ import annotations

import logging

PAYLOAD_LOGGERS = (
    "aiosqlite", "asyncpg", "openai", "httpx", "httpx2", "httpcore", "hpack",
    "discord.http", "discord.gateway", "discord.client", "discord.state", "discord.webhook",
    "slack_sdk", "slack_bolt", "aiohttp.access", "aiohttp.client", "websockets",
)  # fmt: skip


def cap_payload_loggers(level: int = logging.INFO) -> None:
    for name in PAYLOAD_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < level:
            logger.setLevel(level)


cap_payload_loggers()

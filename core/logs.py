"""Logging that keeps the privacy promise: no message text, prompts, answers or tokens in logs.

Several libraries log whole request bodies at DEBUG (aiosqlite logs SQL parameters, the OpenAI SDK
logs request options, discord.py and slack_sdk log payloads). Their loggers are capped at INFO
whatever the configured level, so DEBUG logging of our own code stays safe to turn on.

The terminal chat logs to a file (the screen is the conversation's); the bots log to stderr.
"""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
PAYLOAD_LOGGERS = (
    "aiosqlite", "asyncpg", "openai", "httpx", "httpx2", "httpcore", "httpcore2", "hpack",
    "discord.http", "discord.gateway", "discord.client", "discord.state", "discord.webhook",
    "slack_sdk", "slack_bolt", "aiohttp.access", "aiohttp.client", "websockets",
)  # fmt: skip
# libraries that log a whole traceback for a network failure they retry (Slack's Socket Mode every 10 s)
RETRYING_LIBRARIES = ("slack_bolt", "slack_sdk", "discord", "aiohttp", "websockets")


def cap_payload_loggers(level: int = logging.INFO) -> None:
    """Never below INFO; with a stricter configured level (e.g. WARNING) they follow it."""
    level = max(level, logging.INFO)
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(level)


class OneLineLibraryErrors(logging.Filter):
    """A library's failure becomes one line (its exception's type and first line) instead of a traceback;
    at DEBUG the traceback stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.name.startswith(RETRYING_LIBRARIES) and logging.getLogger().level > logging.DEBUG:
            exc = record.exc_info[1]
            first = (str(exc).splitlines() or [""])[0]
            record.msg = f"{record.getMessage()} ({type(exc).__name__}: {first})" if exc else record.getMessage()
            record.args, record.exc_info, record.exc_text = (), None, None
        return True


def configure_logging(level: str | int, log_file: Path | None = None) -> None:
    """Log at `level` to stderr, or to `log_file` (rotated; its folder is created) and nowhere else."""
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = RotatingFileHandler(log_file, maxBytes=5_000_000, backupCount=2, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(OneLineLibraryErrors())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # warnings.warn from libraries: into the log, not onto the screen
    cap_payload_loggers(root.level)


cap_payload_loggers()

"""What Slack checks in the newer blocks and streaming chunks the bot sends (slack-sdk 3.47+:
slack_sdk/models/blocks/blocks.py AlertBlock and TableBlock, slack_sdk/models/messages/chunk.py): a request
that breaks these rules is refused with invalid_blocks / invalid_chunks, as Slack does."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.slack.protocol import _ApiError
from tests.fakes.slack.ratelimits import default_spec_dir

TASK_STATUSES = {"pending", "in_progress", "complete", "error"}


def _enum(method: str, argument: str) -> frozenset[str]:
    """An argument's values as the Web API reference lists them."""
    path = default_spec_dir() / "docs.slack.dev" / "methods" / f"{method}.json"
    with open(path, encoding="utf-8") as fh:
        return frozenset(json.load(fh)["args"]["properties"][argument]["enum"])


# chat.startStream's task_display_mode: task cards among the text ("timeline"), or together in one plan block ("plan")
TASK_DISPLAY_MODES = _enum("chat.startStream", "task_display_mode")
ALERT_LEVELS = {"default", "info", "warning", "error", "success"}
TABLE_MAX_ROWS, TABLE_MAX_CELLS = 100, 20  # TableBlock: at most 100 rows of at most 20 cells
TABLE_CELL_TYPES = {"raw_text", "raw_number", "rich_text"}


def check_block(block: Any) -> None:
    if not isinstance(block, dict):
        raise _ApiError("invalid_blocks")
    kind = block.get("type")
    if kind == "alert":
        text = block.get("text")
        if not isinstance(text, dict) or text.get("type") not in ("plain_text", "mrkdwn") or not text.get("text"):
            raise _ApiError("invalid_blocks")
        if block.get("level") is not None and block["level"] not in ALERT_LEVELS:
            raise _ApiError("invalid_blocks")
    elif kind == "table":
        rows = block.get("rows")
        if not isinstance(rows, list) or not 0 < len(rows) <= TABLE_MAX_ROWS:
            raise _ApiError("invalid_blocks")
        for row in rows:
            if not isinstance(row, list) or not 0 < len(row) <= TABLE_MAX_CELLS:
                raise _ApiError("invalid_blocks")
            for cell in row:
                if not isinstance(cell, dict) or cell.get("type") not in TABLE_CELL_TYPES:
                    raise _ApiError("invalid_blocks")
                if cell["type"] == "raw_text" and not isinstance(cell.get("text"), str):
                    raise _ApiError("invalid_blocks")


def check_chunks(chunks: Any) -> None:
    """chat.startStream / appendStream / stopStream `chunks`: markdown_text, task_update, plan_update, blocks."""
    if chunks is None:
        return
    if not isinstance(chunks, list) or not chunks:
        raise _ApiError("invalid_chunks")
    for chunk in chunks:
        kind = chunk.get("type") if isinstance(chunk, dict) else None
        if kind == "markdown_text":
            ok = isinstance(chunk.get("text"), str)
        elif kind == "task_update":
            ok = all(isinstance(chunk.get(k), str) and chunk[k] for k in ("id", "title"))
            ok = ok and chunk.get("status") in TASK_STATUSES
            sources = chunk.get("sources")
            if ok and sources is not None:
                ok = isinstance(sources, list) and all(
                    isinstance(s, dict) and s.get("type") == "url" and s.get("url") and s.get("text") for s in sources
                )
        elif kind == "plan_update":  # PlanUpdateChunk: the plan's title, a string
            ok = isinstance(chunk.get("title"), str) and bool(chunk["title"])
        elif kind == "blocks":
            ok = isinstance(chunk.get("blocks"), list)
            for block in chunk.get("blocks") or []:
                check_block(block)
        else:
            ok = False
        if not ok:
            raise _ApiError("invalid_chunks")

"""Tool progress in Slack: each web search, page read or MCP call as a `task_update` chunk of the native stream
(title, status, the pages it read as `sources`), and the calls that failed as an `alert` block under the answer.
The core says what happens (core.router.client.ToolProgress, in ReplyView.tasks); this module only draws it.
On the edit path the core's compact status line under the text is all there is while the tools run."""

from __future__ import annotations

from typing import Any

from bots.slack.text import neutralize

TITLE_CHARS = 150
DETAIL_CHARS = 300
MAX_SOURCES = 10
ALERT_CHARS = 1_000


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def task_chunk(task: Any) -> dict:
    """slack_sdk's TaskUpdateChunk as JSON (slack_sdk/models/messages/chunk.py)."""
    chunk: dict[str, Any] = {
        "type": "task_update",
        "id": str(task.id)[:64],
        "title": _clip(neutralize(task.title), TITLE_CHARS) or "Tool",
        "status": task.status,
    }
    if task.detail:
        chunk["details"] = _clip(neutralize(task.detail), DETAIL_CHARS)
    if task.sources:
        chunk["sources"] = [
            {"type": "url", "url": url, "text": _clip(neutralize(title or url), TITLE_CHARS)}
            for title, url in task.sources[:MAX_SOURCES]
        ]
    return chunk


class TaskLedger:
    """What each streaming message has been sent of the tool calls, so each change goes once."""

    def __init__(self) -> None:
        self._sent: dict[str, dict[str, tuple]] = {}  # ts -> task id -> (status, sources, detail)

    def pending(self, ts: str, tasks: tuple[Any, ...]) -> tuple[list[dict], dict[str, tuple]]:
        """The chunks of the tasks that changed since `ts` was last sent, and what to record once they went."""
        sent = self._sent.get(ts, {})
        chunks, states = [], {}
        for task in tasks:
            state = (task.status, task.sources, task.detail)
            if sent.get(task.id) != state:
                chunks.append(task_chunk(task))
                states[task.id] = state
        return chunks, states

    def commit(self, ts: str, states: dict[str, tuple]) -> None:
        if states:
            self._sent.setdefault(ts, {}).update(states)

    def forget(self, ts: str) -> None:
        self._sent.pop(ts, None)


def alerts(tasks: tuple[Any, ...]) -> list[dict]:
    """One `alert` block (slack_sdk AlertBlock, level error) listing the tool calls that failed, if any did."""
    failed = [task for task in tasks if task.status == "error"]
    if not failed:
        return []
    lines = [f"*{neutralize(t.title)}* failed" + (f": {neutralize(t.detail)}" if t.detail else "") for t in failed]
    return [
        {"type": "alert", "level": "error", "text": {"type": "mrkdwn", "text": _clip("\n".join(lines), ALERT_CHARS)}}
    ]

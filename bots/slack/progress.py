"""Tool progress in Slack: each web search, page read or MCP call as a `task_update` chunk of the native stream
(title, status, the pages it read as `sources`), and the calls that failed as an `alert` block under the answer.
When the model plans (asks for several calls at once) and the stream starts with them, the stream shows its tasks
as one plan (`task_display_mode` "plan") whose title (`plan_update` chunks) says how far it has got.
The core says what happens (core.router.client.ToolProgress, in ReplyView.tasks); this module only draws it.
On the edit path the core's compact status line under the text is all there is while the tools run."""

from __future__ import annotations

from collections import Counter
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


def planned(tasks: tuple[Any, ...]) -> bool:
    """The model asked for several tool calls at once (in one step): they are a plan."""
    return any(n > 1 for n in Counter(getattr(task, "step", 0) for task in tasks).values())


def plan_title(tasks: tuple[Any, ...]) -> str:
    """The plan's title: how many steps, how many done, how many failed."""
    failed = sum(1 for task in tasks if task.status == "error")
    ended = failed + sum(1 for task in tasks if task.status == "complete")
    if ended < len(tasks):
        return f"Working through {len(tasks)} steps ({ended} done)"
    return f"Done: {len(tasks)} steps" + (f", {failed} failed" if failed else "")


PLAN = "plan"  # the ledger's key for a plan's title, beside the task ids


class TaskLedger:
    """What each streaming message has been sent of the tool calls, so each change goes once; and which messages
    show their tasks as a plan."""

    def __init__(self) -> None:
        self._sent: dict[str, dict[str, Any]] = {}  # ts -> task id -> (status, sources, detail); PLAN -> its title
        self._plans: set[str] = set()  # the messages started in plan mode

    def pending(self, ts: str, tasks: tuple[Any, ...], plan: bool = False) -> tuple[list[dict], dict[str, Any]]:
        """The chunks of the tasks that changed since `ts` was last sent (after the plan's new title when `ts` shows
        a plan, or `plan` says the message about to start will), and what to record once they went."""
        sent = self._sent.get(ts, {})
        chunks, states = [], {}
        if (plan or ts in self._plans) and tasks and (title := plan_title(tasks)) != sent.get(PLAN):
            chunks.append({"type": "plan_update", "title": title})
            states[PLAN] = title
        for task in tasks:
            state = (task.status, task.sources, task.detail)
            if sent.get(task.id) != state:
                chunks.append(task_chunk(task))
                states[task.id] = state
        return chunks, states

    def commit(self, ts: str, states: dict[str, Any], plan: bool = False) -> None:
        if plan:
            self._plans.add(ts)
        if states:
            self._sent.setdefault(ts, {}).update(states)

    def forget(self, ts: str) -> None:
        self._sent.pop(ts, None)
        self._plans.discard(ts)


def alerts(tasks: tuple[Any, ...]) -> list[dict]:
    """One `alert` block (slack_sdk AlertBlock, level error) listing the tool calls that failed, if any did."""
    failed = [task for task in tasks if task.status == "error"]
    if not failed:
        return []
    lines = [f"*{neutralize(t.title)}* failed" + (f": {neutralize(t.detail)}" if t.detail else "") for t in failed]
    return [
        {"type": "alert", "level": "error", "text": {"type": "mrkdwn", "text": _clip("\n".join(lines), ALERT_CHARS)}}
    ]

"""What one answer is while it streams (`ReplyState`: its text, reasoning, tool calls, status and timings), what
rendering it cost (`RenderStats`), and the notices the engine writes under an answer."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from core.errors import RouterError
from core.records import MessageStatus
from core.router.events import ToolProgress


@dataclass(slots=True)
class ReplyState:
    answer: str = ""
    reasoning: str = ""
    status: str = MessageStatus.STREAMING
    notice: str = ""  # shown under the answer: an error, "stopped", "cut at the length limit"
    activity: str = ""  # what tools are doing right now, shown only while streaming
    tasks: dict[str, ToolProgress] = field(default_factory=dict)  # every tool call so far, by id, newest state
    tasks_version: int = 0
    done: bool = False
    model: str = ""
    provider: str = ""
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    started_at: float = field(default_factory=time.monotonic)
    first_token_at: float | None = None
    reasoning_started_at: float | None = None
    reasoning_ended_at: float | None = None
    ended_at: float | None = None
    error: RouterError | None = None
    version: int = 0

    @property
    def reasoning_seconds(self) -> float | None:
        if self.reasoning_started_at is None:
            return None
        end = self.reasoning_ended_at or self.ended_at or time.monotonic()
        return round(end - self.reasoning_started_at, 1)

    @property
    def first_token_ms(self) -> float | None:
        return None if self.first_token_at is None else round((self.first_token_at - self.started_at) * 1000, 1)

    @property
    def total_ms(self) -> float | None:
        return None if self.ended_at is None else round((self.ended_at - self.started_at) * 1000, 1)


NOTICE_STOPPED = "⏹️ *Stopped.*"
NOTICE_TRUNCATED = "✂️ *The answer reached the length limit. Continue picks it up where it stopped.*"
NOTICE_EMPTY = "*The model returned an empty answer.*"
NOTICE_EXPIRED = "⏱️ *Stopped: this reply reached the time the platform allows it. Continue picks it up.*"
NOTICE_IN_FILE = "📄 *The rest of the answer is in the file below.*"
THINKING = "💭 *Thinking…*"


@dataclass(slots=True)
class RenderStats:
    posts: int = 0
    edits: int = 0
    appends: int = 0
    rate_limited: int = 0
    failures: int = 0
    messages: int = 0

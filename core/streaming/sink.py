"""What the engine needs from a platform: its limits, the sink it talks back through, and the errors a sink
raises to tell the engine what the platform said (429, a message gone, a native stream refused, a place the bot
may not write to)."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class PlatformLimits:
    max_chars: int = 2000  # characters per message
    edit_interval: float = 1.0  # minimum seconds between requests in one lane (channel)
    bucket_rate: float | None = None  # requests per second shared by a bucket (workspace, bot)
    bucket_burst: int = 1
    native_append: bool = False  # the platform appends to a streaming message itself (Slack)
    file_after_messages: int = 4  # past this many messages the whole answer also comes as a file; 0 = never
    # False when posting a new message has its own per-channel limit and must not wait on the shared
    # budget (Slack: chat.postMessage ~1/s per channel, chat.update ~50/min per workspace)
    posts_use_bucket: bool = True
    # False when ending a native stream is a request with its own budget (Slack rates each method apart:
    # chat.stopStream does not spend chat.appendStream's), so a finished answer never queues behind appends
    stops_use_bucket: bool = True
    # new messages a channel may take back to back before the cadence applies (Slack's chat.postMessage allows
    # short bursts per channel): several answers starting at once in one channel all show up at once
    post_burst: int = 1
    typing_indicator: str = " ▌"
    # at most this many messages of text per answer (0 = no limit): past it the last one stops growing and the whole
    # answer comes as a file (a Discord interaction where the bot is not present: 5 follow-ups, one kept for the file)
    max_messages: int = 0
    # a native stream that expires (Slack: about 5 minutes) is ended before it does, once it is this many seconds old
    # (0 = never): at a paragraph break, and past `stream_max_age` wherever the text is; the answer goes on in a new
    # message, a code fence open at the cut closed there and reopened with its language
    # > 0: a burst of answers after a quiet spell shares what the budget has on hand over as long as they have
    # streamed (at least this many seconds) rather than over ~30 s (core.streaming.throttle: _Bucket.fair_interval)
    fair_horizon_min: float = 0.0
    # True: the fair share spreads what the budget has on hand over the time the answers streaming are expected to
    # stream still, learned from how long the answers that ended lasted (core.streaming.lengths); wins over
    # `fair_horizon_min`
    learn_answer_lengths: bool = False
    stream_rotate_after: float = 0.0
    stream_max_age: float = 0.0
    # which of the platform's limits the shared budget is (the same name in every process: budgets shared across
    # processes are keyed by it and the bucket, e.g. "discord-global" and the bot, "slack-chat.update" and the team)
    budget: str = ""


class RateLimited(Exception):
    """Raised by a sink when the platform answered 429."""

    def __init__(self, retry_after: float, scope_global: bool = False):
        super().__init__(f"rate limited for {retry_after:.2f}s")
        self.retry_after = retry_after
        self.scope_global = scope_global


class MessageGone(Exception):
    """Raised by a sink when the message to edit no longer exists (deleted by someone)."""


class StreamUnavailable(Exception):
    """Raised by a sink when native streaming is refused or expired.

    `ref` is the message already on screen (to finish with edits), or None if nothing was posted.
    """

    def __init__(self, reason: str, ref: Any = None):
        super().__init__(reason)
        self.ref = ref


class StoppedByUser(Exception):
    """Raised by a sink when the platform says the person stopped the answer there (Slack's native Stop: an append
    refused with `stopped_by_user`). The engine stops generating and closes the message with what was written;
    the answer ends STOPPED, as with the Stop button."""


class Undeliverable(Exception):
    """Raised by a sink when the platform refuses the answer for good: the bot may not (or can no longer) write
    where it goes, e.g. Discord's 403/404 on the channel. Final: the engine sends nothing more, stops generating,
    tells the user elsewhere if the sink can (its optional `undeliverable(exc)`), and the answer ends
    UNDELIVERED. `str(exc)` is a short reason for the log, never user text; `code` the platform's error code."""

    def __init__(self, reason: str, code: int | str | None = None):
        super().__init__(reason)
        self.code = code


@dataclass(slots=True)
class ReplyView:
    """What an adapter needs to decorate one message: buttons, footer."""

    reply_id: int | None
    phase: str  # "streaming" | "done"
    status: str
    is_last: bool  # the last message of the answer carries the controls
    index: int
    model: str = ""
    provider: str = ""
    reasoning_seconds: float | None = None
    has_reasoning: bool = False
    conversation_id: int | None = None
    # the answer's tool calls so far, newest state of each (core.router.client.ToolProgress), in the order they began
    tasks: tuple[Any, ...] = ()


class ReplySink(Protocol):
    """What an adapter gives the engine to talk back to its platform."""

    limits: PlatformLimits
    lane: Hashable  # one lane per channel or thread: its own edit cadence
    bucket: Hashable | None  # shared budget, e.g. the workspace
    # optional: `fallback_limits`, the limits of the edit path once a native stream is refused
    # optional: `post_lane`, where new messages are paced when that differs from updates (Slack: a new message
    # is limited per channel, while answers in the channel's threads are updated independently); default `lane`
    # optional: `expires_at`, a time.monotonic() after which the sink can no longer write (Discord's interaction
    # token lives 15 minutes): the answer is stopped in time for its final text to go out
    # optional: `async ask(question)`, shows a clarifying question (core.replies.clarify) where the answer goes
    # optional: `async working()`, called once as the answer starts (before the model is asked): the platform shows
    # the answer is being worked on (Slack: the agent session's `processing`); the final message's view
    # (phase "done", is_last) is where it shows the work is over

    async def post(self, text: str, view: ReplyView) -> Any: ...

    async def edit(self, ref: Any, text: str, view: ReplyView) -> None: ...

    async def upload(self, filename: str, content: str, view: ReplyView) -> None: ...

    def ref_id(self, ref: Any) -> str:
        """The platform's id for a posted message (stored to find the answer again)."""
        ...

    # only called when limits.native_append is True
    async def stream_start(self, text: str, view: ReplyView) -> Any: ...

    async def stream_append(self, ref: Any, delta: str, view: ReplyView) -> None: ...

    async def stream_stop(self, ref: Any, delta: str, view: ReplyView) -> None: ...

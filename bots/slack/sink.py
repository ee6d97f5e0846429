"""The ReplySink for Slack: native streaming (chat.startStream/appendStream/stopStream) where Slack allows
it, chat.postMessage + chat.update otherwise. The core does the pacing, splitting and fallback; this
module only speaks Slack and maps its errors to the core's exceptions."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bots.slack.progress import TaskLedger, alerts
from bots.slack.tables import TABLES_PER_MESSAGE, pieces
from bots.slack.text import neutralize, unsafe_tail
from bots.slack.views import controls
from core.streaming import (
    MessageGone,
    PlatformLimits,
    RateLimited,
    ReplyView,
    StoppedByUser,
    StreamUnavailable,
    Undeliverable,
)
from core.streaming.tables import open_table_at_end
from core.streaming.throttle import Priority, Throttle

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

# One limits value per mode: the core keeps one Throttle per distinct PlatformLimits.
# post_lane = (team, channel): chat.postMessage allows about 1/s per channel with short bursts (2 here);
# lane = the thread: each answer its own cadence. bucket = team: the per-workspace tier, shared by every answer.
# Slack's tiers are "N per minute" with bursts allowed: a token bucket of about a minute's worth refilled at N
# per minute, kept here a little under both (if Slack counted per fixed minute instead, a 429 would hold the
# whole workspace back for its Retry-After, and delivery would go on).
NATIVE_LIMITS = PlatformLimits(
    max_chars=11_000,  # markdown_text takes 12,000; leave room for escapes
    edit_interval=0.5,
    # chat.appendStream is Tier 4 (100+ per minute per workspace)
    bucket_rate=1.5,
    bucket_burst=80,
    native_append=True,
    # starting a stream is a new message in its channel (paced by the lane): it must not queue behind
    # every other answer's appends, or under load nobody sees a first word for tens of seconds
    posts_use_bucket=False,
    post_burst=3,  # chat.startStream's own limit is not published: as chat.postMessage's, a little bolder
    stops_use_bucket=False,  # chat.stopStream has its own budget (one call per answer, like startStream)
    budget="slack-chat.appendStream",
    # answers that begin together after a quiet spell share the burst over as long as they have streamed, from 5 s
    fair_horizon_min=5.0,
    # a native stream expires after about 5 minutes (observed, not documented): end it at a paragraph break from
    # 4 minutes on, wherever the text is at 4.5, and go on in a new message
    stream_rotate_after=240.0,
    stream_max_age=270.0,
)
# chat.update is Tier 3 (50+ per minute per workspace)
EDIT_LIMITS = PlatformLimits(
    max_chars=3_900,
    edit_interval=1.0,
    bucket_rate=0.75,
    bucket_burst=40,
    posts_use_bucket=False,
    post_burst=2,
    budget="slack-chat.update",
    # (no fair_horizon_min: the final edits draw on this Tier 3 budget too, and spending it early starves them)
)

# chat.startStream and chat.stopStream are Tier 2 (20+ per minute per workspace), each a budget of its own: a
# native answer starts only while the start budget has room (else it is posted and edited, with no 429 first),
# and its stop waits for the stop budget (every stream started must be stopped)
START_STREAM_LIMITS = PlatformLimits(
    edit_interval=0.0, bucket_rate=19 / 60, bucket_burst=18, budget="slack-chat.startStream"
)
STOP_STREAM_LIMITS = PlatformLimits(
    edit_interval=0.0, bucket_rate=19 / 60, bucket_burst=18, budget="slack-chat.stopStream"
)

# agents.sessions.setStatus is Tier 3 (50+ per minute per workspace): a status drawn from its own budget, so a burst
# of answers never draws a 429 for it ("processing" is skipped when the budget is spent, "active" waits for it)
SESSION_STATUS_LIMITS = PlatformLimits(
    edit_interval=0.0, bucket_rate=48 / 60, bucket_burst=45, budget="slack-agents.sessions.setStatus"
)

# errors that mean "this message cannot (or can no longer) be streamed natively: finish with edits"
STREAM_ERRORS = frozenset(
    {
        "channel_type_not_supported",
        "missing_recipient_team_id",
        "missing_recipient_user_id",
        "message_not_in_streaming_state",
        "streaming_not_supported",
        "not_allowed",
        "unknown_method",
        "method_deprecated",
        "feature_not_enabled",
    }
)
# errors that mean "the bot may not (or can no longer) write here": retrying cannot help (the chat.* methods'
# errors in the Web API reference that are about the channel or the workspace, not about the request)
UNDELIVERABLE_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "messages_tab_disabled",
        "ekm_access_denied",
        "app_access_restricted",
        "posting_to_channel_denied",
        "team_not_found",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "restricted_action_thread_locked",
    }
)
FALLBACK_TEXT_CHARS = 3_000  # the notification text next to the markdown block
# When the start budget is spent, a new answer waits for a start only if it comes no later than the edit path could
# post its first text (the channel's chat.postMessage cadence) and this much more: a tie goes to the native stream,
# whose updates then draw on chat.appendStream's Tier 4 rather than chat.update's Tier 3
START_PATIENCE = 0.25


@dataclass(frozen=True, slots=True)
class SlackRef:
    channel: str
    ts: str


def message_id(channel: str, ts: str) -> str:
    """How the core stores a Slack message id: ts alone is only unique within a channel."""
    return f"{channel}/{ts}"


def retry_after(exc: SlackApiError) -> float:
    headers = getattr(exc.response, "headers", None) or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(float(value if isinstance(value, str) else value[0]), 0.0)
            except (TypeError, ValueError, IndexError):
                break
    return 1.0


def slack_error(exc: SlackApiError) -> str:
    try:
        return str(exc.response.get("error") or "")
    except Exception:
        return ""


class SlackSink:
    """Talks back into one Slack thread for one answer."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        team: str,
        channel: str,
        thread_ts: str,
        user: str,
        limits: PlatformLimits,
        on_stream_refused: Any = None,
        assistant_thread: bool = False,
        stream_budgets: tuple[Throttle, Throttle] | None = None,
        post_throttle: Throttle | None = None,
        session_budget: Throttle | None = None,
    ):
        self.client = client
        self.team, self.channel, self.thread_ts, self.user = team, channel, thread_ts, user
        self.assistant_thread = assistant_thread  # a thread of Slack's AI-app side panel (it has a title)
        self.limits = limits
        self.fallback_limits = EDIT_LIMITS if limits.native_append else None
        # chat.postMessage is limited per channel, so new messages are paced per channel; updates and appends
        # draw only on the workspace's budget, so each answer keeps its own cadence (threads never share a timer)
        self.post_lane = (team, channel)
        self.lane = (team, channel, thread_ts)
        self.bucket = team
        self._on_stream_refused = on_stream_refused
        self.stream_budgets = stream_budgets  # chat.startStream's and chat.stopStream's (START/STOP_STREAM_LIMITS)
        self.post_throttle = post_throttle  # the edit path's (EDIT_LIMITS): when it could post in this channel
        self.session_budget = session_budget  # agents.sessions.setStatus's (SESSION_STATUS_LIMITS)
        self._held: dict[str, str] = {}  # ts -> raw text a native stream holds back (a possible mention)
        self._tasks = TaskLedger()  # the tool calls each native stream has shown
        self._streamed: dict[str, str] = {}  # ts -> the raw text a native stream has been sent (to find its tables)
        self._tables: dict[str, int] = {}  # ts -> table blocks a native stream has been sent

    # plumbing
    async def _call(
        self, request: Awaitable[Any], ref: SlackRef | None = None, *, streaming: bool = False, shared: bool = False
    ) -> Any:
        """`shared`: the method's limit is the workspace's (chat.update, chat.appendStream), so its 429 holds back
        every answer in the workspace, not only this one."""
        try:
            return await request
        except SlackApiError as exc:
            error = slack_error(exc)
            if exc.response.status_code == 429 or error in ("ratelimited", "rate_limited"):
                raise RateLimited(retry_after(exc), scope_global=shared) from None
            if error == "message_not_found":
                raise MessageGone() from None
            if error in UNDELIVERABLE_ERRORS:
                raise Undeliverable(error, code=error) from None
            if streaming and error == "stopped_by_user":
                raise StoppedByUser() from None  # Slack's native Stop was pressed: agent_session_stopped follows
            if streaming and error in STREAM_ERRORS:
                if error == "channel_type_not_supported" and self._on_stream_refused:
                    self._on_stream_refused(self.channel)
                raise StreamUnavailable(error, ref) from None
            log.warning("slack call failed: %s", error or exc.response.status_code)
            raise

    def _blocks(self, text: str, view: ReplyView) -> list[dict]:
        if view.phase != "done" and (table := open_table_at_end(text)) is not None and not table[1]:
            text = text[: table[0]]  # a table's header whose separator row has not come yet: wait for it
        blocks: list[dict] = [
            {"type": "markdown", "text": neutralize(piece)} if isinstance(piece, str) else piece
            for piece in pieces(text)
            if not isinstance(piece, str) or piece.strip()
        ] or [{"type": "markdown", "text": "…"}]
        if view.is_last:
            blocks += alerts(view.tasks) + controls(view)
        return blocks

    @staticmethod
    def _fallback(text: str) -> str:
        return neutralize(text[:FALLBACK_TEXT_CHARS]) or " "

    # edit path
    async def post(self, text: str, view: ReplyView) -> SlackRef:
        response = await self._call(
            self.client.chat_postMessage(
                channel=self.channel,
                thread_ts=self.thread_ts,
                text=self._fallback(text),
                blocks=self._blocks(text, view),
                unfurl_links=False,
                unfurl_media=False,
            )
        )
        if _finished(view):
            await self._session_status("active")
        return SlackRef(response.get("channel") or self.channel, response["ts"])

    async def edit(self, ref: SlackRef, text: str, view: ReplyView) -> None:
        self._forget(ref.ts)
        await self._call(
            self.client.chat_update(
                channel=ref.channel, ts=ref.ts, text=self._fallback(text), blocks=self._blocks(text, view)
            ),
            ref,
            shared=True,
        )
        if _finished(view):
            await self._session_status("active")

    async def upload(self, filename: str, content: str, view: ReplyView) -> None:
        await self._call(
            self.client.files_upload_v2(
                channel=self.channel,
                thread_ts=self.thread_ts,
                content=content,
                filename=filename,
                title="The whole answer",
            )
        )

    def ref_id(self, ref: SlackRef) -> str:
        return message_id(ref.channel, ref.ts)

    async def set_title(self, title: str) -> None:
        """The core named the conversation: its agent session takes the title, and an AI-app thread shows it in
        the side panel's history."""
        try:
            await self.client.agents_sessions_rename(
                channel_id=self.channel, thread_ts=self.thread_ts, title=title.strip()[:200]
            )
        except SlackApiError as exc:
            log.debug("agents.sessions.rename failed: %s", slack_error(exc))
        if not self.assistant_thread:
            return
        try:
            await self.client.assistant_threads_setTitle(
                channel_id=self.channel, thread_ts=self.thread_ts, title=title.strip()[:255]
            )
        except SlackApiError as exc:
            log.debug("assistant.threads.setTitle failed: %s", slack_error(exc))

    # native streaming
    def _release(self, ts: str, raw: str, final: bool) -> tuple[str, str]:
        """(raw text to send now, raw text to hold back): a possible mention at the end waits for more, and so does
        a table still being written (it goes whole, as a table block, once a line after it has begun)."""
        raw = self._held.get(ts, "") + raw
        if final:
            return raw, ""
        hold = unsafe_tail(raw)
        whole = self._streamed.get(ts, "") + raw
        table = open_table_at_end(whole)
        if table is not None:
            hold = max(hold, len(whole) - max(table[0], len(whole) - len(raw)))
        return raw[: len(raw) - hold], raw[len(raw) - hold :]

    def _content(self, ts: str, raw: str, tasks: list[dict]) -> tuple[dict[str, Any], int]:
        """What a stream call carries of `raw` (released text) and `tasks`: `markdown_text` alone when it can, else
        `chunks` (the text, its complete tables as table blocks, then the tool calls). And how many tables it drew."""
        before = self._streamed.get(ts, "")
        left = TABLES_PER_MESSAGE - self._tables.get(ts, 0)
        chunks: list[dict] = []
        for part in pieces(before + raw, after=len(before), tables=left) if raw else []:
            if isinstance(part, dict):
                chunks.append({"type": "blocks", "blocks": [part]})
            elif part:
                chunks.append({"type": "markdown_text", "text": neutralize(part)})
        drawn = sum(1 for chunk in chunks if chunk["type"] == "blocks")
        if tasks or drawn:
            return {"chunks": chunks + tasks}, drawn
        text = "".join(chunk["text"] for chunk in chunks)
        return ({"markdown_text": text} if text else {}), 0

    def _commit(self, ts: str, sent: str, held: str, drawn: int = 0) -> None:
        self._streamed[ts] = self._streamed.get(ts, "") + sent
        if drawn:
            self._tables[ts] = self._tables.get(ts, 0) + drawn
        if held:
            self._held[ts] = held
        else:
            self._held.pop(ts, None)

    def _forget(self, ts: str) -> None:
        for record in (self._held, self._streamed, self._tables):
            record.pop(ts, None)
        self._tasks.forget(ts)

    async def stream_start(self, text: str, view: ReplyView) -> SlackRef:
        if self.stream_budgets is not None and not await self._start_budget():
            raise StreamUnavailable("chat.startStream budget spent")  # posted and edited instead, no 429 first
        kwargs: dict[str, Any] = {}
        if not self.channel.startswith("D"):  # outside DMs Slack must know who watches the stream
            kwargs = {"recipient_team_id": self.team, "recipient_user_id": self.user}
        sent, held = self._release("", text, final=False)
        tasks, states = self._tasks.pending("", view.tasks)
        content, drawn = self._content("", sent, tasks)
        response = await self._call(
            self.client.chat_startStream(
                channel=self.channel, thread_ts=self.thread_ts, **(content or {"markdown_text": ""}), **kwargs
            ),
            streaming=True,
        )
        ref = SlackRef(response.get("channel") or self.channel, response["ts"])
        self._commit(ref.ts, sent, held, drawn)
        self._tasks.commit(ref.ts, states)
        return ref

    async def _start_budget(self) -> bool:
        """A chat.startStream from the workspace's Tier 2 budget, if one comes before the edit path could show
        this answer's first text (chat.postMessage in this channel); False: post and edit instead."""
        assert self.stream_budgets is not None
        post_wait = (
            self.post_throttle.ready_in(self.post_lane, EDIT_LIMITS.post_burst)
            if self.post_throttle is not None
            else 0.0
        )
        return await self.stream_budgets[0].take_within(self.team, post_wait + START_PATIENCE)

    async def stream_append(self, ref: SlackRef, delta: str, view: ReplyView) -> None:
        sent, held = self._release(ref.ts, delta, final=False)
        tasks, states = self._tasks.pending(ref.ts, view.tasks)
        content, drawn = self._content(ref.ts, sent, tasks)
        if content:
            await self._call(
                self.client.chat_appendStream(channel=ref.channel, ts=ref.ts, **content),
                ref,
                streaming=True,
                shared=True,
            )
        self._commit(ref.ts, sent, held, drawn)
        self._tasks.commit(ref.ts, states)

    async def stream_stop(self, ref: SlackRef, delta: str, view: ReplyView) -> None:
        sent, _ = self._release(ref.ts, delta, final=True)
        tasks, _states = self._tasks.pending(ref.ts, view.tasks)
        kwargs, _drawn = self._content(ref.ts, sent, tasks)
        blocks = alerts(view.tasks) + controls(view) if view.is_last else []
        if blocks:
            kwargs["blocks"] = blocks
        if _finished(view):
            kwargs["session_status"] = "active"  # the session leaves `processing` in the same call
        if self.stream_budgets is not None:
            await self.stream_budgets[1].take(self.team, Priority.URGENT)
        await self._call(self.client.chat_stopStream(channel=ref.channel, ts=ref.ts, **kwargs), ref, streaming=True)
        self._forget(ref.ts)

    # agent sessions: `processing` while the answer is worked on, `active` once it is done (on the native path in
    # the chat.stopStream that ends it; on the edit path with the final edit)
    async def working(self) -> None:
        await self._session_status("processing")

    async def _session_status(self, status: str) -> None:
        if self.session_budget is not None:
            if status == "processing":
                if not await self.session_budget.try_take_now(self.team):
                    return  # a nicety that would draw a 429: the answer itself shows the work
            else:
                await self.session_budget.take(self.team, Priority.URGENT)
        try:
            await self.client.agents_sessions_setStatus(
                channel_id=self.channel, thread_ts=self.thread_ts, status=status
            )
        except Exception as exc:  # a status is a nicety: the answer is what matters
            why = slack_error(exc) if isinstance(exc, SlackApiError) else type(exc).__name__
            log.debug("agents.sessions.setStatus failed: %s", why)


def _finished(view: ReplyView) -> bool:
    """The answer's last message in its final form: the work is over."""
    return view.is_last and view.phase == "done"

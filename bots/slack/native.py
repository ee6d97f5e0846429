"""Native streaming in Slack (chat.startStream / appendStream / stopStream): what each call carries of the text the
core hands over (a possible mention at the end held back, complete tables as table blocks, the tool calls as
`task_update` chunks, several asked for at once as one plan), and the Tier 2 budgets a stream's start and stop draw
on. The core decides when each call goes (core.streaming); this only speaks Slack."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bots.slack.calls import SlackRef
from bots.slack.progress import TaskLedger, alerts, planned
from bots.slack.tables import TABLES_PER_MESSAGE, pieces
from bots.slack.text import neutralize, unsafe_tail
from bots.slack.tiers import EDIT_LIMITS, START_PATIENCE
from bots.slack.views import controls
from core.streaming import ReplyView, StreamUnavailable
from core.streaming.tables import open_table_at_end
from core.streaming.throttle import Priority, Throttle

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from slack_sdk.web.async_client import AsyncWebClient


class NativeStreams:
    """The native half of SlackSink (bots.slack.sink): the sink sets the attributes declared here."""

    client: AsyncWebClient
    team: str
    channel: str
    thread_ts: str
    user: str
    post_lane: tuple[str, str]
    stream_budgets: tuple[Throttle, Throttle] | None  # chat.startStream's and chat.stopStream's
    post_throttle: Throttle | None  # the edit path's: when it could post in this channel
    _call: Callable[..., Awaitable[Any]]  # the sink's: one Web API call, its errors mapped to the core's

    def _init_native(self) -> None:
        self._held: dict[str, str] = {}  # ts -> raw text a native stream holds back (a possible mention)
        self._tasks = TaskLedger()  # the tool calls each native stream has shown
        self._streamed: dict[str, str] = {}  # ts -> the raw text a native stream has been sent (to find its tables)
        self._tables: dict[str, int] = {}  # ts -> table blocks a native stream has been sent

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
        # the model planned (several calls at once) before a word of the answer: its calls show as one plan
        plan = planned(view.tasks)
        if plan:
            kwargs["task_display_mode"] = "plan"
        tasks, states = self._tasks.pending("", view.tasks, plan=plan)
        content, drawn = self._content("", sent, tasks)
        response = await self._call(
            self.client.chat_startStream(
                channel=self.channel, thread_ts=self.thread_ts, **(content or {"markdown_text": ""}), **kwargs
            ),
            streaming=True,
        )
        ref = SlackRef(response.get("channel") or self.channel, response["ts"])
        self._commit(ref.ts, sent, held, drawn)
        self._tasks.commit(ref.ts, states, plan=plan)
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
        if finished(view):
            kwargs["session_status"] = "active"  # the session leaves `processing` in the same call
        if self.stream_budgets is not None:
            await self.stream_budgets[1].take(self.team, Priority.URGENT)
        await self._call(self.client.chat_stopStream(channel=ref.channel, ts=ref.ts, **kwargs), ref, streaming=True)
        self._forget(ref.ts)


def finished(view: ReplyView) -> bool:
    """The answer's last message in its final form: the work is over."""
    return view.is_last and view.phase == "done"

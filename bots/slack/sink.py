"""The ReplySink for Slack: native streaming (chat.startStream/appendStream/stopStream, bots.slack.native) where
Slack allows it, chat.postMessage + chat.update otherwise, within the tiers of bots.slack.tiers. The core does the
pacing, splitting and fallback; this module only speaks Slack and maps its errors to the core's exceptions
(bots.slack.calls)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bots.slack.calls import SlackRef, message_id, slack_error, translate
from bots.slack.native import NativeStreams, finished
from bots.slack.progress import alerts
from bots.slack.tables import pieces
from bots.slack.text import neutralize
from bots.slack.tiers import EDIT_LIMITS
from bots.slack.views import controls
from core.streaming import PlatformLimits, ReplyView, StreamUnavailable
from core.streaming.tables import open_table_at_end
from core.streaming.throttle import Priority, Throttle

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

FALLBACK_TEXT_CHARS = 3_000  # the notification text next to the markdown block


class SlackSink(NativeStreams):
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
        self._init_native()

    # plumbing
    async def _call(
        self, request: Awaitable[Any], ref: SlackRef | None = None, *, streaming: bool = False, shared: bool = False
    ) -> Any:
        """`shared`: the method's limit is the workspace's (chat.update, chat.appendStream), so its 429 holds back
        every answer in the workspace, not only this one."""
        try:
            return await request
        except SlackApiError as exc:
            mapped = translate(exc, ref, streaming=streaming, shared=shared)
            if mapped is None:
                raise
            if isinstance(mapped, StreamUnavailable) and str(mapped) == "channel_type_not_supported":
                if self._on_stream_refused:
                    self._on_stream_refused(self.channel)
            raise mapped from None

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
        if finished(view):
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
        if finished(view):
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

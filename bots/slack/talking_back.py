"""Talking back in Slack: the sink an answer streams through, notes and Markdown only one person sees, posts,
deletions, AI-app thread calls, DMs and file uploads. Mixed into `SlackAdapter` (bots/slack/adapter.py)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bots.slack.calls import slack_error
from bots.slack.sink import SlackSink
from bots.slack.text import neutralize
from bots.slack.tiers import EDIT_LIMITS, SESSION_STATUS_LIMITS, START_STREAM_LIMITS, STOP_STREAM_LIMITS
from bots.slack.views import clip, markdown_blocks
from core.errors import NotAllowed

log = logging.getLogger(__name__)

REPLY_TEXT_CHARS = 3_000  # the notification text sent next to a markdown block


class TalkingBack:
    """Mixed into `SlackAdapter`: `client` (the request's workspace), `chat`, `native_streaming`, `native_limits`,
    `edit_limits` and `_no_stream` are its."""

    def sink(self, team: str, channel: str, thread_ts: str, user: str, *, assistant_thread: bool = False) -> SlackSink:
        native = self.native_streaming and channel not in self._no_stream
        return SlackSink(
            self.client,
            team=team,
            channel=channel,
            thread_ts=thread_ts,
            user=user,
            limits=self.native_limits if native else self.edit_limits,
            on_stream_refused=self._no_stream.add,
            assistant_thread=assistant_thread,
            stream_budgets=(
                self.chat.throttles.for_limits(START_STREAM_LIMITS),
                self.chat.throttles.for_limits(STOP_STREAM_LIMITS),
            )
            if native
            else None,
            post_throttle=self.chat.throttles.for_limits(EDIT_LIMITS) if native else None,
            session_budget=self.chat.throttles.for_limits(SESSION_STATUS_LIMITS),
        )

    async def tell(self, channel: str, user: str, text: str, thread_ts: str | None = None) -> None:
        """A short note only the user sees."""
        try:
            await self.client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts)
        except SlackApiError as exc:
            log.warning("chat.postEphemeral failed: %s", slack_error(exc))

    async def ephemeral(
        self, channel: str, user: str, text: str, thread_ts: str | None = None, blocks: list[dict] | None = None
    ) -> None:
        """Markdown only `user` sees, in the channel (and thread)."""
        text = neutralize(text)
        try:
            await self.client.chat_postEphemeral(
                channel=channel,
                user=user,
                thread_ts=thread_ts,
                text=clip(text, REPLY_TEXT_CHARS),
                blocks=markdown_blocks(text) + (blocks or []),
            )
        except SlackApiError as exc:
            log.warning("chat.postEphemeral failed: %s", slack_error(exc))

    async def post(self, channel: str, text: str, thread_ts: str | None = None) -> None:
        try:
            await self.client.chat_postMessage(channel=channel, text=text, thread_ts=thread_ts)
        except SlackApiError as exc:
            log.warning("chat.postMessage failed: %s", slack_error(exc))

    async def post_root(self, channel: str, text: str, thread_ts: str | None = None) -> Any:
        """The bot's message that opens a thread (a starter prompt, a comparison)."""
        try:
            return await self.client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, text=clip(text, REPLY_TEXT_CHARS), blocks=markdown_blocks(text)
            )
        except SlackApiError as exc:
            log.warning("chat.postMessage failed: %s", slack_error(exc))
            raise NotAllowed("I cannot post in this conversation; invite me to the channel first.") from None

    async def delete_quietly(self, channel: str, ts: str) -> None:
        try:
            await self.client.chat_delete(channel=channel, ts=ts)
        except SlackApiError as exc:
            log.debug("chat.delete failed: %s", slack_error(exc))

    async def assistant_call(self, method: str, **kwargs: Any) -> None:
        """A call about an AI-app thread (status, title), which fails outside one: nothing to show then."""
        try:
            await getattr(self.client, method.replace(".", "_"))(**kwargs)
        except SlackApiError as exc:
            log.debug("%s failed: %s", method, slack_error(exc))

    async def dm_channel(self, user: str) -> str:
        """The DM channel between the bot and `user` (files meant for them alone go there)."""
        return (await self.client.conversations_open(users=user))["channel"]["id"]

    async def upload(self, channel: str, filename: str, content: str, title: str, comment: str) -> None:
        try:
            await self.client.files_upload_v2(
                channel=channel, content=content, filename=filename, title=title, initial_comment=neutralize(comment)
            )
        except SlackApiError as exc:
            log.warning("file upload failed: %s", slack_error(exc))
            raise NotAllowed("Slack refused the file upload; try again in a moment.") from None

"""What every Slack listener speaks through: the core, the Bolt app, the workspace of the request being handled
(its Web API client and who the bot is there, who is acting: bots/slack/workspace.py), sinks for answers and notes
only one person sees (bots/slack/talking_back.py), and the work in flight (`idle()`)."""

from __future__ import annotations

import asyncio
import logging
import time

from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

from bots.slack.talking_back import REPLY_TEXT_CHARS, TalkingBack
from bots.slack.tiers import EDIT_LIMITS, NATIVE_LIMITS
from bots.slack.workspace import PLATFORM, WorkspaceContext
from core.app import Core
from core.keys import Actor
from core.streaming import PlatformLimits

__all__ = ["PLATFORM", "REPLY_TEXT_CHARS", "SlackAdapter"]

BOLT_LOG = logging.getLogger("slack_bolt")


class _NotOurToken(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment itself and, as the adapter always gives it a client, warns at
    every start that the token "will be unused": a line that says nothing wrong, in every operator's log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != warning_client_prioritized_and_token_skipped()


class SlackAdapter(WorkspaceContext, TalkingBack):
    def __init__(
        self,
        core: Core,
        client: AsyncWebClient,
        *,
        signing_secret: str | None = None,
        native_limits: PlatformLimits = NATIVE_LIMITS,
        edit_limits: PlatformLimits = EDIT_LIMITS,
        native_streaming: bool = True,
        oauth_settings: AsyncOAuthSettings | None = None,
        store_before_ack: bool | None = None,
    ):
        self.core = core
        self.signing_secret = signing_secret or ""
        # HTTP mode: Slack gets its 200 only once the event's claim and user message are stored (the answer
        # streams after), so a message the database could not take gets an error and is delivered again.
        # Socket Mode acks events at once: there the user is told to send it again instead.
        self.store_before_ack = core.settings.slack_mode == "http" if store_before_ack is None else store_before_ack
        self.chat = core.chat
        self._client = client  # with OAuth installs a token-less template; each request gets its team's
        self.native_limits = native_limits
        self.edit_limits = edit_limits
        self.native_streaming = native_streaming
        self._bot_user_id: str | None = None
        self._bot_id: str | None = None
        self._users: dict[tuple[str, str], tuple[float, Actor]] = {}
        self._no_stream: set[str] = set()  # channels where Slack refused native streaming
        self._domains: dict[str, str] = {}  # team id -> its domain (acme for acme.slack.com)
        self._busy: set[asyncio.Task] = set()
        self.replies: set[asyncio.Task] = set()
        if not any(isinstance(f, _NotOurToken) for f in BOLT_LOG.filters):
            BOLT_LOG.addFilter(_NotOurToken())
        self.app = AsyncApp(
            client=client,
            signing_secret=self.signing_secret,
            request_verification_enabled=True,
            ignoring_self_events_enabled=True,
            oauth_settings=oauth_settings,
            process_before_response=self.store_before_ack,
            # Bolt otherwise gives its loggers the root level, and at DEBUG they (and the Socket Mode
            # client, which uses app.logger) log whole payloads: user text. This one stays capped.
            logger=BOLT_LOG,
        )

    # work in flight
    async def listener_started(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._busy.add(task)

    async def listener_finished(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._busy.discard(task)

    def track_reply(self, task: asyncio.Task | None) -> None:
        if task is not None:
            self.replies.add(task)
            task.add_done_callback(self.replies.discard)

    async def idle(self, within: float = 10.0) -> None:
        """Wait until no handler runs and every reply has finished (for tests and shutdown)."""
        deadline = time.monotonic() + within
        quiet = 0
        while quiet < 3:
            pending = [t for t in (*self._busy, *self.replies) if not t.done()]
            if pending:
                quiet = 0
                await asyncio.wait(pending, timeout=max(deadline - time.monotonic(), 0.01))
            else:
                quiet += 1
                await asyncio.sleep(0.02)
            if time.monotonic() > deadline:
                raise TimeoutError("the Slack adapter did not go idle")

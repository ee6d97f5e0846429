"""What every Slack listener speaks through: the core, the Bolt app, the workspace of the request being handled
(its Web API client and who the bot is there), who is acting (with admin rights as Slack says), sinks for
answers, notes only one person sees, and the work in flight (`idle()`)."""

from __future__ import annotations

import asyncio
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bots.slack.calls import slack_error
from bots.slack.sink import SlackSink
from bots.slack.text import domain_of, neutralize, parse_thread_link
from bots.slack.tiers import (
    EDIT_LIMITS,
    NATIVE_LIMITS,
    SESSION_STATUS_LIMITS,
    START_STREAM_LIMITS,
    STOP_STREAM_LIMITS,
)
from bots.slack.views import clip, markdown_blocks
from core.app import Core
from core.errors import InvalidSetting, NotAllowed
from core.keys import Actor, ConversationKey
from core.streaming import PlatformLimits

log = logging.getLogger(__name__)

PLATFORM = "slack"
USER_CACHE_SECONDS = 60.0
REPLY_TEXT_CHARS = 3_000  # the notification text sent next to a markdown block


@dataclass(frozen=True, slots=True)
class _Workspace:
    """Who the bot is in the workspace of the request being handled (one per team with OAuth installs)."""

    client: AsyncWebClient
    bot_user_id: str | None
    bot_id: str | None


# set by a middleware for each request (bind()); the listener's task and the replies it starts inherit it
_WORKSPACE: ContextVar[_Workspace | None] = ContextVar("slack_workspace", default=None)


class SlackAdapter:
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
        self.app = AsyncApp(
            client=client,
            signing_secret=self.signing_secret,
            request_verification_enabled=True,
            ignoring_self_events_enabled=True,
            oauth_settings=oauth_settings,
            process_before_response=self.store_before_ack,
            # Bolt otherwise gives its loggers the root level, and at DEBUG they (and the Socket Mode
            # client, which uses app.logger) log whole payloads: user text. This one stays capped.
            logger=logging.getLogger("slack_bolt"),
        )

    # The Web API client and bot identity of the workspace whose request is being handled (Bolt's
    # context.client carries that team's token), else the ones given at start.
    @property
    def client(self) -> AsyncWebClient:
        workspace = _WORKSPACE.get()
        return workspace.client if workspace else self._client

    @property
    def bot_user_id(self) -> str | None:
        workspace = _WORKSPACE.get()
        return (workspace and workspace.bot_user_id) or self._bot_user_id

    @bot_user_id.setter
    def bot_user_id(self, value: str | None) -> None:
        self._bot_user_id = value

    @property
    def bot_id(self) -> str | None:
        workspace = _WORKSPACE.get()
        return (workspace and workspace.bot_id) or self._bot_id

    @bot_id.setter
    def bot_id(self, value: str | None) -> None:
        self._bot_id = value

    def bind(self, context: Any) -> None:
        """Every listener (and the replies it starts) talks to the workspace of its request: Bolt's context.client
        carries that team's token. Bolt runs the listeners after its middleware has returned (next() only lets the
        request go on), in this task or in one it creates from it, so the value is set here and left: each request
        sets its own before its listener starts."""
        _WORKSPACE.set(_Workspace(context.client or self._client, context.get("bot_user_id"), context.get("bot_id")))

    def bind_client(self, client: AsyncWebClient) -> None:
        """Outside any request (a scheduled run): this task, and the replies it starts, talk to one workspace."""
        _WORKSPACE.set(_Workspace(client, self._bot_user_id, self._bot_id))

    def learn_identity(self, context: Any) -> None:
        self.bot_user_id = context.get("bot_user_id") or self.bot_user_id
        self.bot_id = context.get("bot_id") or self.bot_id

    def ours(self, message: dict | None) -> bool:
        """Whether a message (as Slack lists it) is one of the bot's own."""
        if not message:
            return False
        return bool(
            (self.bot_id and message.get("bot_id") == self.bot_id)
            or (self.bot_user_id and message.get("user") == self.bot_user_id)
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

    # the workspace
    async def client_for(self, team: str) -> AsyncWebClient:
        """A team's Web API client outside any request (with OAuth installs: its stored bot token)."""
        installations = self.app.installation_store
        if installations is None:
            return self.client
        bot = await installations.async_find_bot(enterprise_id=None, team_id=team)
        template = self._client
        return AsyncWebClient(
            token=bot.bot_token if bot else None,
            base_url=template.base_url,
            timeout=template.timeout,
            ssl=template.ssl,
            proxy=template.proxy,
            session=template.session,
        )

    async def actor(self, team: str, user: str, *, fresh: bool = False) -> Actor:
        """Who is acting, with admin rights as Slack reports them (users.info), cached briefly."""
        now = time.monotonic()
        cached = self._users.get((team, user))
        if cached and not fresh and cached[0] > now:
            return cached[1]
        name, is_admin = "", False
        try:
            info = (await self.client.users_info(user=user))["user"]
            profile = info.get("profile") or {}
            name = profile.get("display_name") or profile.get("real_name") or info.get("name") or ""
            is_admin = bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))
        except SlackApiError as exc:
            log.warning("users.info failed: %s", slack_error(exc))
        actor = Actor(PLATFORM, user, name, team, is_admin)
        self._users[(team, user)] = (now + USER_CACHE_SECONDS, actor)
        return actor

    def forget_team(self, team: str) -> None:
        """The app was uninstalled from `team`: nothing cached about its people stays."""
        self._users = {key: value for key, value in self._users.items() if key[0] != team}

    async def workspace_domain(self, team: str) -> str:
        """The workspace's domain ("acme" for acme.slack.com), from auth.test, remembered per team."""
        if team not in self._domains:
            try:
                self._domains[team] = domain_of(str((await self.client.auth_test()).get("url") or ""))
            except SlackApiError as exc:
                log.warning("auth.test failed: %s", slack_error(exc))
                return ""
        return self._domains[team]

    async def linked_thread(self, team: str, text: str, domain: str = "") -> ConversationKey:
        """The conversation a thread link names, in the requester's workspace only (a link's ids mean another
        thread in another workspace). `domain`: the request's `team_domain`, when it carries one."""
        link = parse_thread_link(text)
        if link is None:
            raise InvalidSetting("Give a link to the thread (Copy link on a message in it).")
        if not link.belongs_to(domain or await self.workspace_domain(team)):
            raise NotAllowed("That link is to another Slack workspace: I can only act on this workspace's threads.")
        return ConversationKey(PLATFORM, team, link.channel, link.thread_ts)

    # talking back
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

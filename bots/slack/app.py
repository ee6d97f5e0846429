"""The Slack adapter: Bolt (AsyncApp) events, commands and buttons in, one core call each, SlackSink out.

A thread is a conversation: ConversationKey("slack", team, channel, thread_ts or ts). Events are acked at
once (Bolt runs event listeners after the ack; commands and buttons call `ack()` first) and
de-duplicated by event id through the store, so a retried delivery never answers twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bots.slack.delete_from import delete_from_here
from bots.slack.features import SlackFeatures
from bots.slack.files import download_files
from bots.slack.oauth import build_oauth_settings, oauth_configured
from bots.slack.questions import register as register_questions
from bots.slack.sink import EDIT_LIMITS, NATIVE_LIMITS, SlackSink, controls, message_id, slack_error
from bots.slack.text import domain_of, parse_thread_link, strip_mention
from bots.slack.views import (
    delete_all_confirmation,
    markdown_blocks,
    model_lines,
    switch_model_modal,
)
from core.app import Core
from core.chat import NOT_SAVED
from core.commands.text import is_assistant_command, is_set_command
from core.config import ConfigError
from core.conversations.routing import IncomingMessage
from core.errors import InvalidSetting, NotAllowed, StoreUnavailable, UserFacingError
from core.keys import Actor, ConversationKey
from core.ops import metrics
from core.prompts import clean_prompt
from core.records import MessageStatus, Scope, StoredMessage
from core.streaming import PlatformLimits, ReplyView

log = logging.getLogger(__name__)

PLATFORM = "slack"
THINKING = "is thinking…"
EVENT_CLAIM = "hfchat_event_claim"  # Bolt context key: the event id claimed for the request being handled
INTERRUPTED_NOTICE = "⚠️ *This answer was interrupted (the bot restarted).*"
USER_CACHE_SECONDS = 60.0
ANSWERED_SUBTYPES = (None, "file_share", "thread_broadcast")
MODELS_LISTED = 25  # models in `/model`'s answer (`/model list WORD` finds the others)
HOME_ACTIONS = (
    "home_settings_edit",
    "home_assistant_new",
    "home_assistant_edit",
    "home_assistant_use",
    "home_assistant_delete",
)
FEATURE_COMMANDS = ("/settings", "/assistant", "/usage", "/compare", "/limits", "/conversations", "/export")
HELP = (
    "Mention me to get an answer in the thread; I answer later messages in my threads without a mention, and "
    "read the images, PDFs and text files you attach. In a thread: `@me model NAME` switches its model, "
    "`@me set NAME VALUE` one of its settings, `@me assistant use NAME` its assistant, `@me stop` stops the "
    "answer, `@me delete` erases it.\n"
    "• `/model [NAME | list WORD]` shows the models or sets your default (`/model channel NAME` for admins)\n"
    "• `/settings [me|channel|workspace] [NAME VALUE]` temperature, top_p, max_tokens, reasoning_effort, "
    "system_prompt, provider, web_search: shown with where each comes from, or set (channel, workspace: admins)\n"
    "• `/assistant list | new | show | edit | use | delete NAME`, `channel NAME` and `sharing on|off` (admins)\n"
    "• `/usage [workspace] [DAYS]` tokens and cost (the workspace's: admins), `/limits [NAME VALUE]` (admins set)\n"
    "• `/compare MODEL1,MODEL2 PROMPT` answers side by side, one thread reply per model\n"
    "• `/conversations` yours with links, `/export [N | thread link] [json]` as a file\n"
    "• `/delete [thread link]` erases a conversation, `/delete all` everything stored about you\n"
    "• `/about` what this bot is, the model in use here, and how your data is kept and erased\n"
    "• `/hfchat replies on|off` (admins) whether I answer thread follow-ups without a mention\n"
    "Every command also works as `/hfchat COMMAND ...`."
)


@dataclass(frozen=True, slots=True)
class _Workspace:
    """Who the bot is in the workspace of the request being handled (one per team with OAuth installs)."""

    client: AsyncWebClient
    bot_user_id: str | None
    bot_id: str | None


# set by _tracked for each listener; tasks it starts (the replies) inherit it
_WORKSPACE: ContextVar[_Workspace | None] = ContextVar("slack_workspace", default=None)


def told(listener: Callable[..., Awaitable[Any]], busy: set[asyncio.Task]) -> Callable[..., Awaitable[Any]]:
    """A listener whose refusal (UserFacingError) is told to the person who acted, only them, and whose task is
    noted in `busy` while it runs (`idle()` waits for it). Not left to Bolt's seams: its middleware returns before
    the listener starts, so it cannot see a listener end, and app.error is too late for a refusal, since Bolt's
    runner, when a listener raises right after ack() in Socket Mode, throws that ack away (the request then reads
    as unhandled). Everything else a listener raises goes to app.error (`_on_error`)."""

    @functools.wraps(listener)
    async def run(*args: Any, **kwargs: Any) -> Any:
        task = asyncio.current_task()
        if task is not None:
            busy.add(task)
        try:
            return await listener(*args, **kwargs)
        except UserFacingError as exc:
            respond = kwargs.get("respond")
            if respond is None:  # a form or the App Home: no response_url to answer on
                log.info("a refusal had nowhere to be shown (%s)", listener.__name__)
                return None
            await respond(text=str(exc), response_type="ephemeral", replace_original=False)
        finally:
            if task is not None:
                busy.discard(task)

    return run


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)


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
        self._signing_secret = signing_secret or ""
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
        self.features = SlackFeatures(self)
        self.app = AsyncApp(
            client=client,
            signing_secret=signing_secret or "",
            request_verification_enabled=True,
            ignoring_self_events_enabled=True,
            oauth_settings=oauth_settings,
            process_before_response=self.store_before_ack,
            # Bolt otherwise gives its loggers the root level, and at DEBUG they (and the Socket Mode
            # client, which uses app.logger) log whole payloads: user text. This one stays capped.
            logger=logging.getLogger("slack_bolt"),
        )
        self._register()

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

    # ------------------------------------------------------------------ wiring
    def _register(self) -> None:
        app = self.app
        app.middleware(self._in_workspace)
        app.middleware(self._dedupe)
        app.error(self._on_error)
        app.event("app_mention")(told(self.on_app_mention, self._busy))
        app.event("message")(told(self.on_message, self._busy))
        app.event("assistant_thread_started")(told(self.on_assistant_thread_started, self._busy))
        app.event("assistant_thread_context_changed")(self._noop)
        app.event("app_home_opened")(told(self.on_app_home_opened, self._busy))
        app.command("/model")(told(self.on_model_command, self._busy))
        app.command("/delete")(told(self.on_delete_command, self._busy))
        app.command("/hfchat")(told(self.on_hfchat_command, self._busy))
        app.command("/about")(told(self.on_about_command, self._busy))
        for command in FEATURE_COMMANDS:
            app.command(command)(told(self.on_feature_command, self._busy))
        app.shortcut("delete_conversation")(told(self.on_delete_shortcut, self._busy))
        app.shortcut("delete_from_here")(told(self.on_delete_from_shortcut, self._busy))
        app.shortcut("switch_model")(told(self.on_switch_model_shortcut, self._busy))
        app.view("switch_model_modal")(told(self.on_switch_model_submit, self._busy))
        app.view("assistant_modal")(told(self.features.on_assistant_submit, self._busy))
        app.view("settings_modal")(told(self.features.on_settings_submit, self._busy))
        app.action("hfchat_reasoning")(told(self.on_reasoning_button, self._busy))
        app.action(re.compile(r"^hfchat_starter_\d+$"))(told(self.on_starter_button, self._busy))
        for action in HOME_ACTIONS:
            app.action(action)(told(self.on_home_action, self._busy))
        for action in ("hfchat_stop", "hfchat_regenerate", "hfchat_continue", "hfchat_delete"):
            app.action(action)(told(self.on_reply_button, self._busy))
        app.action("hfchat_feedback_up")(told(self.on_reply_button, self._busy))
        app.action("hfchat_feedback_down")(told(self.on_reply_button, self._busy))
        app.action("hfchat_delete_all_confirm")(told(self.on_delete_all_confirm, self._busy))
        app.action("hfchat_delete_all_cancel")(told(self.on_delete_all_cancel, self._busy))
        app.action("home_model_select")(told(self.on_home_model_select, self._busy))
        app.action("home_refresh")(told(self.on_home_refresh, self._busy))
        register_questions(self, lambda listener: told(listener, self._busy))  # clarifying questions
        if app.installation_store is not None:
            app.event("app_uninstalled")(told(self.on_app_uninstalled, self._busy))
            app.event("tokens_revoked")(told(self.on_tokens_revoked, self._busy))

    async def _in_workspace(self, context: Any, next: Callable[[], Awaitable[Any]]) -> Any:
        """Every listener (and the replies it starts) talks to the workspace of its request: Bolt's context.client
        carries that team's token. Bolt runs the listeners after its middleware has returned (next() only lets the
        request go on), in this task or in one it creates from it, so the value is set here and left: each request
        sets its own before its listener starts."""
        _WORKSPACE.set(_Workspace(context.client or self._client, context.get("bot_user_id"), context.get("bot_id")))
        return await next()

    async def _on_error(self, error: Exception, context: Any, respond: Any, response: Any) -> None:
        """What a listener raised. A refusal (UserFacingError) is told to the one who asked, and the request still
        succeeds; a database that stayed down gives the event's claim back, and in HTTP mode the request fails so
        Slack delivers it again (in Socket Mode it was acknowledged already: the user was asked to resend)."""
        if isinstance(error, UserFacingError):
            if response is not None:
                response.status = 200
            if respond is not None:
                await respond(text=str(error), response_type="ephemeral", replace_original=False)
            return
        if isinstance(error, StoreUnavailable):
            claim = context.get(EVENT_CLAIM)
            if claim:  # not done: a redelivery of the event must be handled, not dropped
                await self.chat.release_event(PLATFORM, claim)
            if not self.store_before_ack:
                log.warning("a Slack request was not handled: the database is unavailable")
            return
        log.error("a Slack listener failed: %s", type(error).__name__, exc_info=error)

    async def _noop(self, ack: Any) -> None:
        await ack()

    async def _dedupe(self, body: dict, ack: Any, next: Callable[[], Awaitable[Any]], context: Any) -> Any:
        # Slack retries an event it thinks we missed, with the same event_id: answer once, still ack 200
        # (a middleware that neither calls next() nor returns the ack makes Bolt answer 404).
        kind = body.get("type") or ("command" if body.get("command") else "")
        if kind == "event_callback":
            kind = str((body.get("event") or {}).get("type") or "event")
        metrics.event_received(PLATFORM, kind[:40])
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        # the database down: this raises, Bolt answers 500 (and sends no Socket Mode ack), Slack retries
        if event_id and not await self.chat.claim_event(PLATFORM, str(event_id)):
            log.info("duplicate event %s dropped", event_id)
            metrics.duplicate_dropped(PLATFORM)
            return await ack()
        if event_id:
            context[EVENT_CLAIM] = str(event_id)
        return await next()

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

    async def show_interrupted(self, replies: list[StoredMessage]) -> None:
        """Close the Slack messages of answers a dead process left unfinished, with Regenerate/Continue."""
        for reply in replies:
            channel, _, ts = reply.platform_message_id.partition("/")
            conversation = await self.chat.conversations.by_id(reply.conversation_id or 0)
            if not ts or conversation is None or conversation.key.platform != PLATFORM:
                continue
            view = ReplyView(
                reply.id, "done", MessageStatus.INTERRUPTED, True, 0, reply.model, conversation_id=conversation.id
            )
            client = await self.client_for(conversation.key.workspace)
            try:  # a native stream still open: end it with the notice
                await client.chat_stopStream(
                    channel=channel, ts=ts, markdown_text="\n\n" + INTERRUPTED_NOTICE, blocks=controls(view)
                )
                continue
            except SlackApiError:
                pass
            try:  # an edited message (or a stream Slack already closed): say so under it
                await client.chat_postMessage(
                    channel=channel,
                    thread_ts=conversation.key.thread,
                    text=INTERRUPTED_NOTICE,
                    blocks=[{"type": "markdown", "text": INTERRUPTED_NOTICE}, *controls(view)],
                )
            except SlackApiError as exc:
                log.warning("could not mark an interrupted answer: %s", slack_error(exc))

    def _track_reply(self, task: asyncio.Task | None) -> None:
        if task is not None:
            self.replies.add(task)
            task.add_done_callback(self.replies.discard)

    # ------------------------------------------------------------------ helpers
    def _learn_identity(self, context: Any) -> None:
        self.bot_user_id = context.get("bot_user_id") or self.bot_user_id
        self.bot_id = context.get("bot_id") or self.bot_id

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
        )

    async def tell(self, channel: str, user: str, text: str, thread_ts: str | None = None) -> None:
        """A short note only the user sees."""
        try:
            await self.client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts)
        except SlackApiError as exc:
            log.warning("chat.postEphemeral failed: %s", slack_error(exc))

    async def post(self, channel: str, text: str, thread_ts: str | None = None) -> None:
        try:
            await self.client.chat_postMessage(channel=channel, text=text, thread_ts=thread_ts)
        except SlackApiError as exc:
            log.warning("chat.postMessage failed: %s", slack_error(exc))

    async def _assistant_call(self, method: str, **kwargs: Any) -> None:
        try:
            await getattr(self.client, method.replace(".", "_"))(**kwargs)
        except SlackApiError as exc:  # not an assistant thread, or the feature is off: nothing to show
            log.debug("%s failed: %s", method, slack_error(exc))

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

    async def delete_thread(self, key: ConversationKey, actor: Actor) -> str:
        conversation = await self.chat.conversation_for(key)
        if conversation is None:
            return "Nothing is stored for that conversation."
        await self.chat.delete_conversation(conversation.id, actor)
        return "Deleted. This conversation's stored history is erased."

    async def _thread_prior(
        self, team: str, channel: str, thread_ts: str, before_ts: str, after: float
    ) -> list[StoredMessage]:
        """Messages of a thread the bot is adopting, from after `after` (epoch seconds) to before `before_ts`,
        read once, as context. The bot's own messages there are its earlier answers: assistant turns."""
        window = {"oldest": f"{after:.6f}"} if after else {}
        try:
            response = await self.client.conversations_replies(channel=channel, ts=thread_ts, limit=200, **window)
        except SlackApiError as exc:
            log.warning("conversations.replies failed: %s", slack_error(exc))
            return []
        prior = []
        for message in response.get("messages") or []:
            sent_at = float(message.get("ts", "0"))
            if sent_at >= float(before_ts) or sent_at <= after:
                continue
            if message.get("subtype") not in ANSWERED_SUBTYPES:
                continue
            text, _ = strip_mention(message.get("text") or "", self.bot_user_id)
            try:
                text = clean_prompt(text)
            except UserFacingError:
                continue
            if self._ours(message):
                prior.append(StoredMessage(role="assistant", content=text, created_at=sent_at))
                continue
            author = message.get("user") or message.get("bot_id") or "someone"
            if message.get("user"):
                name = (await self.actor(team, author)).display_name or author
            else:
                name = (message.get("bot_profile") or {}).get("name") or message.get("username") or "a bot"
            prior.append(
                StoredMessage(role="user", content=text, author_id=author, author_name=name, created_at=sent_at)
            )
        return prior

    # ------------------------------------------------------------------ messages
    async def on_app_mention(self, event: dict, context: Any) -> None:
        self._learn_identity(context)
        if event.get("bot_id") or not event.get("user"):
            return
        channel = event["channel"]
        text, _ = strip_mention(event.get("text") or "", self.bot_user_id)
        await self.handle_message(
            team=context.get("team_id") or event.get("team") or "",
            channel=channel,
            is_dm=channel.startswith("D"),
            ts=event["ts"],
            thread_ts=event.get("thread_ts"),
            user=event["user"],
            text=text,
            mentioned=True,
            files=event.get("files"),
        )

    async def on_message(self, event: dict, context: Any) -> None:
        self._learn_identity(context)
        subtype = event.get("subtype")
        team = context.get("team_id") or event.get("team") or ""
        if subtype == "message_changed":
            await self._on_edited(event)
            return
        if subtype == "message_deleted":
            await self._on_deleted(event)
            return
        if event.get("bot_id") or subtype not in ANSWERED_SUBTYPES:
            return
        user = event.get("user")
        if not user or user == self.bot_user_id:
            return
        is_dm = event.get("channel_type") == "im"
        text, mentioned = strip_mention(event.get("text") or "", self.bot_user_id)
        if mentioned and not is_dm:
            return  # the app_mention event for the same message answers it
        await self.handle_message(
            team=team,
            channel=event["channel"],
            is_dm=is_dm,
            ts=event["ts"],
            thread_ts=event.get("thread_ts"),
            user=user,
            text=text,
            mentioned=mentioned,
            files=event.get("files"),
        )

    def _ours(self, message: dict | None) -> bool:
        if not message:
            return False
        return bool(
            (self.bot_id and message.get("bot_id") == self.bot_id)
            or (self.bot_user_id and message.get("user") == self.bot_user_id)
        )

    async def _on_edited(self, event: dict) -> None:
        message = event.get("message") or {}
        if self._ours(message) or self._ours(event.get("previous_message")) or message.get("bot_id"):
            return  # the echo of our own chat.update / stopStream: nothing to do
        if not message.get("ts") or not message.get("user"):
            return
        text, _ = strip_mention(message.get("text") or "", self.bot_user_id)
        try:
            await self.chat.on_message_edited(PLATFORM, message_id(event["channel"], message["ts"]), text)
        except UserFacingError:
            pass  # edited down to nothing: keep what was stored

    async def _on_deleted(self, event: dict) -> None:
        previous = event.get("previous_message") or {}
        if self._ours(previous) or previous.get("bot_id") or not event.get("deleted_ts"):
            return
        await self.chat.on_message_deleted(PLATFORM, message_id(event["channel"], event["deleted_ts"]))

    async def handle_message(self, **message: Any) -> None:
        """Answer a user's message (the keyword arguments of `_answer_message`), once per Slack message
        whichever events (app_mention, message) announce it. If the database cannot store it, the claim is
        given back: in HTTP mode the request fails (Slack delivers it again), in Socket Mode the user is
        asked to send it again."""
        channel, user, thread = message["channel"], message["user"], message.get("thread_ts") or message["ts"]
        claim = f"msg:{channel}/{message['ts']}"
        try:
            if not await self.chat.claim_event(PLATFORM, claim):
                return
            await self._answer_message(**message)
        except StoreUnavailable:
            await self.chat.release_event(PLATFORM, claim)
            if not self.store_before_ack:  # acknowledged already: ask for it again
                if message["is_dm"]:
                    if message.get("thread_ts"):  # an assistant thread still says "is thinking…"
                        await self._assistant_call(
                            "assistant.threads.setStatus", channel_id=channel, thread_ts=thread, status=""
                        )
                    await self.post(channel, NOT_SAVED, thread)
                else:
                    await self.tell(channel, user, NOT_SAVED, thread)
            raise

    async def _answer_message(
        self,
        *,
        team: str,
        channel: str,
        is_dm: bool,
        ts: str,
        thread_ts: str | None,
        user: str,
        text: str,
        mentioned: bool,
        files: list[dict] | None = None,
    ) -> None:
        thread = thread_ts or ts
        key = ConversationKey(PLATFORM, team, channel, thread)
        # in a DM every message is to the bot: its settings and assistant commands need no mention there
        if (mentioned or is_dm) and not files:
            if await self._thread_command(text, key, user, mentioned=mentioned, in_thread=thread_ts is not None):
                return
        incoming = IncomingMessage(
            PLATFORM, team, channel, ts, thread=thread_ts or "", is_dm=is_dm, dm_threads=True, mentioned=mentioned
        )
        route = await self.chat.route(incoming)
        if route.key is None:
            return
        key = route.key
        earlier = None
        if route.adopt:  # the core reads it only if it may adopt it

            async def earlier(after: float) -> list[StoredMessage]:
                return await self._thread_prior(team, channel, thread_ts, ts, after)

        actor = await self.actor(team, user)
        assistant = is_dm and thread_ts is not None  # Slack's AI-app threads live in the DM, in threads
        untitled = assistant and await self.chat.conversation_for(key) is None
        if assistant:
            await self._assistant_call(
                "assistant.threads.setStatus", channel_id=channel, thread_ts=thread, status=THINKING
            )
        # fetched now, with the bot token: what cannot be used gets a note under the answer
        attachments = await download_files(self.client, files) if files else None
        try:
            submitted = await self.chat.submit(
                key,
                actor,
                text,
                self.sink(team, channel, thread, user, assistant_thread=assistant),
                platform_message_id=message_id(channel, ts),
                earlier=earlier,
                attachments=attachments,
            )
        except UserFacingError as exc:
            if assistant:
                await self._assistant_call(
                    "assistant.threads.setStatus", channel_id=channel, thread_ts=thread, status=""
                )
            if is_dm:
                await self.post(channel, str(exc), thread)
            else:
                await self.tell(channel, user, str(exc), thread)
            return
        self._track_reply(submitted.reply)
        if route.make_current:
            await self.chat.use_dm_thread(PLATFORM, team, channel, thread)
        if untitled:
            await self._assistant_call(
                "assistant.threads.setTitle", channel_id=channel, thread_ts=thread, title=submitted.conversation.title
            )

    async def _thread_command(
        self, text: str, key: ConversationKey, user: str, *, mentioned: bool = True, in_thread: bool = True
    ) -> bool:
        """`@bot set ...`, `@bot settings`, `@bot assistant ...` (in a thread they apply to it), and with a
        mention `@bot delete`, `@bot stop`, `@bot model [NAME]`, `@bot help`; False if the text is a prompt."""
        words = text.split()
        first = words[0].lower().strip(".!:") if words else ""
        rest = text.strip()[len(words[0]) :].strip() if words else ""
        if (first == "settings" and not rest) or (first == "set" and is_set_command(rest)):
            invocation = self.features.thread_invocation(key, user, "@me set", in_thread=in_thread)
            await self.features.run("settings", invocation, rest)
            return True
        if first in ("assistant", "assistants") and is_assistant_command(rest):
            invocation = self.features.thread_invocation(key, user, "@me assistant", in_thread=in_thread)
            await self.features.run("assistant", invocation, rest)
            return True
        if not mentioned or not words or len(words) > 2:
            return False
        command = words[0].lower().strip(".!")
        arg = words[1] if len(words) == 2 else ""
        if command == "delete" and arg.lower() in ("", "this", "thread", "conversation"):
            actor = await self.actor(key.workspace, user, fresh=True)
            reply = await self._safely(self.delete_thread(key, actor))
        elif command == "stop" and not arg:
            actor = await self.actor(key.workspace, user)
            conversation = await self.chat.conversation_for(key)
            stopped = conversation is not None and await self._safely(self.chat.stop(conversation.id, actor))
            if stopped is True:
                return True
            reply = stopped if isinstance(stopped, str) else "Nothing is being written here."
        elif command == "model":
            actor = await self.actor(key.workspace, user)
            if arg:
                try:
                    chosen = await self.chat.set_model(actor, key, Scope.CONVERSATION, arg)
                    reply = f"This thread now uses `{chosen}`."
                except UserFacingError as exc:
                    reply = str(exc)
            else:
                conversation = await self.chat.conversation_for(key)
                model = await self.chat.resolve_model(key, user, conversation.id if conversation else None)
                reply = f"This thread uses `{model}`. Change it with `@me model NAME`."
        elif command == "help" and not arg:
            reply = HELP
        else:
            return False
        await self.tell(key.channel, user, str(reply), key.thread)
        return True

    @staticmethod
    async def _safely(call: Awaitable[Any]) -> Any:
        """The call's result, or the text of the user-facing error it raised."""
        try:
            return await call
        except UserFacingError as exc:
            return str(exc)

    # ------------------------------------------------------------------ assistant threads and App Home
    async def on_assistant_thread_started(self, event: dict, context: Any) -> None:
        thread = event.get("assistant_thread") or {}
        channel, thread_ts, user = thread.get("channel_id"), thread.get("thread_ts"), thread.get("user_id")
        if not (channel and thread_ts and user):
            return
        team = context.get("team_id") or ""
        key = ConversationKey(PLATFORM, team, channel, thread_ts)
        model = await self.chat.resolve_model(key, user)
        assistant = await self.chat.assistants.default_for(key, user)
        who = f" as {assistant.name}" if assistant else ""
        await self.post(channel, f"Hi! Ask me anything. I'm answering{who} with `{model}`.", thread_ts)
        # the person's assistant's starter prompts (or general ideas), as Slack's suggested prompts
        await self.features.suggest_prompts(channel, thread_ts, assistant)

    async def publish_home(self, team: str, user: str, notice: str = "") -> None:
        await self.features.publish_home(team, user, notice)

    async def on_app_home_opened(self, event: dict, context: Any) -> None:
        if event.get("tab", "home") == "home":
            await self.publish_home(context.get("team_id") or "", event["user"])

    async def on_home_model_select(self, ack: Any, body: dict, respond: Any) -> None:
        await ack()
        team, user = body["team"]["id"], body["user"]["id"]
        action = body["actions"][0]
        name = (action.get("selected_option") or {}).get("value") or action.get("value")
        actor = await self.actor(team, user)
        await self.chat.set_model(actor, ConversationKey(PLATFORM, team, "", ""), Scope.USER, name)
        await self.publish_home(team, user)

    async def on_home_refresh(self, ack: Any, body: dict, respond: Any = None) -> None:
        await ack()
        await self.publish_home(body["team"]["id"], body["user"]["id"])

    # ------------------------------------------------------------------ slash commands
    async def on_model_command(self, ack: Any, command: dict, respond: Any) -> None:
        await ack()
        team, channel, user = command["team_id"], command["channel_id"], command["user_id"]
        key = ConversationKey(PLATFORM, team, channel, "")
        words = (command.get("text") or "").split()
        if not words or words[0].lower() == "list":
            choice = await self.chat.model_choice(key, user)
            actor = await self.actor(team, user)
            recent = [m for m in await self.chat.recent_models(actor, PLATFORM) if m != choice.model][:5]
            current, where = choice.model, choice.source
            needle = " ".join(words[1:]).lower()
            found = [m for m in self.core.catalog.models if needle in m.id.lower()]
            lines = [f"Current model: `{current}` ({where})."]
            if recent:
                lines.append("Your recent ones: " + ", ".join(f"`{m}`" for m in recent))
            if found:
                lines += ["", "**Models** (context, providers with the price per million tokens in/out)"]
                lines += model_lines(found, MODELS_LISTED)
            elif needle:
                lines.append(f"No model name contains `{needle[:40]}`.")
            lines += ["", "`/model NAME` sets your default, `/model channel NAME` this channel's (admins)."]
            text = "\n".join(lines)
            await respond(text=text[:3000], blocks=markdown_blocks(text), response_type="ephemeral")
            return
        if words[0].lower() == "channel":
            actor = await self.actor(team, user, fresh=True)
            name = words[1] if len(words) > 1 else None
            chosen = await self.chat.set_model(actor, key, Scope.CHANNEL, name)
            text = f"This channel now defaults to `{chosen}`." if chosen else "This channel's default is cleared."
        elif words[0].lower() in ("reset", "clear", "default"):
            actor = await self.actor(team, user)
            await self.chat.set_model(actor, key, Scope.USER, None)
            text = f"Your default is cleared; you get `{await self.chat.resolve_model(key, user)}`."
        else:
            actor = await self.actor(team, user)
            chosen = await self.chat.set_model(actor, key, Scope.USER, words[0])
            text = f"Your default model is now `{chosen}`."
        await respond(text=text, response_type="ephemeral")

    async def on_delete_command(self, ack: Any, command: dict, respond: Any) -> None:
        await ack()
        team, channel, user = command["team_id"], command["channel_id"], command["user_id"]
        arg = (command.get("text") or "").strip()
        if arg.lower() == "all":
            await respond(
                text="Erase everything stored about you?", blocks=delete_all_confirmation(), response_type="ephemeral"
            )
            return
        if arg:
            key = await self.linked_thread(team, arg, command.get("team_domain") or "")
        elif channel.startswith("D"):
            current = await self.chat.dms.current_if_any(PLATFORM, team, channel)
            if current is None:
                await respond(text="Nothing is stored for this conversation.")
                return
            key = current
        else:
            await respond(
                text="Use `/delete <thread link>` here, `@me delete` in the thread, or `/delete all` for everything."
            )
            return
        actor = await self.actor(team, user, fresh=True)
        await respond(text=await self.delete_thread(key, actor), response_type="ephemeral")

    async def on_feature_command(self, ack: Any, command: dict, respond: Any) -> None:
        """`/settings`, `/assistant`, `/usage`, `/compare`, `/limits`, `/conversations`, `/export`."""
        await ack()
        name = command["command"].lstrip("/")
        invocation = await self.features.slash_invocation(command, respond, command["command"])
        await self.features.run(name, invocation, command.get("text") or "")

    async def on_about_command(self, ack: Any, command: dict, respond: Any) -> None:
        await ack()
        key = ConversationKey(PLATFORM, command["team_id"], command["channel_id"], "")
        text = await self.chat.about(key, command["user_id"])
        await respond(text=text[:3000], blocks=markdown_blocks(text), response_type="ephemeral")

    async def on_hfchat_command(self, ack: Any, command: dict, respond: Any) -> None:
        await ack()
        team, channel, user = command["team_id"], command["channel_id"], command["user_id"]
        sub, _, rest = (command.get("text") or "").strip().partition(" ")
        sub = sub.lower()
        if sub == "about":
            await self.on_about_command(_already_acked, command, respond)
            return
        if sub in self.features.COMMANDS:  # the same words as the command of that name
            invocation = await self.features.slash_invocation(command, respond, f"/hfchat {sub}")
            await self.features.run(sub, invocation, rest.strip())
            return
        if sub in ("model", "delete"):
            handler = self.on_model_command if sub == "model" else self.on_delete_command
            await handler(_already_acked, {**command, "text": rest.strip()}, respond)
            return
        words = (command.get("text") or "").lower().split()
        if len(words) == 2 and words[0] == "replies" and words[1] in ("on", "off"):
            actor = await self.actor(team, user, fresh=True)
            await self.chat.policy.set_follow_ups(actor, team, channel, words[1] == "on")
            state = "answer" if words[1] == "on" else "only answer mentions in"
            await respond(text=f"I now {state} thread follow-ups in this channel.")
            return
        await respond(text=HELP[:3000], blocks=markdown_blocks(HELP), response_type="ephemeral")

    # ------------------------------------------------------------------ shortcuts and modals
    async def on_delete_shortcut(self, ack: Any, body: dict, respond: Any) -> None:
        await ack()
        message = body.get("message") or {}
        team, user, channel = body["team"]["id"], body["user"]["id"], body["channel"]["id"]
        key = ConversationKey(PLATFORM, team, channel, message.get("thread_ts") or message["ts"])
        actor = await self.actor(team, user, fresh=True)
        await respond(text=await self.delete_thread(key, actor), response_type="ephemeral", replace_original=False)

    async def on_delete_from_shortcut(self, ack: Any, body: dict, respond: Any) -> None:
        await ack()
        await respond(text=await delete_from_here(self, body), response_type="ephemeral", replace_original=False)

    async def on_switch_model_shortcut(self, ack: Any, body: dict, respond: Any = None) -> None:
        await ack()
        message = body.get("message") or {}
        team, user, channel = body["team"]["id"], body["user"]["id"], body["channel"]["id"]
        thread = message.get("thread_ts") or message["ts"]
        key = ConversationKey(PLATFORM, team, channel, thread)
        conversation = await self.chat.conversation_for(key)
        current = await self.chat.resolve_model(key, user, conversation.id if conversation else None)
        view = switch_model_modal(self.core.catalog.ids(), current, {"channel": channel, "thread": thread})
        await self.client.views_open(trigger_id=body["trigger_id"], view=view)

    async def on_switch_model_submit(self, ack: Any, body: dict, view: dict, respond: Any = None) -> None:
        team, user = body["team"]["id"], body["user"]["id"]
        meta = json.loads(view.get("private_metadata") or "{}")
        state = ((view.get("state") or {}).get("values") or {}).get("model", {}).get("choice", {})
        name = (state.get("selected_option") or {}).get("value") or (state.get("value") or "").strip()
        key = ConversationKey(PLATFORM, team, meta.get("channel", ""), meta.get("thread", ""))
        actor = await self.actor(team, user)
        try:
            chosen = await self.chat.set_model(actor, key, Scope.CONVERSATION, name or None)
        except UserFacingError as exc:
            await ack(response_action="errors", errors={"model": str(exc)[:150]})
            return
        await ack()
        await self.tell(key.channel, user, f"This thread now uses `{chosen}`.", key.thread)

    # ------------------------------------------------------------------ buttons
    async def on_reasoning_button(self, ack: Any, body: dict, respond: Any = None) -> None:
        await ack()
        await self.features.show_reasoning(body)

    async def on_starter_button(self, ack: Any, body: dict, respond: Any = None) -> None:
        await ack()
        await self.features.on_starter(body)

    async def on_home_action(self, ack: Any, body: dict, respond: Any = None) -> None:
        await ack()
        await self.features.on_home_action(body)

    async def on_reply_button(self, ack: Any, body: dict, respond: Any) -> None:
        await ack()
        action = body["actions"][0]
        action_id, value = action["action_id"], str(action.get("value") or "")
        team, user = body["team"]["id"], body["user"]["id"]
        actor = await self.actor(team, user, fresh=action_id == "hfchat_delete")
        conversation = await self.chat.conversations.of_reply(value, actor)
        key = conversation.key
        note = ""
        if action_id == "hfchat_stop":
            if not await self.chat.stop(conversation.id, actor):
                note = "Nothing is being written here."
        elif action_id == "hfchat_regenerate":
            sink = self.sink(team, key.channel, key.thread, user)
            submitted = await self.chat.regenerate(conversation.id, actor, sink)
            self._track_reply(submitted.reply)
        elif action_id == "hfchat_continue":
            submitted = await self.chat.continue_reply(
                conversation.id, actor, self.sink(team, key.channel, key.thread, user)
            )
            self._track_reply(submitted.reply)
        elif action_id == "hfchat_delete":
            await self.chat.delete_conversation(conversation.id, actor)
            note = "Deleted. This conversation's stored history is erased."
        elif action_id in ("hfchat_feedback_up", "hfchat_feedback_down"):
            vote = "up" if action_id.endswith("up") else "down"
            await self.chat.conversations.record_feedback(conversation, int(value), actor, vote)
            note = "Thanks for the feedback."
        if note:
            await respond(text=note, response_type="ephemeral", replace_original=False)

    async def on_delete_all_confirm(self, ack: Any, body: dict, respond: Any) -> None:
        await ack()
        actor = await self.actor(body["team"]["id"], body["user"]["id"])
        count = await self.chat.delete_user_data(actor)
        await respond(
            text=f"Done: everything stored about you is erased ({count} conversation{'s' if count != 1 else ''}).",
            replace_original=True,
        )

    async def on_delete_all_cancel(self, ack: Any, respond: Any) -> None:
        await ack()
        await respond(text="Nothing was erased.", replace_original=True)

    # ------------------------------------------------------------------ installs (OAuth)
    async def on_app_uninstalled(self, context: Any) -> None:
        await self.app.installation_store.async_delete_all(enterprise_id=context.enterprise_id, team_id=context.team_id)
        self._users = {key: value for key, value in self._users.items() if key[0] != context.team_id}

    async def on_tokens_revoked(self, event: dict, context: Any) -> None:
        await self.app.default_tokens_revoked_event_listener()(event=event, context=context)

    # ------------------------------------------------------------------ HTTP mode
    def web_app(self, path: str = "/slack/events") -> web.Application:
        app = self.app.web_app(path=path)
        app.middlewares.append(_malformed_refused(SignatureVerifier(self._signing_secret)))
        return app


async def _already_acked(*args: Any, **kwargs: Any) -> None:
    """The ack of a command handled inside another one (`/hfchat model ...`): already sent."""


_EVENT_TEXT_FIELDS = ("ts", "thread_ts", "event_ts", "text", "team", "subtype", "channel_type", "bot_id")
_COMMAND_FIELDS = ("command", "team_id", "user_id", "channel_id")


def _malformed_event(payload: Any) -> str:
    """Why a JSON body is not a Slack event ("" when it is one)."""
    if not isinstance(payload, dict):
        return "not a JSON object"
    if payload.get("type") != "event_callback":
        return ""
    event = payload.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return "an event callback without an event"
    if not all(isinstance(event.get(name), str | dict | None) for name in ("channel", "user")):
        return "an event with odd channel or user fields"
    if not all(isinstance(event.get(name), str | None) for name in _EVENT_TEXT_FIELDS):
        return "an event with odd text fields"
    return ""


def _id_of(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("id"), str) and bool(value["id"])


def _malformed_form(form: dict[str, list[str]]) -> str:
    """Why a form body is neither a slash command nor an interaction Slack would send ("" when it is one)."""
    if "payload" in form:
        try:
            payload = json.loads(form["payload"][0])
        except ValueError:
            return "an interaction payload that is not JSON"
        if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
            return "an interaction payload without a type"
        if payload["type"] in ("block_actions", "message_action", "shortcut", "view_submission"):
            if not _id_of(payload.get("user")) or (
                "team" in payload and payload["team"] is not None and not _id_of(payload["team"])
            ):
                return "an interaction without its user or team"
        if payload["type"] == "block_actions":
            actions = payload.get("actions")
            if not isinstance(actions, list) or not actions:
                return "a block action without actions"
            if not all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
                return "a block action without its action id"
        return ""
    if "command" in form:
        if not all(form.get(name, [""])[0] for name in _COMMAND_FIELDS):
            return "a slash command without its team, user or channel"
    return ""


def _malformed_refused(verifier: SignatureVerifier) -> Any:
    """A signed body Slack would never send gets 400 and one log line (no content), not a 500 and a traceback
    from deep inside Bolt (nor a retry from Slack). Anything unsigned goes on to Bolt, which answers 401."""

    @web.middleware
    async def refuse(request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]) -> Any:
        if request.method != "POST":
            return await handler(request)
        try:
            body = (await request.read()).decode("utf-8")
        except UnicodeDecodeError:  # nothing Slack sends, signed or not (and no signature can be checked on it)
            return _refused("a body that is not UTF-8")
        if not verifier.is_valid_request(body, dict(request.headers)):
            return await handler(request)
        why = ""
        if request.content_type == "application/json":
            try:
                why = _malformed_event(json.loads(body))
            except ValueError:
                why = "a body that is not JSON"
        elif request.content_type == "application/x-www-form-urlencoded":
            why = _malformed_form(parse_qs(body, keep_blank_values=True))
        return _refused(why) if why else await handler(request)

    return refuse


def _refused(why: str) -> web.Response:
    log.info("malformed Slack request refused: %s", why)
    return web.Response(status=400, text=why)


def build_adapter(
    core: Core,
    *,
    client: AsyncWebClient | None = None,
    token: str | None = None,
    signing_secret: str | None = None,
    **options: Any,
) -> SlackAdapter:
    settings = core.settings
    oauth = oauth_configured(settings)
    if client is None:
        token = None if oauth else token or _secret(settings.slack_bot_token)
        if not token and not oauth:
            raise ConfigError("config error: SLACK_BOT_TOKEN: required to run the Slack bot")
        api = {"base_url": settings.slack_api_url.rstrip("/") + "/"} if settings.slack_api_url else {}
        client = AsyncWebClient(token=token, **api)
    if oauth:
        # Bolt finds each team's bot token in the installation store; a fixed token would be ignored
        client = AsyncWebClient(base_url=client.base_url, timeout=client.timeout, ssl=client.ssl, proxy=client.proxy)
        options["oauth_settings"] = build_oauth_settings(settings, core.chat.bot_state, client)
    secret = signing_secret if signing_secret is not None else _secret(settings.slack_signing_secret)
    return SlackAdapter(core, client, signing_secret=secret, **options)


def build_app(core: Core, *, client: AsyncWebClient | None = None, **options: Any) -> AsyncApp:
    """The Bolt app for this core (tests pass a client whose base_url points at a fake Slack)."""
    return build_adapter(core, client=client, **options).app


async def serve_http(adapter: SlackAdapter, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(adapter.web_app(), handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


def _check_settings(settings: Any) -> None:
    """Stop with one line naming what the chosen mode still needs."""
    if settings.slack_mode == "socket":
        if not _secret(settings.slack_bot_token):
            hint = " (OAuth installs with SLACK_CLIENT_ID need SLACK_MODE=http)" if settings.slack_client_id else ""
            raise ConfigError(f"config error: SLACK_BOT_TOKEN: required to run the Slack bot in Socket Mode{hint}")
        if not _secret(settings.slack_app_token):
            raise ConfigError("config error: SLACK_APP_TOKEN: required for Socket Mode (or set SLACK_MODE=http)")
        return
    if bool(settings.slack_client_id) != bool(_secret(settings.slack_client_secret)):
        missing = "SLACK_CLIENT_SECRET" if settings.slack_client_id else "SLACK_CLIENT_ID"
        raise ConfigError(f"config error: {missing}: OAuth installs need both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET")
    if not settings.slack_client_id and not _secret(settings.slack_bot_token):
        raise ConfigError(
            "config error: SLACK_BOT_TOKEN: required in HTTP mode (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET "
            "for OAuth installs)"
        )
    if not _secret(settings.slack_signing_secret):
        raise ConfigError("config error: SLACK_SIGNING_SECRET: required when SLACK_MODE=http")


async def run_slack(core: Core) -> None:
    """Run the Slack front end until cancelled: Socket Mode by default, HTTP with SLACK_MODE=http."""
    settings = core.settings
    _check_settings(settings)
    adapter = build_adapter(core)
    core.on_interrupted(adapter.show_interrupted)
    if settings.slack_mode == "socket":
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(adapter.app, _secret(settings.slack_app_token), web_client=adapter.client)
        await handler.connect_async()
        log.info("slack: connected in Socket Mode")
        try:
            await asyncio.Event().wait()
        finally:
            with contextlib.suppress(Exception):
                await handler.close_async()
    else:
        runner = await serve_http(adapter, settings.slack_host, settings.slack_port)
        log.info("slack: serving events on %s port %d", settings.slack_host, settings.slack_port)
        if adapter.app.oauth_flow is not None:
            log.info("slack: OAuth installs start at %s", settings.slack_install_path)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

"""The Slack front end: one Bolt AsyncApp with its middleware, its error handler and the listeners of each of
Slack's surfaces (events, slash commands, message actions and forms, the App Home), run in Socket Mode (the
default) or signed HTTP mode.

A thread is a conversation: ConversationKey("slack", team, channel, thread_ts or ts). Everything is acked
before any work (Bolt acks events before their listeners; commands, buttons and shortcuts go through the
ACK_FIRST listener middleware; forms ack with their errors) and events are de-duplicated by event id through
the store, so a retried delivery never answers twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.listener.async_listener_completion_handler import AsyncCustomListenerCompletionHandler
from slack_bolt.listener.async_listener_start_handler import AsyncCustomListenerStartHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bots.slack.account import AccountForm
from bots.slack.actions import Actions
from bots.slack.adapter import PLATFORM, SlackAdapter
from bots.slack.calls import slack_error
from bots.slack.catchup import SHORTCUT, summarize_thread_shortcut
from bots.slack.commands import Commands
from bots.slack.events import Events
from bots.slack.home import Home
from bots.slack.http import serve_http
from bots.slack.memory import MemoryButtons
from bots.slack.middleware import ACK_FIRST, RequestMiddleware, count_event
from bots.slack.oauth import build_oauth_settings, oauth_configured
from bots.slack.questions import Questions
from bots.slack.schedule import wire_schedules
from bots.slack.sessions import AgentSessions
from bots.slack.views import controls
from core.app import Core
from core.config import ConfigError
from core.records import StoredMessage
from core.replies.interrupted import INTERRUPTED_NOTICE

log = logging.getLogger(__name__)


def wire(slack: SlackAdapter) -> SlackAdapter:
    """The adapter's Bolt app gets its middleware, error handler and every listener."""
    app = slack.app
    requests = RequestMiddleware(slack)
    app.middleware(requests.bind_workspace)
    app.middleware(count_event)
    app.middleware(requests.drop_duplicate_event)
    app.error(requests.on_error)
    # Bolt's own hooks around every listener run (its Django adapter uses them the same way): idle() waits
    # for the listeners under way, in the task each runs in
    runner = app.listener_runner
    runner.listener_start_handler = AsyncCustomListenerStartHandler(log, slack.listener_started)
    runner.listener_completion_handler = AsyncCustomListenerCompletionHandler(log, slack.listener_finished)
    listening = (Events, Commands, Actions, Home, Questions, AgentSessions, AccountForm, MemoryButtons)
    for listeners in (listen(slack) for listen in listening):
        listeners.register(app)

    async def on_summarize_thread(body: dict) -> None:
        await summarize_thread_shortcut(slack, body)

    app.shortcut(SHORTCUT, middleware=ACK_FIRST)(on_summarize_thread)
    wire_schedules(slack, app)
    return slack


async def show_interrupted(slack: SlackAdapter, replies: list[StoredMessage]) -> None:
    """Close the Slack messages of answers a dead process left unfinished (the core says which and with what)."""
    for interrupted in await slack.chat.actions.interrupted(PLATFORM, replies):
        channel, _, ts = interrupted.reply.platform_message_id.partition("/")
        if not ts:
            continue
        buttons = controls(interrupted.view)
        client = await slack.client_for(interrupted.conversation.key.workspace)
        try:  # a native stream still open: end it with the notice
            await client.chat_stopStream(
                channel=channel, ts=ts, markdown_text="\n\n" + INTERRUPTED_NOTICE, blocks=buttons
            )
            continue
        except SlackApiError:
            pass
        try:  # an edited message (or a stream Slack already closed): say so under it
            await client.chat_postMessage(
                channel=channel,
                thread_ts=interrupted.conversation.key.thread,
                text=INTERRUPTED_NOTICE,
                blocks=[{"type": "markdown", "text": INTERRUPTED_NOTICE}, *buttons],
            )
        except SlackApiError as exc:
            log.warning("could not mark an interrupted answer: %s", slack_error(exc))


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)


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
    return wire(SlackAdapter(core, client, signing_secret=secret, **options))


def build_app(core: Core, *, client: AsyncWebClient | None = None, **options: Any) -> AsyncApp:
    """The Bolt app for this core (tests pass a client whose base_url points at a fake Slack)."""
    return build_adapter(core, client=client, **options).app


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
    core.on_interrupted(functools.partial(show_interrupted, adapter))
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

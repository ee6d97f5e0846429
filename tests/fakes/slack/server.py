"""FakeSlack: the aiohttp server, its lifecycle, the Web API entry point and what tests ask of it."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.slack.agents import AgentSessionsMixin
from tests.fakes.slack.blocks import check_block
from tests.fakes.slack.chat_api import ChatApiMixin
from tests.fakes.slack.events import EventBuildersMixin
from tests.fakes.slack.protocol import _JSON_FIELDS, _ApiError
from tests.fakes.slack.ratelimits import (
    COMMERCIAL_HISTORY,
    COMMERCIAL_HISTORY_ITEMS,
    DEFAULT_RATE_LIMITS,
    RateLimit,
    RateLimitsMixin,
    _Injection,
)
from tests.fakes.slack.records import Call, Channel, StoredMessage, StreamState
from tests.fakes.slack.signed import SignedHttpMixin
from tests.fakes.slack.socket_mode import SocketModeMixin
from tests.fakes.slack.state import StateMixin
from tests.fakes.slack.workspace_api import WorkspaceApiMixin

# --------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------


class FakeSlack(
    StateMixin,
    ChatApiMixin,
    WorkspaceApiMixin,
    SocketModeMixin,
    EventBuildersMixin,
    SignedHttpMixin,
    RateLimitsMixin,
    AgentSessionsMixin,
):
    """Fake Slack workspace served on 127.0.0.1 (use as `async with FakeSlack() as fake`)."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-fake-bot-token",
        app_token: str = "xapp-1-fake-app-token",
        signing_secret: str = "fake-signing-secret",
        verification_token: str = "fake-verification-token",
        team_id: str = "T0TEAM0001",
        team_domain: str = "fake-workspace",
        app_id: str = "A0APP00001",
        bot_id: str = "B0BOT00001",
        bot_user_id: str = "U0BOT00001",
        bot_name: str = "hugchat",
        default_user_id: str = "U0USER0001",
        default_channel_id: str = "C0CHAN0001",
        default_dm_id: str = "D0DM000001",
        rate_limits: dict[str, RateLimit | None] | None = None,
        max_text_len: int = 4000,
        max_markdown_len: int = 12000,
        max_blocks: int = 50,
        max_section_text_len: int = 3000,
        streaming_unsupported_types: set[str] | frozenset[str] = frozenset(),
        stream_ttl: float | None = 300.0,  # a native stream expires after about 5 minutes (observed); tests shorten it
        stop_latency: float = 0.0,
        trigger_ttl: float = 3.0,
        echo_events: bool = False,
        auto_create: bool = True,
        server_ping_interval: float | None = None,
        commercial_distribution: bool = False,
        subscribed_events: set[str] | frozenset[str] | None = None,
    ):
        """`commercial_distribution`: the app is distributed outside the Marketplace, so history reads are held to
        1 request a minute and 15 items (an internal or Marketplace app keeps Tier 3 and 999 items).
        `subscribed_events`: the bot events the app's manifest subscribes to (agents.py warns as Slack does when
        `agent_session_stopped` is missing); None: not checked."""
        self.bot_token, self.app_token = bot_token, app_token
        self.signing_secret, self.verification_token = signing_secret, verification_token
        self.team_id, self.team_domain, self.app_id = team_id, team_domain, app_id
        self.bot_id, self.bot_user_id, self.bot_name = bot_id, bot_user_id, bot_name
        self.default_user_id = default_user_id
        self.default_channel_id, self.default_dm_id = default_channel_id, default_dm_id
        history = COMMERCIAL_HISTORY if commercial_distribution else {}
        limits = {**DEFAULT_RATE_LIMITS, **history, **(rate_limits or {})}
        self.history_max_items = COMMERCIAL_HISTORY_ITEMS if commercial_distribution else 999
        self.rate_limits: dict[str, RateLimit] = {k: v for k, v in limits.items() if v is not None}
        self.max_text_len, self.max_markdown_len = max_text_len, max_markdown_len
        self.max_blocks, self.max_section_text_len = max_blocks, max_section_text_len
        self.streaming_unsupported_types = set(streaming_unsupported_types)
        self.stream_ttl, self.trigger_ttl = stream_ttl, trigger_ttl
        # how long Slack takes to answer a chat.stopStream (it is not instantaneous): a second stop for a message
        # arriving meanwhile overlaps the first, and once the first has stopped it, is refused (not streaming)
        self.stop_latency = stop_latency
        self.echo_events, self.auto_create = echo_events, auto_create
        self.server_ping_interval = server_ping_interval
        # OAuth installs (oauth.v2.access): the app's credentials, codes to redeem, bot tokens issued per team
        self.client_id, self.client_secret = "0000000001.0000000001", "fake-client-secret"
        self.oauth_codes: dict[str, dict] = {}  # code -> the install it grants (one use)
        self.installed_tokens: dict[str, dict] = {}  # bot token -> {team_id, team_name, bot_user_id, bot_id}

        # Observable state (tests read these directly).
        self.rate_limited: Counter[str] = Counter()
        # (channel, ts) -> chat.stopStream calls that arrived while another one for that message was unanswered
        self.overlapping_stops: Counter[tuple[str, str]] = Counter()
        self._stops_in_flight: Counter[tuple[str, str]] = Counter()
        self.unknown_methods: list[str] = []
        self.channels: dict[str, Channel] = {}
        self.users: dict[str, dict] = {}
        self.ephemerals: list[dict] = []
        self.files: dict[str, dict] = {}
        self.file_downloads: list[dict] = []  # GETs of url_private: {"file", "authorized"}
        self.views: dict[str, dict] = {}
        self.user_connections: dict[str, str] = {}  # user -> connected | disconnected (apps.user.connection.update)
        self.home_views: dict[str, str] = {}  # user_id -> view_id
        self.assistant_threads: dict[tuple[str, str], dict] = {}
        self.response_url_posts: list[dict] = []
        self.envelopes: dict[str, dict] = {}  # envelope_id -> envelope we sent
        self.acks: dict[str, dict] = {}  # envelope_id -> {"payload", "at"}
        self.socket_messages: list[Any] = []  # non-ack frames the client sent
        self.socket_connect_count = 0

        self._calls: list[Call] = []
        self._injections: dict[str, list[_Injection]] = defaultdict(list)
        self._buckets: dict[tuple, tuple[float, float]] = {}
        self._triggers: dict[str, float | None] = {}  # trigger_id -> issued_at (None once used)
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._ack_events: dict[str, asyncio.Event] = {}
        self._tasks: set[asyncio.Task] = set()
        self._last_ts_us = 0
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

        self.add_user(bot_user_id, bot_name, is_bot=True)
        self.add_user(default_user_id, "alice")
        self.add_channel(default_channel_id, "channel", name="general")
        self.add_channel(default_dm_id, "im", user=default_user_id)
        self._handlers: dict[str, Callable[[dict], dict]] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "chat.startStream": self._chat_start_stream,
            "chat.appendStream": self._chat_append_stream,
            "chat.stopStream": self._chat_stop_stream,
            "assistant.threads.setStatus": self._assistant_set_status,
            "assistant.threads.setSuggestedPrompts": self._assistant_set_prompts,
            "assistant.threads.setTitle": self._assistant_set_title,
            "conversations.replies": self._conversations_replies,
            "conversations.history": self._conversations_history,
            "conversations.info": self._conversations_info,
            "conversations.open": self._conversations_open,
            "conversations.members": self._conversations_members,
            "users.info": self._users_info,
            "apps.user.connection.update": self._apps_user_connection_update,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "oauth.v2.access": self._oauth_v2_access,
        }
        self._init_agent_sessions(subscribed_events)

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/v1/{file_id}", self._handle_upload)
        app.router.add_post("/hooks/{kind}/{hook_id}", self._handle_response_url)
        app.router.add_get("/link/", self._handle_socket)
        app.router.add_get("/files/{file_id}", self._handle_file_download)
        app.router.add_get("/files/{file_id}/{name}", self._handle_file_download)
        app.router.add_get("/signin", self._handle_signin)
        # Short shutdown: tests should not wait for lingering keep-alive connections.
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: Any) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for ws in list(self._sockets):
            await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY)
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # ---------------------------------------------------------------- query helpers

    def calls(self, method: str | None = None) -> list[Call]:
        return [c for c in self._calls if method is None or c.method == method]

    def message(self, channel: str, ts: str) -> StoredMessage:
        return self.channels[channel].messages[ts]

    def thread(self, channel: str, thread_ts: str) -> list[StoredMessage]:
        """Parent first, then replies in order; deleted messages left out."""
        return [m for m in self._thread_messages(self.channels[channel], thread_ts) if not m.deleted]

    def final_text(self, channel: str, ts: str) -> str:
        return self.message(channel, ts).final_text

    def stream(self, channel: str, ts: str) -> StreamState | None:
        return self.message(channel, ts).stream

    def bot_messages(self, channel: str | None = None, thread_ts: str | None = None) -> list[StoredMessage]:
        chans = [self.channels[channel]] if channel else list(self.channels.values())
        out = [
            m
            for ch in chans
            for m in ch.messages.values()
            if m.bot_id == self.bot_id and not m.deleted and (thread_ts is None or m.thread_ts == thread_ts)
        ]
        return sorted(out, key=lambda m: m.ts)

    # ---------------------------------------------------------------- HTTP plumbing

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        # slack_sdk sends some methods as query params, others as form or JSON bodies.
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                params.update(body if isinstance(body, dict) else {})
            else:
                params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        for key in _JSON_FIELDS & params.keys():
            value = params[key]
            if isinstance(value, str) and value[:1] in "[{":
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    pass  # left as-is; the handler decides whether that is an error
        return params

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._read_params(request)
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else params.pop("token", None)
        params.pop("token", None)
        if auth.startswith("Basic "):  # oauth.v2.access: client_id:client_secret as HTTP Basic auth
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
            params.setdefault("client_id", client_id)
            params.setdefault("client_secret", client_secret)
        call = Call(method, params, time.monotonic(), token)
        self._calls.append(call)
        headers = {"X-OAuth-Scopes": "app_mentions:read,chat:write,im:history,channels:history,users:read,files:write"}
        stopping = (str(params.get("channel")), str(params.get("ts"))) if method == "chat.stopStream" else None
        if stopping is not None:
            if self._stops_in_flight[stopping]:
                self.overlapping_stops[stopping] += 1
            self._stops_in_flight[stopping] += 1
        try:
            if method not in self._handlers:
                self.unknown_methods.append(method)
                raise _ApiError("unknown_method", req_method=method)
            self._check_auth(method, token)
            self._check_injection(method)
            self._check_rate_limit(method, params)
            if stopping is not None and self.stop_latency:
                await asyncio.sleep(self.stop_latency)
            status, body = 200, {"ok": True, **self._handlers[method](params)}
        except _ApiError as e:
            status, body = e.status, {"ok": False, "error": e.error, **e.extra}
            headers.update(e.headers)
        finally:
            if stopping is not None:
                self._stops_in_flight[stopping] -= 1
        if status == 429:
            self.rate_limited[method] += 1
        call.status, call.response, call.headers, call.answered_at = status, body, headers, time.monotonic()
        return web.json_response(body, status=status, headers=headers)

    def _check_auth(self, method: str, token: str | None) -> None:
        if method == "oauth.v2.access":
            return  # the client id and secret authenticate it (checked by the method)
        if not token:
            raise _ApiError("not_authed")
        wanted = self.app_token if method == "apps.connections.open" else self.bot_token
        if token == wanted or (token in self.installed_tokens and method != "apps.connections.open"):
            return
        if token in (self.app_token, self.bot_token):
            raise _ApiError("not_allowed_token_type")
        raise _ApiError("invalid_auth")

    def _check_lengths(self, text: Any = None, markdown_text: Any = None, blocks: Any = None) -> None:
        if isinstance(text, str) and len(text) > self.max_text_len:
            raise _ApiError("msg_too_long")
        if isinstance(markdown_text, str) and len(markdown_text) > self.max_markdown_len:
            raise _ApiError("msg_too_long")
        if blocks is None:
            return
        if not isinstance(blocks, list):
            raise _ApiError("invalid_blocks_format")
        if len(blocks) > self.max_blocks:
            raise _ApiError("invalid_blocks")
        if sum(1 for block in blocks if isinstance(block, dict) and block.get("type") == "table") > 1:
            raise _ApiError("invalid_blocks")  # one table block a message (the conservative reading of the docs)
        self._check_context_actions(blocks)  # agents.py
        for block in blocks:
            check_block(block)
            text_obj = block.get("text") if isinstance(block, dict) and block.get("type") == "section" else None
            if isinstance(text_obj, dict) and len(text_obj.get("text", "")) > self.max_section_text_len:
                raise _ApiError("invalid_blocks")

    async def _handle_upload(self, request: web.Request) -> web.Response:
        # files_upload_v2 step 2: raw bytes to the URL from files.getUploadURLExternal.
        file = self.files.get(request.match_info["file_id"])
        if file is None:
            return web.Response(status=404, text="not found")
        file["content"] = await request.read()
        return web.Response(text=f"OK - {len(file['content'])}", content_type="text/plain")

    async def _handle_file_download(self, request: web.Request) -> web.StreamResponse:
        # url_private needs a bot token of this workspace; without one Slack redirects to its sign-in page
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        authorized = token == self.bot_token or token in self.installed_tokens
        file = self.files.get(request.match_info["file_id"])
        self.file_downloads.append({"file": request.match_info["file_id"], "authorized": authorized})
        if not authorized:
            raise web.HTTPFound(f"{self.base_url}/signin?redir=%2Ffiles%2F{request.match_info['file_id']}")
        if file is None or file.get("content") is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=file["content"], content_type=file.get("mimetype") or "application/octet-stream")

    async def _handle_signin(self, request: web.Request) -> web.Response:
        return web.Response(text="<!DOCTYPE html><html><body>Sign in to Slack</body></html>", content_type="text/html")

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        body = await request.json() if request.content_type == "application/json" else await request.text()
        self.response_url_posts.append({"url": str(request.url), "body": body, "at": time.monotonic()})
        return web.Response(text="ok")

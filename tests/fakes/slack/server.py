"""Loopback fake of Slack for tests: Web API, Socket Mode and signed HTTP events.

Everything listens on 127.0.0.1 with a random port; nothing reaches the internet.

    async with FakeSlack(echo_events=True) as fake:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        handler = AsyncSocketModeHandler(app, fake.app_token, web_client=client)
        await handler.connect_async()           # apps.connections.open -> our ws:// URL
        post = await fake.user_posts("hello", channel="C0CHAN0001")   # app_mention
        await fake.wait_ack(post.envelope_ids[0])
        assert fake.bot_messages("C0CHAN0001", thread_ts=post.ts)[0].final_text == "..."

Public API (all on FakeSlack unless noted):
- setup: add_user, add_channel, add_user_message, add_user_file (url_private needs the bot token),
  new_trigger_id, inject(method, error, times, status, retry_after)
- OAuth installs: new_oauth_code(team_id) for oauth.v2.access (client_id/client_secret), installed_tokens
- queries: calls(method), message(ch, ts), thread(ch, thread_ts), final_text(ch, ts), stream(ch, ts),
  bot_messages(ch, thread_ts), plus the dicts rate_limited, overlapping_stops, unknown_methods, channels, users, files,
  views, home_views, ephemerals, assistant_threads, response_url_posts, envelopes, acks, file_downloads
- Socket Mode: socket_send_event / socket_send_command / socket_send_interactive / socket_send_envelope,
  socket_send_disconnect, socket_drop, wait_ack, wait_socket_connected, user_posts
- builders: build_event_callback, build_message, build_app_mention, build_message_changed,
  build_message_deleted, build_assistant_thread_started, build_assistant_thread_context_changed,
  build_app_home_opened, build_slash_command, build_message_action, build_block_actions
- HTTP mode: sign_request(), post_signed() (module level) and fake.http_send(url, payload, kind=...)

The fake mimics what a bot adapter must cope with: form or JSON bodies, bearer tokens, realistic
payloads, HTTP 429 + Retry-After rate limits (each method's tier read from the Web API reference in
shared/specs/slack-api-ref), injected failures, length limits, native streaming (chat.*Stream) with expiry
and overlapping stops recorded, and Socket Mode envelopes with acks, redeliveries and dropped sockets.
"""

# Timeouts are part of this test helper's API (wait_ack(envelope_id, timeout), ...).
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import math
import os
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

# Fields that Slack accepts as JSON strings when a request is form-encoded.
_JSON_FIELDS = {
    "attachments",
    "blocks",
    "chunks",
    "files",
    "loading_messages",
    "metadata",
    "prompts",
    "view",
}

# Channel type -> `channel_type` as written in Events API message events.
_EVENT_CHANNEL_TYPE = {"channel": "channel", "private": "group", "im": "im", "mpim": "mpim"}


# --------------------------------------------------------------------------------------
# Signed HTTP requests (Events API / slash commands / interactivity over HTTP)
# --------------------------------------------------------------------------------------


def sign_request(body: bytes | str, signing_secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack adds to every HTTP request it sends to an app (v0 signature)."""
    if isinstance(body, str):
        body = body.encode()
    ts = str(int(time.time()) if timestamp is None else int(timestamp))
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class SignedResponse:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


async def post_signed(
    url: str,
    signing_secret: str,
    *,
    json_body: dict | None = None,
    form: dict | None = None,
    interactive: dict | None = None,
    raw: bytes | None = None,
    content_type: str | None = None,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> SignedResponse:
    """POST a signed request to an app, the way Slack delivers HTTP events.

    Give exactly one body: `json_body` (Events API), `form` (slash command fields),
    `interactive` (sent as form field `payload=<json>`, like Slack does) or `raw`.
    `retry_num` / `retry_reason` add Slack's X-Slack-Retry-Num / X-Slack-Retry-Reason.
    """
    if sum(x is not None for x in (json_body, form, interactive, raw)) != 1:
        raise ValueError("give exactly one of json_body, form, interactive, raw")
    if json_body is not None:
        body, ctype = json.dumps(json_body).encode(), "application/json"
    elif form is not None:
        body, ctype = urlencode(form).encode(), "application/x-www-form-urlencoded"
    elif interactive is not None:
        body = urlencode({"payload": json.dumps(interactive)}).encode()
        ctype = "application/x-www-form-urlencoded"
    else:
        body, ctype = raw, "application/octet-stream"
    hdrs = {"Content-Type": content_type or ctype, **sign_request(body, signing_secret, timestamp)}
    if retry_num is not None:
        hdrs["X-Slack-Retry-Num"] = str(retry_num)
    if retry_reason is not None:
        hdrs["X-Slack-Retry-Reason"] = retry_reason
    hdrs.update(headers or {})
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        async with session.post(url, data=body, headers=hdrs) as resp:
            return SignedResponse(resp.status, dict(resp.headers), await resp.text())


# --------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimit:
    """Token bucket: `burst` calls at once, refilled at `per_second`.

    `per_channel` keys the bucket by channel (chat.postMessage) instead of by workspace
    (chat.update). `retry_after` forces the Retry-After header (e.g. 0 for fast tests).
    """

    per_second: float
    burst: int = 1
    per_channel: bool = False
    retry_after: int | None = None

    @classmethod
    def per_minute(cls, n: int, **kw: Any) -> RateLimit:
        return cls(per_second=n / 60.0, burst=kw.pop("burst", n), **kw)


def default_spec_dir() -> Path:
    """$SLACK_API_REF, else shared/specs/slack-api-ref/ beside the repository (as CI lays it out)."""
    env = os.environ.get("SLACK_API_REF")
    if env:
        return Path(env)
    for base in (Path(__file__).resolve().parents[4], Path("/work")):
        candidate = base / "shared" / "specs" / "slack-api-ref"
        if candidate.exists():
            return candidate
    return Path("/work/shared/specs/slack-api-ref")


# Slack's tiers, per method, per workspace, per app: "N+ per minute", short bursts tolerated. The published
# floor, so a bot that stays clear of 429s here stays clear on Slack (t5 is "special": set by hand below).
TIER_PER_MINUTE = {"t1": 1, "t2": 20, "t3": 50, "t4": 100}


def tier_of(method: str, spec_dir: Path | None = None) -> str:
    """The method's tier as the Web API reference gives it (`rate_limits`: t1-t4, t5 = special)."""
    path = (spec_dir or default_spec_dir()) / "docs.slack.dev" / "methods" / f"{method}.json"
    with open(path, encoding="utf-8") as fh:
        return str(json.load(fh)["rate_limits"])


def tier_limit(method: str) -> RateLimit:
    return RateLimit.per_minute(TIER_PER_MINUTE[tier_of(method)])


DEFAULT_RATE_LIMITS: dict[str, RateLimit] = {
    # Tier 3 (chat.update) and Tier 4 (chat.appendStream), shared by all channels of the workspace
    "chat.update": tier_limit("chat.update"),
    "chat.appendStream": tier_limit("chat.appendStream"),
    # Tier 2: how many native answers may start, and finish, per minute in a workspace
    "chat.startStream": tier_limit("chat.startStream"),
    "chat.stopStream": tier_limit("chat.stopStream"),
    # special: about 1 per second per channel, short bursts allowed
    "chat.postMessage": RateLimit(per_second=1.0, burst=3, per_channel=True),
}


@dataclass
class Call:
    """One Web API request as the fake saw it (params merged from query, form and JSON)."""

    method: str
    params: dict[str, Any]
    at: float  # time.monotonic()
    token: str | None = None
    status: int = 0
    response: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # of the answer (Retry-After on a 429)
    answered_at: float | None = None  # time.monotonic() when the answer went out

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return self.response.get("error")


@dataclass
class StreamState:
    state: str  # "streaming" | "stopped" | "expired"
    started_at: float
    recipient_user_id: str | None = None
    recipient_team_id: str | None = None
    stopped_at: float | None = None
    appends: int = 0
    text: str = ""
    chunks: list[dict] = field(default_factory=list)  # every chunk received, in order


@dataclass
class StoredMessage:
    channel: str
    ts: str
    user: str
    text: str = ""
    markdown_text: str | None = None
    blocks: list | None = None  # as sent by the client
    thread_ts: str | None = None  # set on replies (and on parents only once they have replies)
    bot_id: str | None = None
    subtype: str | None = None
    metadata: dict | None = None
    files: list[dict] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    broadcast: bool = False
    deleted: bool = False
    edited_ts: str | None = None
    stream: StreamState | None = None
    history: list[dict] = field(default_factory=list)  # snapshot after every change

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def final_text(self) -> str:
        return self.markdown_text if self.markdown_text is not None else self.text

    def snapshot(self, method: str) -> None:
        self.history.append(
            {
                "at": time.monotonic(),
                "method": method,
                "text": self.text,
                "markdown_text": self.markdown_text,
                "blocks": self.blocks,
            }
        )


@dataclass
class Channel:
    id: str
    type: str  # "channel" | "private" | "im" | "mpim"
    name: str = ""
    user: str | None = None  # the other party of an im
    messages: dict[str, StoredMessage] = field(default_factory=dict)


@dataclass
class UserPost:
    """What `FakeSlack.user_posts` did: the stored message and the envelopes sent."""

    ts: str
    envelope_ids: list[str]
    events: list[dict]


class _ApiError(Exception):
    def __init__(self, error: str, status: int = 200, headers: dict | None = None, **extra: Any):
        super().__init__(error)
        self.error, self.status, self.headers, self.extra = error, status, headers or {}, extra


@dataclass
class _Injection:
    error: str
    remaining: int
    status: int
    retry_after: int | None
    extra: dict


def _flag(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _chunks_text(chunks: Any) -> str:
    """Text carried by markdown_text chunks (what slack_sdk's chat_stream helper sends)."""
    if not isinstance(chunks, list):
        return ""
    return "".join(c.get("text", "") for c in chunks if isinstance(c, dict) and c.get("type") == "markdown_text")


# --------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------


class FakeSlack:
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
        stream_ttl: float | None = None,
        stop_latency: float = 0.0,
        trigger_ttl: float = 3.0,
        echo_events: bool = False,
        auto_create: bool = True,
        server_ping_interval: float | None = None,
    ):
        self.bot_token, self.app_token = bot_token, app_token
        self.signing_secret, self.verification_token = signing_secret, verification_token
        self.team_id, self.team_domain, self.app_id = team_id, team_domain, app_id
        self.bot_id, self.bot_user_id, self.bot_name = bot_id, bot_user_id, bot_name
        self.default_user_id = default_user_id
        self.default_channel_id, self.default_dm_id = default_channel_id, default_dm_id
        limits = {**DEFAULT_RATE_LIMITS, **(rate_limits or {})}
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
            "users.info": self._users_info,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "oauth.v2.access": self._oauth_v2_access,
        }

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

    # ---------------------------------------------------------------- setup helpers

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        is_admin: bool = False,
        is_owner: bool = False,
        is_bot: bool = False,
        real_name: str | None = None,
        tz: str = "Europe/Paris",
    ) -> dict:
        real = real_name or name.title()
        self.users[user_id] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "real_name": real,
            "tz": tz,
            "tz_offset": 3600,
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
            "profile": {"real_name": real, "display_name": name, "team": self.team_id},
        }
        return self.users[user_id]

    def add_channel(
        self, channel_id: str, type: str = "channel", *, name: str = "", user: str | None = None
    ) -> Channel:
        """type: "channel" (public), "private", "im" (give `user`) or "mpim"."""
        assert type in _EVENT_CHANNEL_TYPE, type
        self.channels[channel_id] = Channel(channel_id, type, name or channel_id.lower(), user)
        return self.channels[channel_id]

    def add_user_file(
        self, name: str, content: bytes, mimetype: str = "text/plain", *, user: str | None = None
    ) -> dict:
        """A file a human uploads, as Slack describes it in a message's `files` (give it to user_posts).

        Its `url_private` serves the bytes only with a bot token of this workspace, like Slack.
        """
        file_id = self._new_id("F")
        self.files[file_id] = {"id": file_id, "name": name, "content": content, "mimetype": mimetype}
        url = f"{self.base_url}/files/{file_id}/{name}"
        return {
            "id": file_id,
            "created": int(time.time()),
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rsplit(".", 1)[-1] if "." in name else "binary",
            "user": user or self.default_user_id,
            "mode": "hosted",
            "size": len(content),
            "url_private": url,
            "url_private_download": f"{url}?download=1",
            "permalink": f"https://{self.team_domain}.slack.com/files/{user or self.default_user_id}/{file_id}/{name}",
        }

    def add_user_message(
        self,
        text: str,
        *,
        user: str | None = None,
        channel: str | None = None,
        thread_ts: str | None = None,
        files: list[dict] | None = None,
    ) -> StoredMessage:
        """Store a message typed by a human (so conversations.replies/history return it)."""
        ch = self._channel(channel or self.default_channel_id)
        msg = StoredMessage(ch.id, self._next_ts(), user or self.default_user_id, text=text, files=list(files or []))
        msg.thread_ts = self._thread_root(ch, thread_ts)
        ch.messages[msg.ts] = msg
        msg.snapshot("user")
        return msg

    def new_trigger_id(self) -> str:
        """A trigger_id valid for views.open during `trigger_ttl` seconds, once."""
        n = next(self._ids)
        trigger = f"{int(time.time())}{n:03d}.{n:010d}.{uuid.uuid4().hex}"
        self._triggers[trigger] = time.monotonic()
        return trigger

    def inject(
        self,
        method: str,
        error: str = "fatal_error",
        *,
        times: int = 1,
        status: int | None = None,
        retry_after: int | None = None,
        **extra: Any,
    ) -> None:
        """Make the next `times` calls of `method` fail with `error`.

        status defaults to 429 for "ratelimited" (with Retry-After, default 1 s), else 200,
        which is how Slack reports most errors. Extra kwargs are merged into the body.
        """
        if status is None:
            status = 429 if error in ("ratelimited", "rate_limited") else 200
        if status == 429 and retry_after is None:
            retry_after = 1
        self._injections[method].append(_Injection(error, times, status, retry_after, extra))

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

    # ---------------------------------------------------------------- ids & small utils

    def _next_ts(self) -> str:
        # Real-looking ("1732212345.000100") and strictly increasing, even within one µs.
        self._last_ts_us = max(self._last_ts_us + 100, int(time.time() * 1_000_000))
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def _channel(self, channel_id: Any) -> Channel:
        if not channel_id:
            raise _ApiError("channel_not_found")
        ch = self.channels.get(channel_id)
        if ch is None and self.auto_create and channel_id[0] in "CGD":
            kind = {"C": "channel", "G": "private", "D": "im"}[channel_id[0]]
            ch = self.add_channel(channel_id, kind)
        if ch is None:
            raise _ApiError("channel_not_found")
        return ch

    def _get_message(self, channel: Channel, ts: Any) -> StoredMessage:
        msg = channel.messages.get(ts)
        if msg is None or msg.deleted:
            raise _ApiError("message_not_found")
        return msg

    def _thread_root(self, ch: Channel, thread_ts: str | None) -> str | None:
        # Replying to a reply lands in the parent's thread, like in Slack.
        if not thread_ts:
            return None
        target = ch.messages.get(thread_ts)
        return target.thread_ts if target is not None and target.is_reply else thread_ts

    def _thread_messages(self, ch: Channel, thread_ts: str) -> list[StoredMessage]:
        msgs = [m for m in ch.messages.values() if m.ts == thread_ts or m.thread_ts == thread_ts]
        return sorted(msgs, key=lambda m: m.ts)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            await asyncio.sleep(0.01)

    def _user_ref(self, user_id: str) -> dict:
        name = self.users.get(user_id, {}).get("name", user_id.lower())
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _bot_profile(self) -> dict:
        return {
            "id": self.bot_id,
            "app_id": self.app_id,
            "name": self.bot_name,
            "deleted": False,
            "team_id": self.team_id,
        }

    def _rendered_blocks(self, msg: StoredMessage) -> list:
        # Slack returns blocks even for plain-text posts (Bolt's assistant store relies on it).
        if msg.blocks is not None:
            return msg.blocks
        if msg.markdown_text is not None:
            return [{"type": "markdown", "block_id": f"b{msg.ts}", "text": msg.markdown_text}]
        section = {"type": "rich_text_section", "elements": [{"type": "text", "text": msg.text}]}
        return [{"type": "rich_text", "block_id": f"b{msg.ts}", "elements": [section]}]

    def _api_message(self, msg: StoredMessage, *, with_metadata: bool = True) -> dict:
        """A message as Slack's Web API shows it."""
        ch = self.channels[msg.channel]
        d: dict[str, Any] = {
            "type": "message",
            "user": msg.user,
            "text": msg.final_text,
            "ts": msg.ts,
            "team": self.team_id,
        }
        if msg.subtype:
            d["subtype"] = msg.subtype
        if msg.bot_id:
            d["bot_id"] = msg.bot_id
            if msg.bot_id == self.bot_id:
                d.update(app_id=self.app_id, bot_profile=self._bot_profile())
        else:
            d["client_msg_id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{msg.channel}/{msg.ts}"))
        d["blocks"] = self._rendered_blocks(msg)
        if msg.is_reply:
            d["thread_ts"] = msg.thread_ts
            parent = ch.messages.get(msg.thread_ts)
            if parent is not None:
                d["parent_user_id"] = parent.user
            if msg.broadcast:
                d["subtype"] = "thread_broadcast"
        else:
            replies = [m for m in self._thread_messages(ch, msg.ts) if m.is_reply and not m.deleted]
            if replies:
                users = sorted({m.user for m in replies})
                d.update(
                    thread_ts=msg.ts,
                    reply_count=len(replies),
                    reply_users=users,
                    reply_users_count=len(users),
                    latest_reply=replies[-1].ts,
                )
        if msg.edited_ts:
            d["edited"] = {"user": msg.user, "ts": msg.edited_ts}
        if msg.metadata and with_metadata:
            d["metadata"] = msg.metadata
        if msg.files:
            d.update(files=msg.files, upload=True)
        if msg.reactions:
            d["reactions"] = [{"name": n, "users": u, "count": len(u)} for n, u in msg.reactions.items()]
        return d

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

    def _check_injection(self, method: str) -> None:
        queue = self._injections.get(method)
        if not queue:
            return
        inj = queue[0]
        inj.remaining -= 1
        if inj.remaining <= 0:
            queue.pop(0)
        headers = {"Retry-After": str(inj.retry_after)} if inj.retry_after is not None else {}
        raise _ApiError(inj.error, inj.status, headers, **inj.extra)

    def _check_rate_limit(self, method: str, params: dict) -> None:
        limit = self.rate_limits.get(method)
        if limit is None:
            return
        key = (method, params.get("channel") if limit.per_channel else None)
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + (now - last) * limit.per_second)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return
        self._buckets[key] = (tokens, now)
        wait = (1.0 - tokens) / limit.per_second
        retry_after = limit.retry_after if limit.retry_after is not None else max(1, math.ceil(wait))
        raise _ApiError("ratelimited", 429, {"Retry-After": str(retry_after)})

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
        for block in blocks:
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

    # ---------------------------------------------------------------- Web API methods

    def _auth_test(self, p: dict) -> dict:
        # handlers run without awaiting after the call is recorded: the last call is this one
        installed = self.installed_tokens.get(self._calls[-1].token or "")
        if installed is not None:
            return {
                "url": f"https://{installed['team_id'].lower()}.slack.com/",
                "team": installed["team_name"],
                "user": self.bot_name,
                "team_id": installed["team_id"],
                "user_id": installed["bot_user_id"],
                "bot_id": installed["bot_id"],
                "is_enterprise_install": False,
                "enterprise_id": None,
            }
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": "Fake Workspace",
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
            "enterprise_id": None,
        }

    def new_oauth_code(
        self, team_id: str | None = None, *, team_name: str = "Fake Workspace", user: str | None = None
    ) -> str:
        """A code Slack would put in the OAuth redirect after someone approves the install in `team_id`."""
        code = f"{next(self._ids)}.{uuid.uuid4().hex}"
        self.oauth_codes[code] = {"team_id": team_id or self.team_id, "team_name": team_name, "user": user}
        return code

    def _oauth_v2_access(self, p: dict) -> dict:
        if p.get("client_id") != self.client_id:
            raise _ApiError("invalid_client_id")
        if p.get("client_secret") != self.client_secret:
            raise _ApiError("bad_client_secret")
        grant = self.oauth_codes.pop(str(p.get("code") or ""), None)
        if grant is None:
            raise _ApiError("invalid_code")
        team_id = grant["team_id"]
        ours = team_id == self.team_id  # the fake's own team keeps the bot identity its builders use
        n = next(self._ids)
        token = f"xoxb-{team_id}-{n}-{uuid.uuid4().hex[:24]}"
        self.installed_tokens[token] = {
            "team_id": team_id,
            "team_name": grant["team_name"],
            "bot_user_id": self.bot_user_id if ours else f"U0BOT{n:05d}",
            "bot_id": self.bot_id if ours else f"B0BOT{n:05d}",
        }
        return {
            "access_token": token,
            "token_type": "bot",
            "scope": "app_mentions:read,chat:write,channels:history,im:history,users:read,files:write,commands",
            "bot_user_id": self.installed_tokens[token]["bot_user_id"],
            "app_id": self.app_id,
            "team": {"id": team_id, "name": grant["team_name"]},
            "enterprise": None,
            "is_enterprise_install": False,
            "authed_user": {"id": grant["user"] or self.default_user_id},
        }

    def _apps_connections_open(self, p: dict) -> dict:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        return {"url": f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"}

    def _bot_post(self, ch: Channel, method: str, *, thread_ts: str | None, **fields: Any) -> StoredMessage:
        msg = StoredMessage(ch.id, self._next_ts(), self.bot_user_id, bot_id=self.bot_id, **fields)
        msg.thread_ts = self._thread_root(ch, thread_ts)
        ch.messages[msg.ts] = msg
        msg.snapshot(method)
        if msg.thread_ts:
            # Slack clears the assistant "is thinking..." status when the app replies.
            self._clear_assistant_status(ch.id, msg.thread_ts, method)
        self._echo(self._message_event(msg))
        return msg

    def _chat_post_message(self, p: dict) -> dict:
        channel = p.get("channel")
        if isinstance(channel, str) and channel in self.users:
            # Posting to a user ID lands in the DM with that user.
            channel = self._conversations_open({"users": channel})["channel"]["id"]
        ch = self._channel(channel)
        text, md, blocks = p.get("text"), p.get("markdown_text"), p.get("blocks")
        if not (text or md or blocks or p.get("attachments")):
            raise _ApiError("no_text")
        self._check_lengths(text, md, blocks)
        msg = self._bot_post(
            ch,
            "chat.postMessage",
            thread_ts=p.get("thread_ts"),
            text=text or "",
            markdown_text=md,
            blocks=blocks,
            metadata=p.get("metadata"),
            broadcast=_flag(p.get("reply_broadcast")),
        )
        return {"channel": ch.id, "ts": msg.ts, "message": self._api_message(msg)}

    def _chat_update(self, p: dict) -> dict:
        ch = self._channel(p.get("channel"))
        msg = self._get_message(ch, p.get("ts"))
        if msg.bot_id != self.bot_id:
            raise _ApiError("cant_update_message")
        text, md, blocks = p.get("text"), p.get("markdown_text"), p.get("blocks")
        self._check_lengths(text, md, blocks)
        before = self._api_message(msg)
        if text is not None:
            msg.text = text
        if md is not None:
            msg.markdown_text = md
        elif text is not None:
            msg.markdown_text = None  # a plain-text update replaces earlier markdown
        if blocks is not None:
            msg.blocks = blocks
        if p.get("metadata") is not None:
            msg.metadata = p["metadata"]
        msg.edited_ts = self._next_ts()
        msg.snapshot("chat.update")
        self._echo(self._message_changed_event(msg, before))
        return {"channel": ch.id, "ts": msg.ts, "text": msg.final_text, "message": self._api_message(msg)}

    def _chat_delete(self, p: dict) -> dict:
        ch = self._channel(p.get("channel"))
        msg = self._get_message(ch, p.get("ts"))
        if msg.bot_id != self.bot_id:
            raise _ApiError("cant_delete_message")
        before = self._api_message(msg)
        msg.deleted = True
        msg.snapshot("chat.delete")
        self._echo(self._message_deleted_event(msg, before))
        return {"channel": ch.id, "ts": msg.ts}

    def _chat_post_ephemeral(self, p: dict) -> dict:
        ch = self._channel(p.get("channel"))
        if p.get("user") not in self.users:
            raise _ApiError("user_not_in_channel")
        text, md, blocks = p.get("text"), p.get("markdown_text"), p.get("blocks")
        if not (text or md or blocks or p.get("attachments")):
            raise _ApiError("no_text")
        self._check_lengths(text, md, blocks)
        ts = self._next_ts()
        self.ephemerals.append({**p, "channel": ch.id, "message_ts": ts, "at": time.monotonic()})
        return {"message_ts": ts}

    def _chat_get_permalink(self, p: dict) -> dict:
        ch = self._channel(p.get("channel"))
        msg = self._get_message(ch, p.get("message_ts"))
        link = f"https://{self.team_domain}.slack.com/archives/{ch.id}/p{msg.ts.replace('.', '')}"
        if msg.is_reply:
            link += f"?thread_ts={msg.thread_ts}&cid={ch.id}"
        return {"channel": ch.id, "permalink": link}

    # ----- native streaming (chat.startStream / appendStream / stopStream)

    def _streaming_message(self, p: dict) -> tuple[Channel, StoredMessage]:
        ch = self._channel(p.get("channel"))
        msg = self._get_message(ch, p.get("ts"))
        st = msg.stream
        if st is not None and st.state == "streaming" and self.stream_ttl is not None:
            if time.monotonic() - st.started_at > self.stream_ttl:
                st.state = "expired"  # Slack silently ends long streams
        if st is None or st.state != "streaming":
            raise _ApiError("message_not_in_streaming_state")
        return ch, msg

    def _stream_add(self, msg: StoredMessage, p: dict, method: str) -> None:
        st = msg.stream
        assert st is not None
        added = (p.get("markdown_text") or "") + _chunks_text(p.get("chunks"))
        if isinstance(p.get("chunks"), list):
            st.chunks.extend(p["chunks"])
        st.text += added
        msg.text = msg.markdown_text = st.text
        msg.snapshot(method)

    def _chat_start_stream(self, p: dict) -> dict:
        ch = self._channel(p.get("channel"))
        if ch.type in self.streaming_unsupported_types:
            raise _ApiError("channel_type_not_supported")
        if not p.get("thread_ts"):
            raise _ApiError("invalid_arguments")
        if ch.type != "im":
            # Outside DMs Slack has to know who sees the stream.
            if not p.get("recipient_team_id"):
                raise _ApiError("missing_recipient_team_id")
            if not p.get("recipient_user_id"):
                raise _ApiError("missing_recipient_user_id")
        self._check_lengths(markdown_text=p.get("markdown_text"))
        text = (p.get("markdown_text") or "") + _chunks_text(p.get("chunks"))
        msg = self._bot_post(ch, "chat.startStream", thread_ts=p["thread_ts"], text=text, markdown_text=text)
        chunks = list(p["chunks"]) if isinstance(p.get("chunks"), list) else []  # copy: Call keeps params
        msg.stream = StreamState(
            "streaming",
            time.monotonic(),
            p.get("recipient_user_id"),
            p.get("recipient_team_id"),
            text=text,
            chunks=chunks,
        )
        return {"channel": ch.id, "ts": msg.ts}

    def _chat_append_stream(self, p: dict) -> dict:
        ch, msg = self._streaming_message(p)
        self._check_lengths(markdown_text=p.get("markdown_text"))
        self._stream_add(msg, p, "chat.appendStream")
        assert msg.stream is not None
        msg.stream.appends += 1
        return {"channel": ch.id, "ts": msg.ts}

    def _chat_stop_stream(self, p: dict) -> dict:
        ch, msg = self._streaming_message(p)
        self._check_lengths(markdown_text=p.get("markdown_text"), blocks=p.get("blocks"))
        before = self._api_message(msg)
        if p.get("blocks") is not None:
            msg.blocks = p["blocks"]  # rendered below the streamed text
        if p.get("metadata") is not None:
            msg.metadata = p["metadata"]
        self._stream_add(msg, p, "chat.stopStream")
        assert msg.stream is not None
        msg.stream.state, msg.stream.stopped_at = "stopped", time.monotonic()
        self._echo(self._message_changed_event(msg, before))
        return {"channel": ch.id, "ts": msg.ts, "message": self._api_message(msg)}

    # ----- assistant threads

    def _assistant(self, channel_id: str, thread_ts: str) -> dict:
        return self.assistant_threads.setdefault(
            (channel_id, thread_ts),
            {
                "status": "",
                "status_history": [],
                "loading_messages": None,
                "prompts": None,
                "prompts_title": None,
                "title": None,
            },
        )

    def _clear_assistant_status(self, channel_id: str, thread_ts: str, method: str) -> None:
        th = self.assistant_threads.get((channel_id, thread_ts))
        if th and th["status"]:
            th["status"] = ""
            th["status_history"].append({"status": "", "at": time.monotonic(), "cleared_by": method})

    def _assistant_set_status(self, p: dict) -> dict:
        ch = self._channel(p.get("channel_id"))
        if not p.get("thread_ts") or "status" not in p:
            raise _ApiError("invalid_arguments")
        th = self._assistant(ch.id, p["thread_ts"])
        th["status"], th["loading_messages"] = p["status"], p.get("loading_messages")
        th["status_history"].append({"status": p["status"], "at": time.monotonic()})
        return {}

    def _assistant_set_prompts(self, p: dict) -> dict:
        ch = self._channel(p.get("channel_id"))
        if not isinstance(p.get("prompts"), list):
            raise _ApiError("invalid_arguments")
        th = self._assistant(ch.id, p.get("thread_ts") or "")
        th["prompts"], th["prompts_title"] = p["prompts"], p.get("title")
        return {}

    def _assistant_set_title(self, p: dict) -> dict:
        ch = self._channel(p.get("channel_id"))
        if not p.get("thread_ts") or not p.get("title"):
            raise _ApiError("invalid_arguments")
        self._assistant(ch.id, p["thread_ts"])["title"] = p["title"]
        return {}

    # ----- conversations & users

    @staticmethod
    def _page(items: list, p: dict) -> dict:
        limit = int(p.get("limit") or 100)
        cursor = p.get("cursor")
        start = int(base64.b64decode(cursor).decode().split(":")[1]) if cursor else 0
        page = items[start : start + limit]
        more = start + limit < len(items)
        nxt = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        return {"messages": page, "has_more": more, "response_metadata": {"next_cursor": nxt}}

    @staticmethod
    def _in_range(ts: str, p: dict) -> bool:
        inclusive = _flag(p.get("inclusive"))
        oldest, latest = p.get("oldest"), p.get("latest")
        if oldest and (float(ts) < float(oldest) or (not inclusive and float(ts) == float(oldest))):
            return False
        if latest and (float(ts) > float(latest) or (not inclusive and float(ts) == float(latest))):
            return False
        return True

    def _conversations_replies(self, p: dict) -> dict:
        ch = self._channel(p.get("channel"))
        ts = p.get("ts")
        msgs = [m for m in self._thread_messages(ch, ts) if not m.deleted]
        if not msgs and (ch.id, ts) not in self.assistant_threads:
            raise _ApiError("thread_not_found")
        meta = _flag(p.get("include_all_metadata"))
        # The parent always comes first, whatever oldest/latest say.
        out = [self._api_message(m, with_metadata=meta) for m in msgs if m.ts == ts]
        out += [self._api_message(m, with_metadata=meta) for m in msgs if m.ts != ts and self._in_range(m.ts, p)]
        return self._page(out, p)

    def _conversations_history(self, p: dict) -> dict:
        ch = self._channel(p.get("channel"))
        top = [m for m in ch.messages.values() if not m.deleted and (not m.is_reply or m.broadcast)]
        top = [m for m in sorted(top, key=lambda m: m.ts, reverse=True) if self._in_range(m.ts, p)]
        meta = _flag(p.get("include_all_metadata"))
        return self._page([self._api_message(m, with_metadata=meta) for m in top], p)

    def _channel_info(self, ch: Channel) -> dict:
        d = {
            "id": ch.id,
            "created": 1700000000,
            "is_archived": False,
            "is_channel": ch.type in ("channel", "private"),
            "is_group": False,
            "is_im": ch.type == "im",
            "is_mpim": ch.type == "mpim",
            "is_private": ch.type != "channel",
            "context_team_id": self.team_id,
        }
        if ch.type == "im":
            d.update(user=ch.user, is_open=True, is_user_deleted=False)
        else:
            d.update(name=ch.name, is_member=True, is_general=ch.id == self.default_channel_id)
        return d

    def _conversations_info(self, p: dict) -> dict:
        return {"channel": self._channel_info(self._channel(p.get("channel")))}

    def _conversations_open(self, p: dict) -> dict:
        if p.get("channel"):
            return {"channel": self._channel_info(self._channel(p["channel"]))}
        users = [u for u in str(p.get("users") or "").split(",") if u]
        if not users:
            raise _ApiError("users_list_not_supplied")
        for u in users:
            self._user(u)
        if len(users) == 1:
            ch = next((c for c in self.channels.values() if c.type == "im" and c.user == users[0]), None)
            ch = ch or self.add_channel(self._new_id("D"), "im", user=users[0])
        else:
            ch = self.add_channel(self._new_id("G"), "mpim", name="mpdm-" + "--".join(users))
        full = _flag(p.get("return_im"))
        return {"channel": self._channel_info(ch) if full else {"id": ch.id}}

    def _user(self, user_id: Any) -> dict:
        user = self.users.get(user_id)
        if user is None and self.auto_create and isinstance(user_id, str) and user_id[:1] in "UW":
            user = self.add_user(user_id, user_id.lower())
        if user is None:
            raise _ApiError("user_not_found")
        return user

    def _users_info(self, p: dict) -> dict:
        return {"user": self._user(p.get("user"))}

    # ----- views

    def _store_view(self, view: Any, *, view_id: str | None = None, **extra: Any) -> dict:
        if not isinstance(view, dict) or "type" not in view:
            raise _ApiError("invalid_arguments")
        view_id = view_id or self._new_id("V")
        stored = {
            "id": view_id,
            "team_id": self.team_id,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
            "app_installed_team_id": self.team_id,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "root_view_id": view_id,
            "previous_view_id": None,
            "clear_on_close": False,
            "notify_on_close": False,
            **view,
            **extra,
        }
        self.views[view_id] = stored
        return stored

    def _views_publish(self, p: dict) -> dict:
        user = self._user(p.get("user_id"))
        old = self.views.get(self.home_views.get(user["id"], ""))
        if old and p.get("hash") and p["hash"] != old["hash"]:
            raise _ApiError("hash_conflict")
        view = self._store_view(p.get("view"), view_id=old["id"] if old else None)
        self.home_views[user["id"]] = view["id"]
        return {"view": view}

    def _views_open(self, p: dict) -> dict:
        trigger = p.get("trigger_id") or p.get("interactivity_pointer")
        if trigger not in self._triggers:
            raise _ApiError("invalid_trigger_id")
        issued = self._triggers[trigger]
        if issued is None:
            raise _ApiError("trigger_exchanged")
        if time.monotonic() - issued > self.trigger_ttl:
            raise _ApiError("expired_trigger_id")
        self._triggers[trigger] = None
        return {"view": self._store_view(p.get("view"))}

    def _views_update(self, p: dict) -> dict:
        view_id = p.get("view_id")
        if not view_id and p.get("external_id"):
            view_id = next((v["id"] for v in self.views.values() if v.get("external_id") == p["external_id"]), None)
        old = self.views.get(view_id or "")
        if old is None:
            raise _ApiError("not_found")
        if p.get("hash") and p["hash"] != old["hash"]:
            raise _ApiError("hash_conflict")
        return {"view": self._store_view(p.get("view"), view_id=old["id"], previous_view_id=old["id"])}

    # ----- files (files_upload_v2 = getUploadURLExternal + POST bytes + completeUploadExternal)

    def _files_get_upload_url(self, p: dict) -> dict:
        if not p.get("filename") or not str(p.get("length", "")).isdigit():
            raise _ApiError("invalid_arguments")
        file_id = self._new_id("F")
        self.files[file_id] = {"id": file_id, "name": p["filename"], "length": int(p["length"]), "content": None}
        return {"upload_url": f"{self.base_url}/upload/v1/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, p: dict) -> dict:
        entries = p.get("files")
        if not isinstance(entries, list) or not entries:
            raise _ApiError("invalid_arguments")
        done = []
        for entry in entries:
            f = self.files.get(entry.get("id"))
            if f is None:
                raise _ApiError("file_not_found")
            if f["content"] is None:
                raise _ApiError("file_upload_not_completed")
            f["title"] = entry.get("title") or f["name"]
            done.append(
                {
                    "id": f["id"],
                    "name": f["name"],
                    "title": f["title"],
                    "size": len(f["content"]),
                    "mimetype": "text/plain",
                    "url_private": f"{self.base_url}/files/{f['id']}",
                    "permalink": f"https://{self.team_domain}.slack.com/files/{self.bot_user_id}/{f['id']}",
                }
            )
        channel_id = p.get("channel_id") or (str(p.get("channels") or "").split(",")[0] or None)
        if channel_id:
            ch = self._channel(channel_id)
            msg = self._bot_post(
                ch,
                "files.completeUploadExternal",
                thread_ts=p.get("thread_ts"),
                text=p.get("initial_comment") or "",
                files=done,
            )
            for f in done:
                self.files[f["id"]].update(channel=ch.id, ts=msg.ts, thread_ts=msg.thread_ts)
        return {"files": done}

    # ----- reactions

    def _reactions_add(self, p: dict) -> dict:
        msg = self._get_message(self._channel(p.get("channel")), p.get("timestamp"))
        users = msg.reactions.setdefault(str(p.get("name")), [])
        if self.bot_user_id in users:
            raise _ApiError("already_reacted")
        users.append(self.bot_user_id)
        return {}

    def _reactions_remove(self, p: dict) -> dict:
        msg = self._get_message(self._channel(p.get("channel")), p.get("timestamp"))
        users = msg.reactions.get(str(p.get("name")), [])
        if self.bot_user_id not in users:
            raise _ApiError("no_reaction")
        users.remove(self.bot_user_id)
        if not users:
            del msg.reactions[str(p.get("name"))]
        return {}

    # ---------------------------------------------------------------- Socket Mode

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        self._tickets.discard(ticket)  # tickets are single use; reconnects need a new one
        # timeout bounds how long close() waits for the client's close frame.
        ws = web.WebSocketResponse(heartbeat=self.server_ping_interval, timeout=2.0)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.socket_connect_count += 1
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {"host": "applink-fake-1", "build_number": 1, "approximate_connection_time": 18060},
                "connection_info": {"app_id": self.app_id},
            }
        )
        try:
            async for frame in ws:
                if frame.type == aiohttp.WSMsgType.TEXT:
                    self._on_socket_text(frame.data)
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
        return ws

    def _on_socket_text(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            self.socket_messages.append(data)
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        if envelope_id is None:
            self.socket_messages.append(message)
            return
        self.acks.setdefault(envelope_id, {"payload": message.get("payload"), "at": time.monotonic()})
        self._ack_events.setdefault(envelope_id, asyncio.Event()).set()

    @property
    def socket_connected(self) -> bool:
        return any(not ws.closed for ws in self._sockets)

    async def wait_socket_connected(self, min_total: int = 1, timeout: float = 5.0) -> None:
        """Wait until `min_total` connections were ever made and one is open (2 = one reconnect)."""
        await self._wait_until(
            lambda: self.socket_connect_count >= min_total and self.socket_connected,
            timeout,
            "a Socket Mode connection",
        )

    async def socket_send_envelope(
        self, envelope_type: str, payload: dict, *, timeout: float = 5.0, **fields: Any
    ) -> str:
        """Send one envelope to the newest open connection; returns its envelope_id."""
        await self.wait_socket_connected(timeout=timeout)
        ws = [w for w in self._sockets if not w.closed][-1]
        envelope = {
            "envelope_id": fields.pop("envelope_id", None) or str(uuid.uuid4()),
            "payload": payload,
            "type": envelope_type,
        }
        envelope.update(fields)
        self.envelopes[envelope["envelope_id"]] = {**envelope, "sent_at": time.monotonic()}
        self._ack_events.setdefault(envelope["envelope_id"], asyncio.Event())
        await ws.send_json(envelope)
        return envelope["envelope_id"]

    async def socket_send_event(
        self,
        payload: dict,
        *,
        retry_attempt: int = 0,
        retry_reason: str | None = None,
        redeliver_after: float | None = None,
        max_retries: int = 3,
        timeout: float = 5.0,
    ) -> str:
        """Send an events_api envelope. `payload` may be a bare event (wrapped for you).

        With `redeliver_after`, behave like Slack: if no ack arrives in time, send the same
        event again in a new envelope with retry_attempt+1 and retry_reason "timeout".
        """
        if payload.get("type") != "event_callback":
            payload = self.build_event_callback(payload)
        envelope_id = await self.socket_send_envelope(
            "events_api",
            payload,
            accepts_response_payload=False,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason if retry_reason is not None else ("timeout" if retry_attempt else ""),
            timeout=timeout,
        )
        if redeliver_after is not None and retry_attempt < max_retries:
            self._spawn(self._redeliver(envelope_id, payload, retry_attempt, redeliver_after, max_retries))
        return envelope_id

    async def _redeliver(self, envelope_id: str, payload: dict, attempt: int, after: float, max_retries: int) -> None:
        try:
            await self.wait_ack(envelope_id, after)
        except TimeoutError:
            await self._send_quietly(
                payload,
                retry_attempt=attempt + 1,
                retry_reason="timeout",
                redeliver_after=after,
                max_retries=max_retries,
            )

    async def socket_send_command(self, payload: dict, *, timeout: float = 5.0) -> str:
        return await self.socket_send_envelope(
            "slash_commands", payload, accepts_response_payload=True, timeout=timeout
        )

    async def socket_send_interactive(
        self, payload: dict, *, accepts_response_payload: bool | None = None, timeout: float = 5.0
    ) -> str:
        if accepts_response_payload is None:
            # Only these interactions let the app answer inside the ack.
            accepts_response_payload = payload.get("type") in ("view_submission", "block_suggestion")
        return await self.socket_send_envelope(
            "interactive", payload, accepts_response_payload=accepts_response_payload, timeout=timeout
        )

    async def socket_send_disconnect(self, reason: str = "refresh_requested") -> None:
        """What Slack sends before rotating a connection; slack_sdk then reconnects."""
        msg = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake-1"}}
        for ws in [w for w in self._sockets if not w.closed]:
            await ws.send_json(msg)

    async def socket_drop(self) -> None:
        """Close every open Socket Mode connection (clients must call apps.connections.open again)."""
        for ws in list(self._sockets):
            await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"fake drop")

    async def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> dict:
        event = self._ack_events.setdefault(envelope_id, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            raise TimeoutError(f"no ack for envelope {envelope_id} within {timeout}s") from None
        return self.acks[envelope_id]

    def _echo(self, event: dict) -> None:
        # Slack delivers the app's own messages back as events; bots must drop them.
        if self.echo_events and self.socket_connected:
            self._spawn(self._send_quietly(event))

    async def _send_quietly(self, event: dict, **kw: Any) -> None:
        # Background deliveries must not blow up if the client went away meanwhile.
        try:
            await self.socket_send_event(event, timeout=1.0, **kw)
        except (TimeoutError, ConnectionError, RuntimeError):
            pass

    # ---------------------------------------------------------------- event builders

    def _event_base(self, msg: StoredMessage) -> dict:
        ch = self.channels[msg.channel]
        return {"channel": ch.id, "event_ts": msg.ts, "channel_type": _EVENT_CHANNEL_TYPE[ch.type]}

    def _message_event(self, msg: StoredMessage) -> dict:
        event = {**self._api_message(msg), **self._event_base(msg)}
        if msg.files:
            event["subtype"] = "file_share"
        return event

    def _message_changed_event(self, msg: StoredMessage, before: dict) -> dict:
        ts = self._next_ts()
        return {
            "type": "message",
            "subtype": "message_changed",
            "hidden": True,
            "message": self._api_message(msg),
            "previous_message": before,
            **self._event_base(msg),
            "ts": ts,
            "event_ts": ts,
        }

    def _message_deleted_event(self, msg: StoredMessage, before: dict) -> dict:
        ts = self._next_ts()
        return {
            "type": "message",
            "subtype": "message_deleted",
            "hidden": True,
            "deleted_ts": msg.ts,
            "previous_message": before,
            **self._event_base(msg),
            "ts": ts,
            "event_ts": ts,
        }

    def build_event_callback(self, event: dict, *, event_id: str | None = None, event_time: int | None = None) -> dict:
        """The outer Events API wrapper around an inner event."""
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._ids):09d}",
            "event_time": event_time or int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + base64.b64encode(f"{self.team_id}:{event.get('channel')}".encode()).decode(),
        }

    def build_message(
        self,
        text: str,
        *,
        user: str | None = None,
        channel: str | None = None,
        thread_ts: str | None = None,
        bot_id: str | None = None,
        files: list[dict] | None = None,
    ) -> dict:
        """A `message` event (stored in the fake). Default channel: the default DM (message.im).

        `bot_id` makes it a bot's message (use `fake.bot_id` for the app's own echo); `files` (from
        add_user_file) makes it a file_share.
        """
        ch = self._channel(channel or self.default_dm_id)
        author = user or (self.bot_user_id if bot_id == self.bot_id else self.default_user_id)
        msg = self.add_user_message(text, user=author, channel=ch.id, thread_ts=thread_ts, files=files)
        msg.bot_id = bot_id
        return self._message_event(msg)

    def build_app_mention(
        self,
        text: str,
        *,
        user: str | None = None,
        channel: str | None = None,
        thread_ts: str | None = None,
        files: list[dict] | None = None,
    ) -> dict:
        """An `app_mention` event; `<@BOT>` is prepended to `text` if missing."""
        mention = f"<@{self.bot_user_id}>"
        if mention not in text:
            text = f"{mention} {text}"
        channel = channel or self.default_channel_id
        msg = self.add_user_message(text, user=user, channel=channel, thread_ts=thread_ts, files=files)
        event = {**self._api_message(msg), **self._event_base(msg), "type": "app_mention"}
        event.pop("channel_type")  # app_mention events do not carry it
        return event

    def build_message_changed(self, channel: str, ts: str, new_text: str) -> dict:
        """A human edited their message."""
        msg = self.message(channel, ts)
        before = self._api_message(msg)
        msg.text, msg.edited_ts = new_text, self._next_ts()
        msg.snapshot("edited")
        return self._message_changed_event(msg, before)

    def build_message_deleted(self, channel: str, ts: str) -> dict:
        msg = self.message(channel, ts)
        before = self._api_message(msg)
        msg.deleted = True
        msg.snapshot("deleted")
        return self._message_deleted_event(msg, before)

    def _assistant_event(
        self, kind: str, user: str | None, channel: str | None, thread_ts: str | None, context_channel_id: str | None
    ) -> dict:
        user = user or self.default_user_id
        ch = self._channel(channel or self._conversations_open({"users": user})["channel"]["id"])
        thread_ts = thread_ts or self._next_ts()
        self._assistant(ch.id, thread_ts)  # so conversations.replies knows this thread
        context = (
            {"channel_id": context_channel_id, "team_id": self.team_id, "enterprise_id": None}
            if context_channel_id
            else {}
        )
        return {
            "type": kind,
            "assistant_thread": {"user_id": user, "context": context, "channel_id": ch.id, "thread_ts": thread_ts},
            "event_ts": self._next_ts(),
        }

    def build_assistant_thread_started(
        self,
        *,
        user: str | None = None,
        channel: str | None = None,
        thread_ts: str | None = None,
        context_channel_id: str | None = None,
    ) -> dict:
        return self._assistant_event("assistant_thread_started", user, channel, thread_ts, context_channel_id)

    def build_assistant_thread_context_changed(
        self,
        *,
        thread_ts: str,
        user: str | None = None,
        channel: str | None = None,
        context_channel_id: str | None = None,
    ) -> dict:
        return self._assistant_event("assistant_thread_context_changed", user, channel, thread_ts, context_channel_id)

    def build_app_home_opened(self, *, user: str | None = None, tab: str = "home") -> dict:
        user = user or self.default_user_id
        dm = self._conversations_open({"users": user})["channel"]["id"]
        event = {"type": "app_home_opened", "user": user, "channel": dm, "tab": tab, "event_ts": self._next_ts()}
        if user in self.home_views:
            event["view"] = self.views[self.home_views[user]]
        return event

    def _response_url(self, kind: str) -> str:
        return f"{self.base_url}/hooks/{kind}/{next(self._ids)}-{uuid.uuid4().hex[:12]}"

    def build_slash_command(
        self, command: str = "/ask", text: str = "", *, user: str | None = None, channel: str | None = None
    ) -> dict[str, str]:
        """Slash command fields (form-encoded over HTTP, a dict in Socket Mode)."""
        user = user or self.default_user_id
        ch = self._channel(channel or self.default_channel_id)
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": ch.id,
            "channel_name": "directmessage" if ch.type == "im" else ch.name,
            "user_id": user,
            "user_name": self._user(user)["name"],
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": self._response_url("commands"),
            "trigger_id": self.new_trigger_id(),
        }

    def _interactive_base(self, kind: str, user: str | None) -> dict:
        return {
            "type": kind,
            "token": self.verification_token,
            "api_app_id": self.app_id,
            "team": {"id": self.team_id, "domain": self.team_domain},
            "user": self._user_ref(user or self.default_user_id),
            "is_enterprise_install": False,
            "enterprise": None,
            "trigger_id": self.new_trigger_id(),
            "response_url": self._response_url("actions"),
        }

    def build_message_action(
        self, *, channel: str, message_ts: str, callback_id: str = "ask_bot", user: str | None = None
    ) -> dict:
        """A message shortcut on a stored message."""
        ch = self._channel(channel)
        return {
            **self._interactive_base("message_action", user),
            "action_ts": self._next_ts(),
            "callback_id": callback_id,
            "channel": {"id": ch.id, "name": ch.name},
            "message_ts": message_ts,
            "message": self._api_message(self.message(ch.id, message_ts)),
        }

    def build_block_actions(
        self,
        *,
        action_id: str,
        value: str | None = None,
        block_id: str = "actions",
        action_type: str = "button",
        user: str | None = None,
        channel: str | None = None,
        message_ts: str | None = None,
        view_id: str | None = None,
    ) -> dict:
        """A click on a message button (give channel + message_ts) or in a view (view_id)."""
        action = {
            "action_id": action_id,
            "block_id": block_id,
            "type": action_type,
            "action_ts": self._next_ts(),
            "text": {"type": "plain_text", "text": action_id, "emoji": True},
        }
        if value is not None:
            action["value"] = value
        payload = {**self._interactive_base("block_actions", user), "actions": [action], "state": {"values": {}}}
        if message_ts is not None:
            ch = self._channel(channel or self.default_channel_id)
            msg = self.message(ch.id, message_ts)
            payload["container"] = {"type": "message", "message_ts": msg.ts, "channel_id": ch.id, "is_ephemeral": False}
            if msg.thread_ts:
                payload["container"]["thread_ts"] = msg.thread_ts
            payload.update(channel={"id": ch.id, "name": ch.name}, message=self._api_message(msg))
        elif view_id is not None:
            payload.update(container={"type": "view", "view_id": view_id}, view=self.views[view_id])
        return payload

    # ---------------------------------------------------------------- conveniences

    async def user_posts(
        self,
        text: str,
        *,
        user: str | None = None,
        channel: str | None = None,
        thread_ts: str | None = None,
        mention: bool | None = None,
        also_message_event: bool = False,
        files: list[dict] | None = None,
    ) -> UserPost:
        """A human posts: store the message and deliver its event(s) over Socket Mode.

        mention defaults to True outside DMs (app_mention), False in DMs (message.im).
        also_message_event adds the `message` event Slack sends too when the app
        subscribes to message.channels (adapters must not answer twice). `files` come from add_user_file.
        """
        ch = self._channel(channel or self.default_dm_id)
        if mention is None:
            mention = ch.type != "im"
        if mention:
            first = self.build_app_mention(text, user=user, channel=ch.id, thread_ts=thread_ts, files=files)
        else:
            first = self.build_message(text, user=user, channel=ch.id, thread_ts=thread_ts, files=files)
        events = [first]
        if mention and also_message_event:
            msg = self.message(ch.id, first["ts"])
            events.append(self._message_event(msg))
        ids = [await self.socket_send_event(e) for e in events]
        return UserPost(first["ts"], ids, events)

    async def http_send(self, url: str, payload: dict, *, kind: str = "event", **kw: Any) -> SignedResponse:
        """Deliver a payload to an app over HTTP, signed with this workspace's secret.

        kind: "event" (JSON; a bare event is wrapped), "command" (form), "interactive".
        """
        if kind == "event":
            if payload.get("type") not in ("event_callback", "url_verification"):
                payload = self.build_event_callback(payload)
            return await post_signed(url, self.signing_secret, json_body=payload, **kw)
        if kind == "command":
            return await post_signed(url, self.signing_secret, form=payload, **kw)
        if kind == "interactive":
            return await post_signed(url, self.signing_secret, interactive=payload, **kw)
        raise ValueError(kind)

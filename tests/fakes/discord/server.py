"""FakeDiscord: the aiohttp server, its lifecycle, the HTTP entry point and what tests ask of it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.fakes.discord.gateway import GatewayMixin, _Conn, _Session
from tests.fakes.discord.http import _ROUTES, _Ctx, _json, _RouteMatcher, _sid, _Snowflakes
from tests.fakes.discord.interactions import InteractionsMixin
from tests.fakes.discord.protocol import (
    _NO_AUTH_ROUTES,
    API_PREFIX,
    CDN_ROUTE,
    INTERACTION_TOKEN_SECONDS,
    INVALID_JSON,
    NOT_FOUND,
    UNAUTHORIZED,
    ChannelType,
    DiscordHTTPError,
    Intents,
    Perm,
    _form_error,
)
from tests.fakes.discord.ratelimits import (
    DEFAULT_RATE_LIMITS,
    GLOBAL_WINDOWS,
    RateLimitRule,
    RateLimitsMixin,
    _Injection,
    _Window,
)
from tests.fakes.discord.records import (
    FakeInteraction,
    GatewayConnection,
    GatewayFrame,
    RecordedRequest,
    SpecViolation,
    StoredMessage,
    UploadedFile,
)
from tests.fakes.discord.rest import RestMixin
from tests.fakes.discord.spec import OpenAPISpec
from tests.fakes.discord.world import WorldMixin

# --------------------------------------------------------------------------- the fake


class FakeDiscord(WorldMixin, GatewayMixin, RestMixin, InteractionsMixin, RateLimitsMixin):
    """Fake Discord REST + gateway server. Use as ``async with FakeDiscord(...) as fake``."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        bot_name: str = "TestBot",
        privileged_intents: int = Intents.PRIVILEGED,
        strict: bool = False,
        check_spec: bool = True,
        spec_path: str | os.PathLike[str] | None = None,
        seed: bool = True,
        heartbeat_interval_ms: int = 41250,
        rate_limits: dict[tuple[str, str], tuple[int, float]] | None = None,
        default_rate_limit: tuple[int, float] = (50, 1.0),
        global_rate_limit: tuple[int, float] | None = (50, 1.0),
        global_window: str = "sliding",
        max_content_length: int = 2000,
        interaction_response_timeout: float = 3.0,
        interaction_token_seconds: float = INTERACTION_TOKEN_SECONDS,
        bot_permissions: int = Perm.DEFAULT_BOT,
        host: str = "127.0.0.1",
        shard_count: int = 1,
    ):
        """
        token: the bot token the client must present (REST "Bot <token>", IDENTIFY token).
        privileged_intents: privileged intents the application may use; others -> close 4014.
        strict: spec violations answer 400 like Discord, instead of only being recorded.
        check_spec: validate JSON bodies against the OpenAPI spec at spec_path.
        seed: create a default guild, #general, an owner and a user ("alice").
        rate_limits: {(METHOD, route template): (limit, per_seconds)} merged over DEFAULT_RATE_LIMITS.
        default_rate_limit: bucket for every other route (per route and major parameter).
        global_rate_limit: (requests, per seconds) for all of the bot's requests together, as Discord's global
            limit (50/s; interaction callbacks and webhooks are exempt): beyond it a 429 with `"global": true`,
            `X-RateLimit-Global: true` and `X-RateLimit-Scope: global`. None turns it off.
        global_window: how the global limit counts (ratelimits.GLOBAL_WINDOWS): "sliding", no `per` seconds
            hold more than `limit` requests (the default, and stricter than any fixed window), or "fixed",
            windows of `per` seconds aligned on the clock. A request counts when the fake receives it.
        max_content_length: message content limit for bots (Discord: 2000) -> 400 50035 beyond.
        interaction_response_timeout: initial interaction callbacks later than this -> 404 10062.
        interaction_token_seconds: how long an interaction's token takes follow-ups and edits (Discord: 15 minutes;
            a test may shorten it) -> 401 50027 after.
        shard_count: what GET /gateway/bot recommends. A session that IDENTIFYs with shard [id, count] gets
            only the guilds (READY, GUILD_CREATE) and guild events of shard id = (guild_id >> 22) % count,
            and DM events only when id == 0; one without `shard` gets everything, as on Discord.
        """
        self.token = token
        self.privileged_intents = privileged_intents
        self.strict = strict
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.max_content_length = max_content_length
        self.interaction_response_timeout = interaction_response_timeout
        self.interaction_token_seconds = interaction_token_seconds
        self.bot_permissions = bot_permissions
        self.host = host
        self.shard_count = shard_count
        self.spec = OpenAPISpec.load(spec_path) if check_spec else None
        self.rate_limits: dict[tuple[str, str], RateLimitRule] = {}
        for (method, route), (limit, per) in {**DEFAULT_RATE_LIMITS, **(rate_limits or {})}.items():
            self.set_rate_limit(method, route, limit, per)
        self.default_rate_limit = default_rate_limit
        self.global_rate_limit = global_rate_limit
        if global_window not in GLOBAL_WINDOWS:
            raise ValueError(f"global_window must be one of {GLOBAL_WINDOWS}")
        self.global_window = global_window
        self.clock: Callable[[], float] = time.monotonic  # what the global limit counts by; tests may replace it

        templates = [t for _, t in _ROUTES] + (self.spec.templates if self.spec else [])
        self._matcher = _RouteMatcher(templates)
        self._ids = _Snowflakes()
        self.port = 0
        self._runner: web.AppRunner | None = None

        # Recording
        self.requests: list[RecordedRequest] = []
        self.unhandled_requests: list[RecordedRequest] = []
        self.handler_errors: list[tuple[RecordedRequest, str]] = []
        self.spec_violations: list[SpecViolation] = []
        self.rate_limited_requests: list[RecordedRequest] = []
        self.gateway_connections: list[GatewayConnection] = []
        self.gateway_received: list[GatewayFrame] = []
        self.presence_updates: list[dict] = []
        self.command_put_calls: list[tuple[str | None, float, Any]] = []
        self.identify_count = 0
        self.resume_count = 0
        self.replayed_again: list[dict] = []  # dispatches re-sent on RESUME although already delivered

        # Runtime state
        self._windows: dict[tuple[str, str], _Window] = {}
        self._global_recent: deque[float] = deque()  # sliding: when the requests of the last `per` seconds came
        self._global_fixed_start, self._global_fixed_count = -1.0, 0  # fixed: the current window and its count
        self.global_counted: list[float] = []  # when each request the global limit let through came (clock())
        self._injections: list[_Injection] = []
        self._conns: set[_Conn] = set()
        self.sessions: dict[str, _Session] = {}
        self._waiters: list[asyncio.Future[None]] = []

        # World
        self.dms_closed: set[str] = set()  # users who accept no direct message from the bot (close_dms)
        self.users: dict[str, dict] = {}
        self.guilds: dict[str, dict] = {}
        self.channels: dict[str, dict] = {}
        self.members: dict[str, dict[str, dict]] = {}
        self._messages: dict[str, dict[str, StoredMessage]] = {}
        self._cdn: dict[str, tuple[bytes, str]] = {}
        self._commands: dict[str | None, list[dict]] = {}
        self.interactions: dict[str, FakeInteraction] = {}
        self._interactions_by_token: dict[str, FakeInteraction] = {}

        self.bot_user = self.add_user(bot_name, bot=True)
        self.application_id = self.bot_user["id"]  # modern applications share the bot user's id
        self.verify_key = secrets.token_hex(32)
        self.default_guild: dict | None = None
        self.default_channel: dict | None = None
        self.default_user: dict | None = None
        self.guild_owner: dict | None = None
        if seed:
            self.guild_owner = self.add_user("owner")
            self.default_user = self.add_user("alice")
            self.default_guild = self.add_guild("Test Guild", owner=self.guild_owner)
            self.add_member(self.default_guild, self.default_user)
            self.default_channel = self.add_text_channel(self.default_guild, "general")

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        # A distinct path so tests can tell a RESUME went to resume_gateway_url, as it must.
        return f"ws://{self.host}:{self.port}/gateway/resume"

    async def start(self) -> None:
        app = web.Application(client_max_size=100 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway_handler)
        app.router.add_get("/gateway/resume", self._gateway_handler)
        app.router.add_route("*", "/{tail:.*}", self._http_handler)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for conn in list(self._conns):
            await conn.close(1001, "Server shutting down")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ test-side queries

    def requests_for(self, method: str | None = None, route: str | None = None) -> list[RecordedRequest]:
        """Recorded requests by method and route template (or concrete path)."""
        return [r for r in self.requests if self._matches(r, method, route)]

    def message(self, channel_id: Any, message_id: Any) -> StoredMessage:
        return self._messages[_sid(channel_id)][_sid(message_id)]

    def channel_messages(self, channel_id: Any, *, include_deleted: bool = False) -> list[StoredMessage]:
        """Messages of a channel, oldest first."""
        stored = self._messages.get(_sid(channel_id), {}).values()
        return [m for m in stored if include_deleted or not m.deleted]

    def threads(self, parent_id: Any = None) -> list[dict]:
        return [
            c
            for c in self.channels.values()
            if c["type"] in ChannelType.THREADS and (parent_id is None or c["parent_id"] == _sid(parent_id))
        ]

    def commands(self, guild_id: Any = None) -> list[dict]:
        return list(self._commands.get(_sid(guild_id) if guild_id is not None else None, []))

    @property
    def command_put_count(self) -> int:
        return len(self.command_put_calls)

    @property
    def rate_limit_hits(self) -> int:
        """Number of 429 answers given (bucket exhaustion and injected)."""
        return len(self.rate_limited_requests)

    def original_response(self, interaction: FakeInteraction | str) -> StoredMessage | None:
        inter = interaction if isinstance(interaction, FakeInteraction) else self.interactions[str(interaction)]
        if inter.original_message_id is None:
            return None
        return self.message(inter.channel_id, inter.original_message_id)

    def assert_clean(self) -> None:
        """Fail if the client used a route the fake does not know, or sent a body the spec rejects."""
        problems = [f"unhandled {r.method} {r.path}" for r in self.unhandled_requests]
        problems += [f"fake crashed on {r.method} {r.path}: {err}" for r, err in self.handler_errors]
        problems += [
            f"spec violation {v.method} {v.route} at '{v.location}': {v.message}" for v in self.spec_violations
        ]
        assert not problems, "\n".join(problems)

    async def wait_until(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        """Wait until predicate() holds; re-checked after every request and gateway event."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("condition not met in time")
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append(fut)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(fut, min(remaining, 0.25))

    async def wait_for_request(
        self,
        method: str | None = None,
        route: str | None = None,
        *,
        count: int = 1,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        within: float = 5.0,
    ) -> RecordedRequest:
        """Wait until `count` answered requests match; return the last of them."""

        def found() -> list[RecordedRequest]:
            return [r for r in self.requests_for(method, route) if r.status and (predicate is None or predicate(r))]

        await self.wait_until(lambda: len(found()) >= count, within)
        return found()[count - 1]

    def _notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    @staticmethod
    def _matches(r: RecordedRequest, method: str | None, route: str | None) -> bool:
        return (method is None or r.method == method.upper()) and (route is None or route in (r.route, r.path))

    # ------------------------------------------------------------------ HTTP entry point

    async def _http_handler(self, request: web.Request) -> web.StreamResponse:
        raw_path = request.rel_url.raw_path
        api = raw_path.startswith(API_PREFIX + "/")
        path = raw_path[len(API_PREFIX) :] if api else raw_path
        route, params = self._matcher.match(path) if api else (None, {})
        cdn = not api and raw_path.startswith("/attachments/")
        if cdn:
            route = CDN_ROUTE
        rec = RecordedRequest(
            request.method, path, route, params, dict(request.query), None, [], dict(request.headers), time.monotonic()
        )
        self.requests.append(rec)
        try:
            response = self._cdn_get(raw_path) if cdn else await self._process(request, rec)
        except DiscordHTTPError as exc:
            response = _json(exc.body(), status=exc.status)
        # discord.py treats a 429 without Via as a Cloudflare ban; real answers carry it.
        response.headers["Via"] = "1.1 google"
        rec.status = response.status
        if response.status == 429:
            self.rate_limited_requests.append(rec)
        if isinstance(response, web.Response) and response.content_type == "application/json" and response.body:
            rec.response = json.loads(response.body)  # type: ignore[arg-type]
        self._notify()
        return response

    async def _process(self, request: web.Request, rec: RecordedRequest) -> web.StreamResponse:
        rec.json, rec.files = await self._read_body(request)
        handler_name = _ROUTES.get((rec.method, rec.route)) if rec.route else None
        if handler_name is None:
            self.unhandled_requests.append(rec)
            raise NOT_FOUND()
        if rec.route not in _NO_AUTH_ROUTES and request.headers.get("Authorization") != f"Bot {self.token}":
            raise UNAUTHORIZED()
        if rec.route not in _NO_AUTH_ROUTES and (retry_after := self._global_limit()) is not None:
            return self._too_many(retry_after, {}, is_global=True, scope="global")
        injected = self._take_injection(rec)
        rl_headers, retry_after = self._rate_limit(
            rec.method,
            rec.route,
            rec.params,  # type: ignore[arg-type]
            consume=injected is None,
        )
        if injected is not None:
            if injected.status == 429:
                return self._too_many(
                    injected.retry_after, rl_headers, is_global=injected.is_global, scope=injected.scope
                )
            body = injected.body if injected.body is not None else {"message": "500: Internal Server Error", "code": 0}
            return _json(body, status=injected.status)
        if retry_after is not None:
            return self._too_many(retry_after, rl_headers)
        try:
            if rec.json is not None and self.spec is not None:
                self._check_spec(rec)
            ctx = _Ctx(rec.method, rec.path, rec.route, rec.params, rec.query, rec.json, rec.files)  # type: ignore[arg-type]
            response = await getattr(self, handler_name)(ctx)
        except DiscordHTTPError as exc:
            response = _json(exc.body(), status=exc.status)
        except Exception as exc:  # a bug in the fake (or a body it cannot digest): make it visible
            self.handler_errors.append((rec, repr(exc)))
            response = _json({"message": "500: Internal Server Error", "code": 0}, status=500)
        response.headers.update(rl_headers)
        return response

    async def _read_body(self, request: web.Request) -> tuple[Any, list[UploadedFile]]:
        if not request.body_exists:
            return None, []
        if request.content_type.startswith("multipart/"):
            body: Any = None
            files: list[UploadedFile] = []
            reader = await request.multipart()
            async for part in reader:
                data = await part.read()  # type: ignore[union-attr]
                if part.name == "payload_json":
                    try:
                        body = json.loads(data)
                    except ValueError:
                        raise INVALID_JSON() from None
                elif part.filename is not None:
                    ctype = part.headers.get("Content-Type", "application/octet-stream")
                    files.append(UploadedFile(part.name or "", part.filename, ctype, bytes(data)))
            return body, files
        raw = await request.read()
        if not raw:
            return None, []
        try:
            return json.loads(raw), []
        except ValueError:
            raise INVALID_JSON() from None

    def _check_spec(self, rec: RecordedRequest) -> None:
        assert self.spec is not None and rec.route is not None
        found = self.spec.check(rec.route, rec.method, rec.json)
        for location, message in found:
            self.spec_violations.append(SpecViolation(rec.method, rec.path, rec.route, message, location))
        if found and self.strict:
            raise _form_error(found[0][0], "SPEC_VIOLATION", found[0][1])

    def _cdn_get(self, raw_path: str) -> web.Response:
        if raw_path not in self._cdn:
            return web.Response(status=404, text="Not Found")
        data, ctype = self._cdn[raw_path]
        return web.Response(body=data, content_type=ctype)

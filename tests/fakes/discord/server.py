"""A loopback fake of Discord's REST API and gateway, for tests.

It is an aiohttp server on 127.0.0.1 (random port) that a *real* ``discord.Client``
(discord.py 2.7) can log in to, connect to and talk to::

    async with FakeDiscord() as fake:
        client = discord.Client(intents=intents, guild_ready_timeout=0.05)
        async with running_client(fake, client):          # patches discord.py, waits for on_ready
            await fake.message_create(fake.default_channel["id"], fake.default_user, "hi bot")
            await fake.wait_for_request("POST", "/channels/{channel_id}/messages")
            assert fake.channel_messages(fake.default_channel["id"])[-1].content == "hello!"
        fake.assert_clean()                                # no spec violations, no unknown routes

What it models, and why:

* Gateway: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats, RESUME with replay of the
  events missed while disconnected, op 8 member chunks, intent checks (4014 for privileged
  intents the "application" may not use) and intent-based filtering of events, including
  blanking message content without MESSAGE_CONTENT, as Discord does. Sharding: GET /gateway/bot's
  shard count, IDENTIFY's [shard_id, shard_count], each guild's events to its shard only, DMs to shard 0.
* REST: the routes a chat bot uses (messages, threads, DMs, interactions, webhooks,
  application commands, typing, reactions) with realistic payloads and Discord's error codes.
* Rate limits with Discord's headers, so discord.py's own bucket handling is exercised.
* Every JSON body is checked against Discord's official OpenAPI spec.
* Everything is recorded (requests, messages with edit history, interactions, gateway frames).

State builders (``add_guild``, ``add_text_channel``, ``add_thread``...) change state silently:
call them before the client connects, or dispatch the matching event yourself.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime
import hashlib
import json
import math
import mimetypes
import os
import re
import secrets
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import WSMsgType, web

API_PREFIX = "/api/v10"
CDN_ROUTE = "/attachments/{channel_id}/{attachment_id}/{filename}"  # where the fake serves uploaded files
DISCORD_EPOCH_MS = 1420070400000


class Intents:
    """Gateway intent bits (https://discord.com/developers/docs/events/gateway#gateway-intents)."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    GUILD_MESSAGE_TYPING = 1 << 11
    DIRECT_MESSAGES = 1 << 12
    DIRECT_MESSAGE_REACTIONS = 1 << 13
    DIRECT_MESSAGE_TYPING = 1 << 14
    MESSAGE_CONTENT = 1 << 15
    PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
    # Every bit Discord currently defines; anything else is closed with 4013.
    VALID = (1 << 17) - 1 | 1 << 20 | 1 << 21 | 1 << 24 | 1 << 25


class Perm:
    """Permission bits (https://discord.com/developers/docs/topics/permissions)."""

    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38
    ALL = ((1 << 53) - 1) & ~(1 << 47)
    DEFAULT_EVERYONE = (
        VIEW_CHANNEL
        | SEND_MESSAGES
        | READ_MESSAGE_HISTORY
        | ADD_REACTIONS
        | EMBED_LINKS
        | ATTACH_FILES
        | USE_APPLICATION_COMMANDS
        | CREATE_PUBLIC_THREADS
        | CREATE_PRIVATE_THREADS
        | SEND_MESSAGES_IN_THREADS
    )
    DEFAULT_BOT = DEFAULT_EVERYONE | MANAGE_THREADS | MANAGE_MESSAGES


class ChannelType:
    GUILD_TEXT = 0
    DM = 1
    GUILD_CATEGORY = 4
    ANNOUNCEMENT_THREAD = 10
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    THREADS = (10, 11, 12)


# Message flags used below.
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7

# (method, route) -> (limit, per seconds). Keyed per major parameter (channel id), like Discord.
DEFAULT_RATE_LIMITS: dict[tuple[str, str], tuple[int, float]] = {
    ("POST", "/channels/{channel_id}/messages"): (5, 5.0),
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"): (5, 5.0),
}

# Routes authenticated by the token in the URL (or not at all) rather than "Authorization: Bot".
_NO_AUTH_ROUTES = {
    "/gateway",
    "/interactions/{interaction_id}/{interaction_token}/callback",
    "/webhooks/{webhook_id}/{webhook_token}",
    "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
    "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
}
_MAJOR_PARAMS = ("channel_id", "guild_id", "webhook_id", "webhook_token", "interaction_id", "interaction_token")


# --------------------------------------------------------------------------- records


@dataclass
class UploadedFile:
    field: str  # multipart field name, e.g. "files[0]"
    filename: str
    content_type: str
    data: bytes


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the /api/v10 prefix
    route: str | None  # matched template, e.g. "/channels/{channel_id}/messages"; None if unknown
    params: dict[str, str]
    query: dict[str, str]
    json: Any  # JSON body, or the payload_json part of a multipart body
    files: list[UploadedFile]
    headers: dict[str, str]
    time: float  # time.monotonic() at arrival
    status: int = 0  # filled in once answered
    response: Any = None  # JSON answer, if any


@dataclass
class SpecViolation:
    method: str
    path: str
    route: str
    message: str
    location: str  # JSON path inside the body, e.g. "content" or "embeds/0/title"


@dataclass
class MessageRevision:
    at: float  # time.monotonic()
    timestamp: str  # ISO 8601, as Discord's edited_timestamp
    content: str
    data: dict


@dataclass
class StoredMessage:
    channel_id: str
    id: str
    data: dict  # the current full message payload
    history: list[MessageRevision] = field(default_factory=list)  # creation first, then each edit
    deleted: bool = False
    deleted_at: float | None = None

    @property
    def content(self) -> str:
        return self.data.get("content", "")

    @property
    def edits(self) -> int:
        return len(self.history) - 1

    @property
    def author_id(self) -> str:
        return self.data["author"]["id"]


@dataclass
class InteractionCallback:
    type: int
    data: dict
    files: list[UploadedFile]
    at: float


@dataclass
class FakeInteraction:
    id: str
    token: str
    type: int
    channel_id: str
    guild_id: str | None
    user_id: str
    payload: dict
    created_at: float
    callbacks: list[InteractionCallback] = field(default_factory=list)
    original_message_id: str | None = None
    followup_message_ids: list[str] = field(default_factory=list)
    source_message_id: str | None = None  # the message a component was clicked on

    @property
    def acknowledged(self) -> bool:
        return bool(self.callbacks)

    @property
    def response_type(self) -> int | None:
        return self.callbacks[0].type if self.callbacks else None

    @property
    def autocomplete_choices(self) -> list[dict] | None:
        for cb in self.callbacks:
            if cb.type == 8:
                return cb.data.get("choices", [])
        return None


@dataclass
class GatewayConnection:
    path: str
    query: dict[str, str]
    opened_at: float
    closed_at: float | None = None
    close_code: int | None = None
    session_id: str | None = None
    resumed: bool = False


@dataclass
class GatewayFrame:
    at: float
    op: int | None
    d: Any
    connection: GatewayConnection


@dataclass
class RateLimitRule:
    limit: int
    per: float
    bucket: str = ""


@dataclass
class _Window:
    reset_at: float
    remaining: int


@dataclass
class _Injection:
    method: str | None
    route: str | None
    count: int
    status: int
    retry_after: float = 0.0
    is_global: bool = False
    scope: str = "user"
    body: Any = None


class DiscordHTTPError(Exception):
    """Raised by handlers; becomes a Discord-style JSON error response."""

    def __init__(self, status: int, code: int, message: str, errors: dict | None = None):
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def body(self) -> dict:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


def _err(status: int, code: int, message: str) -> Callable[[], DiscordHTTPError]:
    return lambda: DiscordHTTPError(status, code, message)


UNKNOWN_CHANNEL = _err(404, 10003, "Unknown Channel")
UNKNOWN_GUILD = _err(404, 10004, "Unknown Guild")
UNKNOWN_MEMBER = _err(404, 10007, "Unknown Member")
UNKNOWN_MESSAGE = _err(404, 10008, "Unknown Message")
UNKNOWN_USER = _err(404, 10013, "Unknown User")
UNKNOWN_WEBHOOK = _err(404, 10015, "Unknown Webhook")
UNKNOWN_INTERACTION = _err(404, 10062, "Unknown interaction")
UNKNOWN_COMMAND = _err(404, 10063, "Unknown application command")
MISSING_ACCESS = _err(403, 50001, "Missing Access")
MISSING_PERMISSIONS = _err(403, 50013, "Missing Permissions")
CANNOT_DM = _err(403, 50007, "Cannot send messages to this user")
CANNOT_EDIT_OTHERS = _err(403, 50005, "Cannot edit a message authored by another user")
EMPTY_MESSAGE = _err(400, 50006, "Cannot send an empty message")
WRONG_CHANNEL_TYPE = _err(400, 50024, "Cannot execute action on this channel type")
ALREADY_ACKNOWLEDGED = _err(400, 40060, "Interaction has already been acknowledged.")
THREAD_EXISTS = _err(400, 160004, "A thread has already been created for this message")
INVALID_JSON = _err(400, 50109, "The request body contains invalid JSON.")
UNAUTHORIZED = _err(401, 0, "401: Unauthorized")
NOT_FOUND = _err(404, 0, "404: Not Found")


def _form_error(location: str, code: str, message: str) -> DiscordHTTPError:
    """Discord's 50035 'Invalid Form Body' with the nested errors object."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed([p for p in location.split("/") if p]):
        errors = {part: errors}
    return DiscordHTTPError(400, 50035, "Invalid Form Body", errors)


# --------------------------------------------------------------------------- helpers


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly "application/json": discord.py compares the header verbatim and would treat
    # aiohttp's "application/json; charset=utf-8" as plain text.
    return web.Response(body=json.dumps(body).encode(), status=status, headers=headers, content_type="application/json")


def _text(value: Any) -> str:
    """Message content as Discord stores it (a spec-violating non-string still gets stored, visibly)."""
    return "" if value is None else value if isinstance(value, str) else json.dumps(value)


def _iso(ts: float | None = None) -> str:
    return datetime.datetime.fromtimestamp(time.time() if ts is None else ts, datetime.UTC).isoformat()


def _sid(obj: Any) -> str:
    """Accept an id as int/str, a payload dict or a discord.py object; return Discord's string form."""
    if isinstance(obj, dict):
        obj = obj["id"]
    elif hasattr(obj, "id"):
        obj = obj.id
    return str(int(obj))


class _Snowflakes:
    """Real-looking snowflakes: timestamp since the Discord epoch, strictly increasing."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> str:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22 | 1 << 17
        self._last = max(candidate, self._last + 1)
        return str(self._last)


class _RouteMatcher:
    """Match concrete paths to templates; literal segments beat parameters (/users/@me > /users/{id})."""

    def __init__(self, templates: Iterable[str]):
        self._by_len: dict[int, list[tuple[str, re.Pattern[str]]]] = {}
        specificity = lambda t: [s.startswith("{") for s in t.strip("/").split("/")]  # noqa: E731
        for template in sorted(set(templates), key=specificity):
            segs = template.strip("/").split("/")
            rx = "/".join(f"(?P<{s[1:-1]}>[^/]+)" if s.startswith("{") else re.escape(s) for s in segs)
            self._by_len.setdefault(len(segs), []).append((template, re.compile(f"^{rx}$")))

    def match(self, path: str) -> tuple[str | None, dict[str, str]]:
        stripped = path.strip("/")
        for template, rx in self._by_len.get(len(stripped.split("/")), []):
            m = rx.match(stripped)
            if m:
                return template, {k: unquote(v) for k, v in m.groupdict().items()}
        return None, {}


# --------------------------------------------------------------------------- OpenAPI checking


def default_spec_path() -> Path:
    """$DISCORD_OPENAPI_SPEC, else shared/specs/ beside the repository (as CI lays it out)."""
    env = os.environ.get("DISCORD_OPENAPI_SPEC")
    if env:
        return Path(env)
    for base in (Path(__file__).resolve().parents[4], Path("/work")):
        candidate = base / "shared" / "specs" / "discord-openapi.json"
        if candidate.exists():
            return candidate
    return Path("/work/shared/specs/discord-openapi.json")


# The spec is stricter than the live API in places where discord.py relies on the API's
# leniency; loosen exactly those so the checker flags real bugs, not discord.py's normal traffic.
SPEC_RELAXATIONS = (
    "SnowflakeType also accepts non-negative integers (Discord coerces them; discord.py sends "
    "ints in allowed_mentions, message_reference, recipient_id, attachments ids...)",
)


class OpenAPISpec:
    """Discord's OpenAPI document, loaded once; request-body validators compiled lazily and cached."""

    _URI = "urn:discord-openapi"
    _cache: dict[str, OpenAPISpec] = {}

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> OpenAPISpec:
        resolved = str(Path(path or default_spec_path()).resolve())
        if resolved not in cls._cache:
            cls._cache[resolved] = cls(resolved)
        return cls._cache[resolved]

    def __init__(self, path: str):
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        doc["components"]["schemas"]["SnowflakeType"] = {
            "anyOf": [doc["components"]["schemas"]["SnowflakeType"], {"type": "integer", "minimum": 0}]
        }
        self.doc = doc
        self.templates: list[str] = list(doc["paths"])
        resource = Resource.from_contents(doc, default_specification=DRAFT202012)
        self._registry = Registry().with_resource(self._URI, resource)
        self._validators: dict[tuple[str, str], Any] = {}

    def operation(self, template: str, method: str) -> dict | None:
        return self.doc["paths"].get(template, {}).get(method.lower())

    def validator(self, template: str, method: str) -> Any:
        key = (template, method.lower())
        if key not in self._validators:
            self._validators[key] = self._compile(*key)
        return self._validators[key]

    def _compile(self, template: str, method: str) -> Any:
        from jsonschema import Draft202012Validator

        op = self.operation(template, method)
        content = ((op or {}).get("requestBody") or {}).get("content") or {}
        if not content:
            return None
        ctype = "application/json" if "application/json" in content else next(iter(content))
        esc = lambda s: s.replace("~", "~0").replace("/", "~1")  # noqa: E731  (JSON pointer escaping)
        pointer = f"/paths/{esc(template)}/{method}/requestBody/content/{esc(ctype)}/schema"
        return Draft202012Validator({"$ref": f"{self._URI}#{quote(pointer, safe='/~@')}"}, registry=self._registry)

    def check(self, template: str, method: str, body: Any) -> list[tuple[str, str]]:
        """Return [(location, message)] for a request body, most relevant first; [] if valid or no schema."""
        from jsonschema.exceptions import relevance

        validator = self.validator(template, method)
        if validator is None:
            return []
        found = []
        # Not best_match(): it guesses a union variant by itself, often the wrong one for Discord's unions.
        for error in sorted(validator.iter_errors(body), key=relevance, reverse=True):
            leaf = self._explain(error)
            message = leaf.message if len(leaf.message) <= 300 else leaf.message[:297] + "..."
            found.append(("/".join(str(p) for p in leaf.absolute_path), message))
        return found

    @classmethod
    def _explain(cls, error: Any) -> Any:
        """Descend anyOf/oneOf failures into the variant the body was most likely meant to be.

        Discord's unions are discriminated by a field such as "type": a variant failing on an
        enum/const (or on being null) is an unintended one; in the intended variant the deepest
        error is the useful one. If every variant is unintended, the union error itself is.
        """
        if not error.context:
            return error
        branches: dict[Any, list[Any]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(cls._explain(sub))
        candidates = []
        for leaves in branches.values():
            wrong_variant = any(cls._discriminating(e) for e in leaves)
            leaf = max(leaves, key=lambda e: (not cls._discriminating(e), len(e.absolute_path)))
            candidates.append((wrong_variant, -len(leaf.absolute_path), len(leaves), leaf))
        best = min(candidates, key=lambda c: c[:3])
        return error if best[0] else best[3]

    @staticmethod
    def _discriminating(error: Any) -> bool:
        return error.validator in ("enum", "const") or (error.validator == "type" and error.validator_value == "null")


# --------------------------------------------------------------------------- gateway plumbing


class _Conn:
    def __init__(self, ws: web.WebSocketResponse, request: web.Request, info: GatewayConnection, zlib_stream: bool):
        self.ws, self.request, self.info = ws, request, info
        self.zlib = zlib.compressobj() if zlib_stream else None
        self.lock = asyncio.Lock()  # one writer at a time: the zlib stream must stay in order
        self.session: _Session | None = None
        self.server_closed = False

    async def send(self, payload: dict) -> None:
        data = json.dumps(payload, separators=(",", ":"))
        async with self.lock:
            if self.ws.closed:
                return
            with contextlib.suppress(ConnectionError, RuntimeError):
                if self.zlib is not None:
                    await self.ws.send_bytes(self.zlib.compress(data.encode()) + self.zlib.flush(zlib.Z_SYNC_FLUSH))
                else:
                    await self.ws.send_str(data)

    async def close(self, code: int, reason: str = "") -> None:
        if not self.server_closed:
            self.info.close_code = code  # what the server sent, not the client's echo
        self.server_closed = True
        with contextlib.suppress(ConnectionError, RuntimeError, asyncio.TimeoutError):
            await self.ws.close(code=code, message=reason.encode())


@dataclass
class _Session:
    id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    buffer: list[dict] = field(default_factory=list)  # sent dispatches, replayed on RESUME
    conn: _Conn | None = None
    sent: int = 0  # the last seq written to a connection
    held: bool = False  # dispatches wait in `buffer` until released (a slow connection)
    replay_from: int | None = None  # the next RESUME replays from this seq, delivered or not

    def receives(self, event: str, data: dict) -> bool:
        """Discord's shard routing: a guild's events go to shard (guild_id >> 22) % count, the rest to 0."""
        if self.shard is None:
            return True
        shard_id, count = self.shard
        guild_id = data.get("id") if event in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE") else None
        return shard_for(guild_id or data.get("guild_id"), count) == shard_id


def shard_for(guild_id: Any, shard_count: int) -> int:
    """The shard that receives a guild's events; DMs and other guildless events go to shard 0."""
    return (int(guild_id) >> 22) % shard_count if guild_id else 0


def guild_id_for_shard(shard_id: int, shard_count: int, n: int = 0) -> str:
    """The `n`-th of a series of guild ids whose events go to shard `shard_id` of `shard_count`."""
    timestamp = DISCORD_EPOCH_MS + n * shard_count
    return str((timestamp + (shard_id - timestamp) % shard_count) << 22)


def _event_intent(event: str, data: dict) -> int | None:
    """The intent a dispatch needs, or None if it is always sent."""
    in_guild = "guild_id" in data
    if event.startswith("MESSAGE_REACTION"):
        return Intents.GUILD_MESSAGE_REACTIONS if in_guild else Intents.DIRECT_MESSAGE_REACTIONS
    if event.startswith("MESSAGE_"):
        return Intents.GUILD_MESSAGES if in_guild else Intents.DIRECT_MESSAGES
    if event == "TYPING_START":
        return Intents.GUILD_MESSAGE_TYPING if in_guild else Intents.DIRECT_MESSAGE_TYPING
    if event.startswith("GUILD_MEMBER_"):
        return Intents.GUILD_MEMBERS
    if event == "PRESENCE_UPDATE":
        return Intents.GUILD_PRESENCES
    if event.startswith(("GUILD_", "CHANNEL_", "THREAD_")) and event != "GUILD_MEMBERS_CHUNK":
        return Intents.GUILDS
    return None


_ROUTES: dict[tuple[str, str], str] = {}


def _route(method: str, template: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        _ROUTES[(method, template)] = fn.__name__
        return fn

    return deco


@dataclass
class _Ctx:
    method: str
    path: str
    route: str
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    files: list[UploadedFile]


# --------------------------------------------------------------------------- the fake


class FakeDiscord:
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
        max_content_length: int = 2000,
        interaction_response_timeout: float = 3.0,
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
        max_content_length: message content limit for bots (Discord: 2000) -> 400 50035 beyond.
        interaction_response_timeout: initial interaction callbacks later than this -> 404 10062.
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
        self.bot_permissions = bot_permissions
        self.host = host
        self.shard_count = shard_count
        self.spec = OpenAPISpec.load(spec_path) if check_spec else None
        self.rate_limits: dict[tuple[str, str], RateLimitRule] = {}
        for (method, route), (limit, per) in {**DEFAULT_RATE_LIMITS, **(rate_limits or {})}.items():
            self.set_rate_limit(method, route, limit, per)
        self.default_rate_limit = default_rate_limit
        self.global_rate_limit = global_rate_limit

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
        self._global_window: _Window | None = None
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

    # ------------------------------------------------------------------ world builders

    def add_user(
        self, username: str, *, bot: bool = False, global_name: str | None = None, user_id: int | str | None = None
    ) -> dict:
        uid = str(user_id) if user_id is not None else self._ids.next()
        user = {
            "id": uid,
            "username": username,
            "discriminator": "0",
            "global_name": global_name,
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
        }
        if bot:
            user["bot"] = True
        self.users[uid] = user
        return user

    def add_guild(self, name: str, *, owner: Any = None, guild_id: int | str | None = None) -> dict:
        gid = str(guild_id) if guild_id is not None else self._ids.next()
        owner_id = _sid(owner) if owner is not None else self.bot_user["id"]
        guild = {
            "id": gid,
            "name": name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "owner_id": owner_id,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_members": 500000,
            "vanity_url_code": None,
            "description": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
        }
        self.guilds[gid] = guild
        self.members[gid] = {}
        self.add_role(gid, "@everyone", permissions=Perm.DEFAULT_EVERYONE, role_id=gid)
        bot_role = self.add_role(gid, self.bot_user["username"], permissions=self.bot_permissions)
        bot_role.update(managed=True, tags={"bot_id": self.bot_user["id"]})
        self.add_member(gid, self.bot_user, roles=[bot_role])
        if owner_id != self.bot_user["id"]:
            self.add_member(gid, owner_id)
        return guild

    def add_role(self, guild: Any, name: str, *, permissions: int = 0, role_id: int | str | None = None) -> dict:
        g = self._guild(guild)
        role = {
            "id": str(role_id) if role_id is not None else self._ids.next(),
            "name": name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": len(g["roles"]),
            "permissions": str(permissions),
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        g["roles"].append(role)
        return role

    def add_member(self, guild: Any, user: Any, *, roles: Iterable[Any] = (), nick: str | None = None) -> dict:
        gid, u = _sid(guild), self._user(user)
        member = {
            "user": u,
            "nick": nick,
            "avatar": None,
            "banner": None,
            "roles": [_sid(r) for r in roles],
            "joined_at": _iso(),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        self.members[gid][u["id"]] = member
        return member

    def add_text_channel(
        self,
        guild: Any,
        name: str,
        *,
        topic: str | None = None,
        parent_id: Any = None,
        permission_overwrites: Iterable[dict] = (),
        channel_id: int | str | None = None,
    ) -> dict:
        gid = _sid(guild)
        self._guild(gid)
        channel = {
            "id": str(channel_id) if channel_id is not None else self._ids.next(),
            "type": ChannelType.GUILD_TEXT,
            "guild_id": gid,
            "name": name,
            "position": sum(1 for c in self.channels.values() if c.get("guild_id") == gid),
            "permission_overwrites": list(permission_overwrites),
            "parent_id": _sid(parent_id) if parent_id is not None else None,
            "topic": topic,
            "nsfw": False,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "default_auto_archive_duration": 1440,
            "flags": 0,
        }
        self.channels[channel["id"]] = channel
        return channel

    def add_thread(
        self,
        parent: Any,
        name: str,
        *,
        private: bool = False,
        owner: Any = None,
        archived: bool = False,
        locked: bool = False,
        thread_id: int | str | None = None,
    ) -> dict:
        parent_ch = self._channel(parent)
        owner_id = _sid(owner) if owner is not None else self.bot_user["id"]
        now = _iso()
        thread = {
            "id": str(thread_id) if thread_id is not None else self._ids.next(),
            "type": ChannelType.PRIVATE_THREAD if private else ChannelType.PUBLIC_THREAD,
            "guild_id": parent_ch["guild_id"],
            "parent_id": parent_ch["id"],
            "owner_id": owner_id,
            "name": name,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "flags": 0,
            "applied_tags": [],
            "thread_metadata": {
                "archived": archived,
                "auto_archive_duration": 1440,
                "archive_timestamp": now,
                "locked": locked,
                "create_timestamp": now,
            },
        }
        if private:
            thread["thread_metadata"]["invitable"] = True
        self.channels[thread["id"]] = thread
        return thread

    def add_dm_channel(self, user: Any) -> dict:
        u = self._user(user)
        for ch in self.channels.values():
            if ch["type"] == ChannelType.DM and ch["recipients"][0]["id"] == u["id"]:
                return ch
        channel = {
            "id": self._ids.next(),
            "type": ChannelType.DM,
            "last_message_id": None,
            "flags": 0,
            "recipients": [u],
        }
        self.channels[channel["id"]] = channel
        return channel

    def close_dms(self, user: Any) -> None:
        """The user accepts no DM from the bot (privacy settings, or no server in common): the bot's posts in
        their DM channel get 403 50007, as on Discord; interaction responses there still work."""
        self.dms_closed.add(self._user(user)["id"])

    def permissions_for(self, user: Any, channel: Any = None, *, guild: Any = None) -> int:
        """Computed permissions of a member, in a channel if given (Discord's overwrite algorithm)."""
        uid = _sid(user)
        ch = self._channel(channel) if channel is not None else None
        if ch is not None and ch["type"] in ChannelType.THREADS:
            ch = self._channel(ch["parent_id"])
        if ch is not None and "guild_id" not in ch:
            return Perm.ALL & ~(Perm.ADMINISTRATOR | Perm.MANAGE_GUILD)  # DMs: no guild permission model
        g = self._guild(guild if guild is not None else ch["guild_id"])  # type: ignore[index]
        if g["owner_id"] == uid:
            return Perm.ALL
        member = self.members[g["id"]].get(uid)
        role_ids = set(member["roles"]) if member else set()
        roles = {r["id"]: r for r in g["roles"]}
        perms = int(roles[g["id"]]["permissions"])
        for rid in role_ids:
            if rid in roles:
                perms |= int(roles[rid]["permissions"])
        if perms & Perm.ADMINISTRATOR:
            return Perm.ALL
        if ch is None:
            return perms
        overwrites = {o["id"]: o for o in ch.get("permission_overwrites", [])}
        if g["id"] in overwrites:
            perms = perms & ~int(overwrites[g["id"]]["deny"]) | int(overwrites[g["id"]]["allow"])
        allow = deny = 0
        for rid in role_ids:
            if rid in overwrites:
                allow |= int(overwrites[rid]["allow"])
                deny |= int(overwrites[rid]["deny"])
        perms = perms & ~deny | allow
        if uid in overwrites:
            perms = perms & ~int(overwrites[uid]["deny"]) | int(overwrites[uid]["allow"])
        return perms

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

    # ------------------------------------------------------------------ fault injection and limits

    def set_rate_limit(self, method: str, route: str, limit: int, per: float) -> None:
        bucket = hashlib.md5(f"{method} {route}".encode()).hexdigest()
        self.rate_limits[(method.upper(), route)] = RateLimitRule(limit, per, bucket)

    def inject_429(
        self,
        method: str | None = None,
        route: str | None = None,
        *,
        count: int = 1,
        retry_after: float = 0.1,
        is_global: bool = False,
        scope: str = "user",
    ) -> None:
        """Answer the next `count` matching requests with 429 (route: template or path; None = any)."""
        self._injections.append(
            _Injection(
                method and method.upper(), route, count, 429, retry_after, is_global, "global" if is_global else scope
            )
        )

    def inject_error(
        self,
        method: str | None = None,
        route: str | None = None,
        *,
        status: int = 500,
        count: int = 1,
        body: Any = None,
    ) -> None:
        """Answer the next `count` matching requests with `status` (discord.py retries 500/502/504/524)."""
        self._injections.append(_Injection(method and method.upper(), route, count, status, body=body))

    def _take_injection(self, rec: RecordedRequest) -> _Injection | None:
        for inj in self._injections:
            if inj.count > 0 and self._matches(rec, inj.method, inj.route):
                inj.count -= 1
                if inj.count == 0:
                    self._injections.remove(inj)
                return inj
        return None

    def _rate_limit(
        self, method: str, route: str, params: dict[str, str], *, consume: bool = True
    ) -> tuple[dict[str, str], float | None]:
        """Consume a token (unless consume=False); return (headers, retry_after if exhausted)."""
        rule = self.rate_limits.get((method, route))
        if rule is None:
            limit, per = self.default_rate_limit
            rule = RateLimitRule(limit, per, hashlib.md5(f"{method} {route}".encode()).hexdigest())
        major = "+".join(params[k] for k in _MAJOR_PARAMS if k in params)
        now = time.monotonic()
        window = self._windows.get((rule.bucket, major))
        if window is None or now >= window.reset_at:
            window = self._windows[(rule.bucket, major)] = _Window(now + rule.per, rule.limit)
        reset_after = window.reset_at - now
        retry_after = None
        if window.remaining <= 0:
            retry_after = reset_after
        elif consume:
            window.remaining -= 1
        # Round up so a client that waits exactly Reset-After never arrives early.
        reset_after = math.ceil(reset_after * 1000) / 1000
        headers = {
            "X-RateLimit-Limit": str(rule.limit),
            "X-RateLimit-Remaining": str(window.remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": rule.bucket,
        }
        return headers, retry_after

    def _global_limit(self) -> float | None:
        """Count one request against the bot's global limit; the seconds to wait if it is spent."""
        if self.global_rate_limit is None:
            return None
        limit, per = self.global_rate_limit
        now = time.monotonic()
        window = self._global_window
        if window is None or now >= window.reset_at:
            window = self._global_window = _Window(now + per, limit)
        if window.remaining <= 0:
            return window.reset_at - now
        window.remaining -= 1
        return None

    @staticmethod
    def _too_many(
        retry_after: float, headers: dict[str, str], *, is_global: bool = False, scope: str = "user"
    ) -> web.Response:
        retry_after = math.ceil(retry_after * 1000) / 1000
        headers = {**headers, "Retry-After": str(max(1, math.ceil(retry_after))), "X-RateLimit-Scope": scope}
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
        return _json(body, status=429, headers=headers)

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

    # ------------------------------------------------------------------ gateway

    async def _gateway_handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(timeout=2.0, max_msg_size=0)
        await ws.prepare(request)
        info = GatewayConnection(request.path, dict(request.query), time.monotonic())
        self.gateway_connections.append(info)
        conn = _Conn(ws, request, info, request.query.get("compress") == "zlib-stream")
        self._conns.add(conn)
        try:
            if request.query.get("v", "10") != "10":
                await conn.close(4012, "Invalid API version.")
            elif request.query.get("encoding", "json") != "json":
                await conn.close(4002, "Decode error.")  # the fake speaks JSON only
            else:
                await conn.send(
                    {
                        "op": 10,
                        "d": {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["fake-gateway"]},
                        "s": None,
                        "t": None,
                    }
                )
                async for msg in ws:
                    if msg.type == WSMsgType.TEXT:
                        await self._on_gateway_frame(conn, msg.data)
                    elif msg.type == WSMsgType.BINARY:
                        await conn.close(4002, "Decode error.")
        finally:
            self._conns.discard(conn)
            info.closed_at = time.monotonic()
            if info.close_code is None:
                info.close_code = ws.close_code
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                # A client that closes with 1000/1001 ends its session, as on Discord.
                if not conn.server_closed and ws.close_code in (1000, 1001):
                    self.sessions.pop(session.id, None)
            self._notify()
        return ws

    async def _on_gateway_frame(self, conn: _Conn, raw: str) -> None:
        try:
            msg = json.loads(raw)
        except ValueError:
            return await conn.close(4002, "Decode error.")
        op, d = msg.get("op"), msg.get("d")
        self.gateway_received.append(GatewayFrame(time.monotonic(), op, d, conn.info))
        self._notify()
        if op == 1:
            await conn.send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._identify(conn, d or {})
        elif op == 6:
            await self._resume(conn, d or {})
        elif conn.session is None:
            await conn.close(4003, "Not authenticated.")
        elif op == 3:
            self.presence_updates.append(d)
        elif op == 8:
            await self._member_chunk(conn.session, d or {})
        elif op != 4:  # voice state updates are accepted and ignored
            await conn.close(4001, "Unknown opcode.")

    async def _identify(self, conn: _Conn, d: dict) -> None:
        if conn.session is not None:
            return await conn.close(4005, "Already authenticated.")
        if d.get("token") not in (self.token, f"Bot {self.token}"):
            return await conn.close(4004, "Authentication failed.")
        intents = d.get("intents")
        if not isinstance(intents, int) or intents & ~Intents.VALID:
            return await conn.close(4013, "Invalid intent(s).")
        if intents & Intents.PRIVILEGED & ~self.privileged_intents:
            return await conn.close(4014, "Disallowed intent(s).")
        shard = d.get("shard")
        if shard is not None and not (
            isinstance(shard, list)
            and len(shard) == 2
            and all(type(n) is int for n in shard)
            and 0 <= shard[0] < shard[1]
        ):
            return await conn.close(4010, "Invalid shard.")
        self.identify_count += 1
        session = _Session(secrets.token_hex(16), intents, shard, conn=conn)
        self.sessions[session.id] = session
        conn.session, conn.info.session_id = session, session.id
        guilds = [gid for gid in self.guilds if session.receives("GUILD_CREATE", {"id": gid})]
        ready = {
            "v": 10,
            "user": self.bot_user,
            "user_settings": {},
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_gateway_url,
            "guilds": [{"id": gid, "unavailable": True} for gid in guilds],
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["us-east"],
            "auth_session_id_hash": secrets.token_hex(16),
            "application": {"id": self.application_id, "flags": self._application_flags()},
            "_trace": ["fake-gateway"],
        }
        if session.shard is not None:
            ready["shard"] = session.shard
        await self._send_dispatch(session, "READY", copy.deepcopy(ready))
        for gid in guilds:
            await self._send_dispatch(session, "GUILD_CREATE", self._guild_create_payload(gid, intents))

    async def _resume(self, conn: _Conn, d: dict) -> None:
        if d.get("token") not in (self.token, f"Bot {self.token}"):
            return await conn.close(4004, "Authentication failed.")
        session = self.sessions.get(d.get("session_id", ""))
        if session is None:
            return await conn.send({"op": 9, "d": False, "s": None, "t": None})
        seq = d.get("seq") or 0
        if seq > session.seq:
            return await conn.close(4007, "Invalid seq.")
        if session.conn is not None and session.conn is not conn:
            await session.conn.close(4000, "Session resumed elsewhere")
        session.conn, conn.session = conn, session
        conn.info.session_id, conn.info.resumed = session.id, True
        self.resume_count += 1
        start = seq if session.replay_from is None else min(seq, session.replay_from - 1)
        session.replay_from = None
        for payload in session.buffer:
            if payload["s"] > start:
                if payload["s"] <= seq:
                    self.replayed_again.append(payload)
                await conn.send(payload)
                session.sent = payload["s"]
        await self._send_dispatch(session, "RESUMED", {"_trace": ["fake-gateway"]})

    async def _member_chunk(self, session: _Session, d: dict) -> None:
        gid = str(d.get("guild_id"))
        members = list(self.members.get(gid, {}).values())
        if d.get("user_ids"):
            wanted = {str(u) for u in (d["user_ids"] if isinstance(d["user_ids"], list) else [d["user_ids"]])}
            members = [m for m in members if m["user"]["id"] in wanted]
        elif d.get("query"):
            members = [m for m in members if m["user"]["username"].lower().startswith(d["query"].lower())]
        if d.get("limit"):
            members = members[: d["limit"]]
        chunk = {"guild_id": gid, "members": members, "chunk_index": 0, "chunk_count": 1, "not_found": []}
        if d.get("nonce") is not None:
            chunk["nonce"] = d["nonce"]
        await self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", copy.deepcopy(chunk))

    def _guild_create_payload(self, gid: str, intents: int) -> dict:
        guild = copy.deepcopy(self.guilds[gid])
        members = list(self.members[gid].values())
        if not intents & (Intents.GUILD_MEMBERS | Intents.GUILD_PRESENCES):
            # Without member intents Discord only sends the bot itself (and voice members).
            members = [m for m in members if m["user"]["id"] == self.bot_user["id"]]
        channels = [c for c in self.channels.values() if c.get("guild_id") == gid]
        guild.update(
            unavailable=False,
            joined_at=self.members[gid][self.bot_user["id"]]["joined_at"],
            large=False,
            member_count=len(self.members[gid]),
            members=copy.deepcopy(members),
            channels=copy.deepcopy([c for c in channels if c["type"] not in ChannelType.THREADS]),
            threads=copy.deepcopy(
                [c for c in channels if c["type"] in ChannelType.THREADS and not c["thread_metadata"]["archived"]]
            ),
            presences=[],
            voice_states=[],
            stage_instances=[],
            guild_scheduled_events=[],
            soundboard_sounds=[],
        )
        return guild

    def _application_flags(self) -> int:
        flags = 0
        if self.privileged_intents & Intents.GUILD_PRESENCES:
            flags |= 1 << 13  # GATEWAY_PRESENCE_LIMITED
        if self.privileged_intents & Intents.GUILD_MEMBERS:
            flags |= 1 << 15  # GATEWAY_GUILD_MEMBERS_LIMITED
        if self.privileged_intents & Intents.MESSAGE_CONTENT:
            flags |= 1 << 19  # GATEWAY_MESSAGE_CONTENT_LIMITED
        return flags

    async def _send_dispatch(self, session: _Session, event: str, data: dict) -> None:
        needed = _event_intent(event, data)
        if needed is not None and not session.intents & needed:
            return
        if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and not session.intents & Intents.MESSAGE_CONTENT:
            data = self._strip_content(data)
        session.seq += 1
        payload = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.buffer.append(payload)
        del session.buffer[:-1000]
        if session.conn is not None and not session.held:
            await session.conn.send(payload)
            session.sent = payload["s"]

    def _strip_content(self, data: dict) -> dict:
        """Without MESSAGE_CONTENT, Discord blanks content except in DMs, mentions and own messages."""
        bot_id = self.bot_user["id"]
        if (
            "guild_id" not in data
            or data.get("author", {}).get("id") == bot_id
            or any(u["id"] == bot_id for u in data.get("mentions", []))
        ):
            return data
        return {**data, "content": "", "embeds": [], "attachments": [], "components": []}

    async def dispatch(self, event: str, data: dict) -> None:
        """Send an op 0 dispatch to every session of the event's shard (buffered for disconnected ones,
        replayed on RESUME). Two sessions on one shard (a misconfiguration) both get it, as on Discord."""
        for session in list(self.sessions.values()):
            if session.receives(event, data):
                await self._send_dispatch(session, event, copy.deepcopy(data))
        self._notify()

    def shard_sessions(self, shard_id: int = 0) -> list[_Session]:
        """The sessions that receive shard `shard_id`'s events, oldest IDENTIFY first."""
        return [s for s in self.sessions.values() if s.shard is None or s.shard[0] == shard_id]

    def hold_dispatches(self, session: _Session) -> None:
        """A slow connection: the session's dispatches wait, in order, until `release_dispatches`."""
        session.held = True

    async def release_dispatches(self, session: _Session) -> None:
        # still held while the backlog goes out, so a dispatch made meanwhile cannot overtake it
        while session.conn is not None and (backlog := [p for p in session.buffer if p["s"] > session.sent]):
            for payload in backlog:
                await session.conn.send(payload)
                session.sent = payload["s"]
        session.held = False
        self._notify()

    def replay_on_resume(self, session: _Session, from_seq: int) -> None:
        """The session's next RESUME replays from `from_seq`, also events the client already received
        (Discord may deliver an event twice); those are recorded in `replayed_again`."""
        session.replay_from = from_seq

    async def drop_connections(self, *, code: int = 4000, abrupt: bool = False) -> None:
        """Disconnect every client; sessions survive so clients RESUME. abrupt: no close frame."""
        for conn in list(self._conns):
            if abrupt:
                conn.server_closed = True
                transport = conn.request.transport
                if transport is not None:
                    transport.close()
            else:
                await conn.close(code, "Fake disconnect")

    async def send_reconnect(self) -> None:
        """Op 7: ask every client to reconnect and resume."""
        for conn in list(self._conns):
            await conn.send({"op": 7, "d": None, "s": None, "t": None})

    async def invalidate_sessions(self, *, resumable: bool = False) -> None:
        """Op 9: invalidate every session; non-resumable ones are forgotten so clients re-IDENTIFY."""
        for conn in list(self._conns):
            await conn.send({"op": 9, "d": resumable, "s": None, "t": None})
        if not resumable:
            self.sessions.clear()

    @property
    def connected(self) -> bool:
        return any(s.conn is not None for s in self.sessions.values())

    # ------------------------------------------------------------------ payload building

    def _user(self, user: Any) -> dict:
        uid = _sid(user)
        if uid not in self.users:
            raise UNKNOWN_USER()
        return self.users[uid]

    def _guild(self, guild: Any) -> dict:
        gid = _sid(guild)
        if gid not in self.guilds:
            raise UNKNOWN_GUILD()
        return self.guilds[gid]

    def _channel(self, channel: Any) -> dict:
        cid = _sid(channel)
        if cid not in self.channels:
            raise UNKNOWN_CHANNEL()
        return self.channels[cid]

    def _stored(self, channel_id: str, message_id: str) -> StoredMessage:
        stored = self._messages.get(channel_id, {}).get(message_id)
        if stored is None or stored.deleted:
            raise UNKNOWN_MESSAGE()
        return stored

    def _partial_member(self, guild_id: str, user_id: str) -> dict | None:
        member = self.members.get(guild_id, {}).get(user_id)
        return {k: v for k, v in member.items() if k != "user"} if member else None

    def _mentions(self, content: str, guild_id: str | None) -> tuple[list[dict], list[str]]:
        users = []
        for uid in dict.fromkeys(re.findall(r"<@!?(\d+)>", content)):
            if uid in self.users:
                user = copy.deepcopy(self.users[uid])
                member = self._partial_member(guild_id, uid) if guild_id else None
                if member:
                    user["member"] = member
                users.append(user)
        return users, list(dict.fromkeys(re.findall(r"<@&(\d+)>", content)))

    def _attachments(
        self, channel_id: str, body: dict, files: list[UploadedFile], existing: list[dict] | None = None
    ) -> list[dict]:
        """New attachments from files[n] (described by body.attachments[id=n]) plus kept existing ones."""
        described = {str(a.get("id")): a for a in body.get("attachments") or [] if isinstance(a, dict)}
        kept = [a for a in existing or [] if "attachments" not in body or a["id"] in described]
        for f in files:
            index = f.field[len("files[") : -1] if f.field.startswith("files[") else f.field
            meta = described.get(index, {})
            filename = meta.get("filename") or f.filename
            aid = self._ids.next()
            url_path = f"/attachments/{channel_id}/{aid}/{quote(filename)}"
            ctype = f.content_type
            if ctype == "application/octet-stream":
                ctype = mimetypes.guess_type(filename)[0] or ctype
            self._cdn[url_path] = (f.data, ctype)
            att = {
                "id": aid,
                "filename": filename,
                "size": len(f.data),
                "url": self.base_url + url_path,
                "proxy_url": self.base_url + url_path,
                "content_type": ctype,
            }
            if meta.get("description"):
                att["description"] = meta["description"]
            kept.append(att)
        return kept

    def _check_message_body(self, body: dict, files: list[UploadedFile], *, creating: bool) -> None:
        content = body.get("content")
        if isinstance(content, str) and len(content) > self.max_content_length:
            limit = self.max_content_length
            raise _form_error("content", "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
        if creating and not (
            content
            or body.get("embeds")
            or files
            or body.get("components")
            or body.get("sticker_ids")
            or body.get("poll")
        ):
            raise EMPTY_MESSAGE()

    def _build_message(
        self,
        channel: dict,
        author: dict,
        body: dict,
        files: list[UploadedFile],
        *,
        type_: int = 0,
        flags: int = 0,
        extra: dict | None = None,
    ) -> dict:
        cid, gid = channel["id"], channel.get("guild_id")
        content = _text(body.get("content"))
        mentions, mention_roles = self._mentions(content, gid)
        msg: dict[str, Any] = {
            "id": self._ids.next(),
            "channel_id": cid,
            "type": type_,
            "content": content,
            "author": author,
            "timestamp": _iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            "mention_everyone": False,
            "mentions": mentions,
            "mention_roles": mention_roles,
            "attachments": self._attachments(cid, body, files),
            "embeds": body.get("embeds") or [],
            "pinned": False,
            "flags": flags,
            "components": body.get("components") or [],
        }
        if gid:
            msg["guild_id"] = gid
            member = self._partial_member(gid, author["id"])
            if member and not (extra or {}).get("webhook_id"):
                msg["member"] = member
        if body.get("nonce") is not None:
            msg["nonce"] = body["nonce"]
        ref = body.get("message_reference")
        if ref and ref.get("message_id") is not None:
            ref_cid = str(ref.get("channel_id") or cid)
            ref_msg = self._messages.get(ref_cid, {}).get(str(ref["message_id"]))
            if ref_msg is None and ref.get("fail_if_not_exists", True):
                raise _form_error("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
            msg["type"] = 19 if type_ == 0 else type_
            msg["message_reference"] = {"type": 0, "message_id": str(ref["message_id"]), "channel_id": ref_cid}
            if gid:
                msg["message_reference"]["guild_id"] = gid
            msg["referenced_message"] = (
                {k: v for k, v in ref_msg.data.items() if k != "referenced_message"} if ref_msg else None
            )
        if channel["type"] in ChannelType.THREADS:
            msg["position"] = channel["total_message_sent"]
        msg.update(extra or {})
        return msg

    def _store(self, msg: dict) -> StoredMessage:
        stored = StoredMessage(msg["channel_id"], msg["id"], msg)
        stored.history.append(MessageRevision(time.monotonic(), msg["timestamp"], msg["content"], copy.deepcopy(msg)))
        self._messages.setdefault(msg["channel_id"], {})[msg["id"]] = stored
        channel = self.channels.get(msg["channel_id"])
        if channel is not None:
            channel["last_message_id"] = msg["id"]
            if channel["type"] in ChannelType.THREADS:
                channel["message_count"] += 1
                channel["total_message_sent"] += 1
        return stored

    def _apply_edit(self, stored: StoredMessage, body: dict, files: list[UploadedFile]) -> dict:
        msg = stored.data
        if "content" in body:
            msg["content"] = _text(body["content"])
            msg["mentions"], msg["mention_roles"] = self._mentions(msg["content"], msg.get("guild_id"))
        for key in ("embeds", "components"):
            if key in body:
                msg[key] = body[key] or []
        if body.get("flags") is not None:
            msg["flags"] = body["flags"] | (msg["flags"] & FLAG_EPHEMERAL)
        if "attachments" in body or files:
            msg["attachments"] = self._attachments(stored.channel_id, body, files, msg["attachments"])
        msg["flags"] &= ~FLAG_LOADING
        msg["edited_timestamp"] = _iso()
        stored.history.append(
            MessageRevision(time.monotonic(), msg["edited_timestamp"], msg["content"], copy.deepcopy(msg))
        )
        return msg

    async def _dispatch_message(self, event: str, msg: dict) -> None:
        if not msg["flags"] & FLAG_EPHEMERAL:  # ephemeral messages never reach the gateway
            await self.dispatch(event, msg)

    # ------------------------------------------------------------------ simulated users

    async def message_create(
        self,
        channel_id: Any,
        author: Any,
        content: str = "",
        *,
        attachments: Iterable[tuple[str, bytes, str] | tuple[str, bytes]] = (),
        reply_to: Any = None,
        embeds: Iterable[dict] = (),
        dispatch: bool = True,
    ) -> dict:
        """A user posts a message: store it and dispatch a full MESSAGE_CREATE. Returns the payload.

        attachments: (filename, bytes[, content_type]); served back at their `url` by the fake.
        Mention the bot with f"<@{fake.bot_user['id']}>" in content.
        """
        channel = self._channel(channel_id)
        files = [
            UploadedFile(f"files[{i}]", a[0], a[2] if len(a) > 2 else "application/octet-stream", a[1])  # type: ignore[misc]
            for i, a in enumerate(attachments)
        ]
        body: dict[str, Any] = {"content": content, "embeds": list(embeds)}
        if reply_to is not None:
            body["message_reference"] = {"message_id": _sid(reply_to), "channel_id": channel["id"]}
        msg = self._build_message(channel, copy.deepcopy(self._user(author)), body, files)
        self._store(msg)
        if dispatch:
            await self.dispatch("MESSAGE_CREATE", msg)
        return msg

    async def message_update(self, channel_id: Any, message_id: Any, content: str) -> dict:
        """A user edits their message."""
        stored = self._stored(_sid(channel_id), _sid(message_id))
        msg = self._apply_edit(stored, {"content": content}, [])
        await self.dispatch("MESSAGE_UPDATE", msg)
        return msg

    async def message_delete(self, channel_id: Any, message_id: Any) -> None:
        stored = self._stored(_sid(channel_id), _sid(message_id))
        await self._delete_message(stored)

    async def typing_start(self, channel_id: Any, user: Any) -> None:
        channel, u = self._channel(channel_id), self._user(user)
        data: dict[str, Any] = {"channel_id": channel["id"], "user_id": u["id"], "timestamp": int(time.time())}
        if channel.get("guild_id"):
            data["guild_id"] = channel["guild_id"]
            data["member"] = {**self.members[channel["guild_id"]][u["id"]]}
        await self.dispatch("TYPING_START", data)

    async def interaction_create(
        self,
        type: int,
        channel_id: Any,
        user: Any,
        *,
        name: str | None = None,
        options: dict[str, Any] | list[dict] | None = None,
        focused: str | None = None,
        command_type: int = 1,
        custom_id: str | None = None,
        component_type: int = 2,
        values: list[str] | None = None,
        message_id: Any = None,
        permissions: int | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """Dispatch INTERACTION_CREATE: type 2 (command), 4 (autocomplete, `focused` option) or 3 (component).

        options: {name: value} (types inferred) or raw option dicts (for subcommands).
        permissions: override the member's permission bitfield (default: computed for the channel).
        """
        channel, u = self._channel(channel_id), self._user(user)
        gid = channel.get("guild_id")
        source: StoredMessage | None = None
        if type in (2, 4):
            if name is None:
                raise ValueError("application command interactions need a name")
            data: dict[str, Any] = {"name": name, "type": command_type, "options": self._options(options, focused)}
            command = self._find_command(name, command_type, gid)
            data["id"] = command["id"] if command else self._ids.next()
            if command and command.get("guild_id"):
                data["guild_id"] = command["guild_id"]
        elif type == 3:
            if custom_id is None or message_id is None:
                raise ValueError("component interactions need custom_id and message_id")
            source = self._stored(channel["id"], _sid(message_id))
            data = {"custom_id": custom_id, "component_type": component_type}
            if values is not None:
                data["values"] = values
        else:
            raise ValueError(f"unsupported interaction type {type}")
        iid, token = self._ids.next(), "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(120)
        payload: dict[str, Any] = {
            "id": iid,
            "application_id": self.application_id,
            "type": type,
            "data": data,
            "token": token,
            "version": 1,
            "channel_id": channel["id"],
            "channel": copy.deepcopy(channel),
            "locale": locale,
            "app_permissions": str(self.permissions_for(self.bot_user, channel)),
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if gid:
            member = self.members[gid].get(u["id"])
            if member is None:
                raise ValueError(f"user {u['id']} is not a member of guild {gid}")
            perms = permissions if permissions is not None else self.permissions_for(u, channel)
            payload.update(
                guild_id=gid,
                guild={"id": gid, "locale": "en-US", "features": []},
                guild_locale="en-US",
                member={**copy.deepcopy(member), "permissions": str(perms)},
                context=0,
                authorizing_integration_owners={"0": gid},
            )
        else:
            payload.update(user=copy.deepcopy(u), context=1, authorizing_integration_owners={"0": "0"})
        if source is not None:
            payload["message"] = copy.deepcopy(source.data)
        inter = FakeInteraction(
            iid,
            token,
            type,
            channel["id"],
            gid,
            u["id"],
            payload,
            time.monotonic(),
            source_message_id=source.id if source else None,
        )
        self.interactions[iid] = self._interactions_by_token[token] = inter
        await self.dispatch("INTERACTION_CREATE", payload)
        return inter

    async def slash_command(
        self, channel_id: Any, user: Any, name: str, options: Any = None, **kw: Any
    ) -> FakeInteraction:
        return await self.interaction_create(2, channel_id, user, name=name, options=options, **kw)

    async def autocomplete(
        self, channel_id: Any, user: Any, name: str, options: Any, focused: str, **kw: Any
    ) -> FakeInteraction:
        return await self.interaction_create(4, channel_id, user, name=name, options=options, focused=focused, **kw)

    async def component_click(
        self, channel_id: Any, user: Any, message_id: Any, custom_id: str, **kw: Any
    ) -> FakeInteraction:
        return await self.interaction_create(3, channel_id, user, message_id=message_id, custom_id=custom_id, **kw)

    @staticmethod
    def _options(options: dict[str, Any] | list[dict] | None, focused: str | None) -> list[dict]:
        if options is None:
            return []
        if isinstance(options, list):
            return copy.deepcopy(options)
        out = []
        for key, value in options.items():
            # BOOLEAN 5, INTEGER 4, NUMBER 10, else STRING 3 (bool first: it is an int subclass)
            kind = next((k for t, k in ((bool, 5), (int, 4), (float, 10)) if isinstance(value, t)), 3)
            opt: dict[str, Any] = {"name": key, "type": kind, "value": value}
            if key == focused:
                opt["focused"] = True
            out.append(opt)
        return out

    def _find_command(self, name: str, command_type: int, guild_id: str | None) -> dict | None:
        for scope in ([guild_id] if guild_id else []) + [None]:
            for cmd in self._commands.get(scope, []):
                if cmd["name"] == name and cmd["type"] == command_type:
                    return cmd
        return None

    # ------------------------------------------------------------------ REST: gateway, users, apps, guilds

    @_route("GET", "/gateway")
    async def _h_gateway(self, ctx: _Ctx) -> web.Response:
        return _json({"url": self.gateway_url})

    @_route("GET", "/gateway/bot")
    async def _h_gateway_bot(self, ctx: _Ctx) -> web.Response:
        return _json(
            {
                "url": self.gateway_url,
                "shards": self.shard_count,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000 - self.identify_count,
                    "reset_after": 86400000,
                    "max_concurrency": 1,
                },
            }
        )

    @_route("GET", "/users/@me")
    async def _h_me(self, ctx: _Ctx) -> web.Response:
        return _json({**self.bot_user, "verified": True, "mfa_enabled": False, "locale": "en-US", "email": None})

    @_route("GET", "/users/{user_id}")
    async def _h_user(self, ctx: _Ctx) -> web.Response:
        return _json(self._user(ctx.params["user_id"]))

    @_route("GET", "/oauth2/applications/@me")
    @_route("GET", "/applications/@me")
    async def _h_application(self, ctx: _Ctx) -> web.Response:
        return _json(
            {
                "id": self.application_id,
                "name": self.bot_user["username"],
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "hook": True,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": self.verify_key,
                "owner": self.guild_owner or self.bot_user,
                "team": None,
                "flags": self._application_flags(),
                "bot": self.bot_user,
                "interactions_endpoint_url": None,
                "redirect_uris": [],
                "tags": [],
                "approximate_guild_count": len(self.guilds),
                "integration_types_config": {"0": {}},
            }
        )

    @_route("GET", "/guilds/{guild_id}")
    async def _h_guild(self, ctx: _Ctx) -> web.Response:
        return _json(self._guild(ctx.params["guild_id"]))

    @_route("GET", "/guilds/{guild_id}/channels")
    async def _h_guild_channels(self, ctx: _Ctx) -> web.Response:
        gid = self._guild(ctx.params["guild_id"])["id"]
        return _json(
            [c for c in self.channels.values() if c.get("guild_id") == gid and c["type"] not in ChannelType.THREADS]
        )

    @_route("GET", "/guilds/{guild_id}/members/{user_id}")
    async def _h_member(self, ctx: _Ctx) -> web.Response:
        member = self.members.get(self._guild(ctx.params["guild_id"])["id"], {}).get(ctx.params["user_id"])
        if member is None:
            raise UNKNOWN_MEMBER()
        return _json(member)

    @_route("GET", "/guilds/{guild_id}/roles")
    async def _h_roles(self, ctx: _Ctx) -> web.Response:
        return _json(self._guild(ctx.params["guild_id"])["roles"])

    # ------------------------------------------------------------------ REST: channels and messages

    def _require(self, channel: dict, needed: int) -> None:
        if "guild_id" in channel and self.permissions_for(self.bot_user, channel) & needed != needed:
            raise MISSING_PERMISSIONS()

    @_route("GET", "/channels/{channel_id}")
    async def _h_get_channel(self, ctx: _Ctx) -> web.Response:
        return _json(self._channel(ctx.params["channel_id"]))

    @_route("PATCH", "/channels/{channel_id}")
    async def _h_edit_channel(self, ctx: _Ctx) -> web.Response:
        channel = self._channel(ctx.params["channel_id"])
        body = ctx.json or {}
        if channel["type"] in ChannelType.THREADS:
            # A thread's owner may rename/archive it; anything else needs Manage Threads.
            owner_allowed = set(body) <= {"name", "archived", "auto_archive_duration", "applied_tags"}
            if channel["owner_id"] != self.bot_user["id"] or not owner_allowed:
                self._require(channel, Perm.MANAGE_THREADS)
            meta = channel["thread_metadata"]
            for key in ("archived", "locked", "invitable", "auto_archive_duration"):
                if body.get(key) is not None:
                    if key == "archived" and body[key] != meta["archived"]:
                        meta["archive_timestamp"] = _iso()
                    meta[key] = body[key]
            for key in ("name", "rate_limit_per_user", "flags", "applied_tags"):
                if body.get(key) is not None:
                    channel[key] = body[key]
            await self.dispatch("THREAD_UPDATE", channel)
        elif channel["type"] == ChannelType.DM:
            raise WRONG_CHANNEL_TYPE()
        else:
            self._require(channel, Perm.MANAGE_CHANNELS)
            for key in (
                "name",
                "topic",
                "nsfw",
                "rate_limit_per_user",
                "parent_id",
                "position",
                "permission_overwrites",
                "default_auto_archive_duration",
            ):
                if key in body:
                    channel[key] = body[key]
            await self.dispatch("CHANNEL_UPDATE", channel)
        return _json(channel)

    @_route("DELETE", "/channels/{channel_id}")
    async def _h_delete_channel(self, ctx: _Ctx) -> web.Response:
        channel = self._channel(ctx.params["channel_id"])
        if channel["type"] in ChannelType.THREADS:
            self._require(channel, Perm.MANAGE_THREADS)
            del self.channels[channel["id"]]
            await self.dispatch("THREAD_DELETE", {k: channel[k] for k in ("id", "guild_id", "parent_id", "type")})
        elif channel["type"] == ChannelType.DM:
            pass  # "closing" a DM keeps it; Discord answers with the channel
        else:
            self._require(channel, Perm.MANAGE_CHANNELS)
            del self.channels[channel["id"]]
            await self.dispatch("CHANNEL_DELETE", channel)
        return _json(channel)

    @_route("GET", "/channels/{channel_id}/messages")
    async def _h_list_messages(self, ctx: _Ctx) -> web.Response:
        channel = self._channel(ctx.params["channel_id"])
        self._require(channel, Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY)
        limit = max(1, min(100, int(ctx.query.get("limit", 50))))
        msgs = sorted((m.data for m in self.channel_messages(channel["id"])), key=lambda m: int(m["id"]), reverse=True)
        if "before" in ctx.query:
            msgs = [m for m in msgs if int(m["id"]) < int(ctx.query["before"])]
        elif "after" in ctx.query:
            msgs = [m for m in msgs if int(m["id"]) > int(ctx.query["after"])][-limit:]
        elif "around" in ctx.query:
            around = int(ctx.query["around"])
            msgs.sort(key=lambda m: abs(int(m["id"]) - around))
            msgs = sorted(msgs[:limit], key=lambda m: int(m["id"]), reverse=True)
        return _json(msgs[:limit])

    @_route("GET", "/channels/{channel_id}/messages/{message_id}")
    async def _h_get_message(self, ctx: _Ctx) -> web.Response:
        channel = self._channel(ctx.params["channel_id"])
        self._require(channel, Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY)
        return _json(self._stored(channel["id"], ctx.params["message_id"]).data)

    @_route("POST", "/channels/{channel_id}/messages")
    async def _h_create_message(self, ctx: _Ctx) -> web.Response:
        channel = self._channel(ctx.params["channel_id"])
        body = ctx.json or {}
        is_thread = channel["type"] in ChannelType.THREADS
        needed = Perm.VIEW_CHANNEL | (Perm.SEND_MESSAGES_IN_THREADS if is_thread else Perm.SEND_MESSAGES)
        self._require(channel, needed | (Perm.ATTACH_FILES if ctx.files else 0))
        if channel["type"] == ChannelType.DM and channel["recipients"][0]["id"] in self.dms_closed:
            raise CANNOT_DM()
        self._check_message_body(body, ctx.files, creating=True)
        if is_thread and channel["thread_metadata"]["archived"]:
            if channel["thread_metadata"]["locked"]:
                self._require(channel, Perm.MANAGE_THREADS)
            channel["thread_metadata"].update(archived=False, archive_timestamp=_iso())  # sending unarchives
            await self.dispatch("THREAD_UPDATE", channel)
        msg = self._build_message(
            channel, copy.deepcopy(self.bot_user), body, ctx.files, flags=(body.get("flags") or 0) & ~FLAG_EPHEMERAL
        )  # ephemeral: interactions only
        self._store(msg)
        await self._dispatch_message("MESSAGE_CREATE", msg)
        return _json(msg)

    @_route("PATCH", "/channels/{channel_id}/messages/{message_id}")
    async def _h_edit_message(self, ctx: _Ctx) -> web.Response:
        channel = self._channel(ctx.params["channel_id"])
        stored = self._stored(channel["id"], ctx.params["message_id"])
        body = ctx.json or {}
        if stored.author_id != self.bot_user["id"]:
            if set(body) - {"flags"}:
                raise CANNOT_EDIT_OTHERS()
            self._require(channel, Perm.MANAGE_MESSAGES)
        self._check_message_body(body, ctx.files, creating=False)
        msg = self._apply_edit(stored, body, ctx.files)
        await self._dispatch_message("MESSAGE_UPDATE", msg)
        return _json(msg)

    @_route("DELETE", "/channels/{channel_id}/messages/{message_id}")
    async def _h_delete_message(self, ctx: _Ctx) -> web.Response:
        channel = self._channel(ctx.params["channel_id"])
        stored = self._stored(channel["id"], ctx.params["message_id"])
        if stored.author_id != self.bot_user["id"]:
            if channel["type"] == ChannelType.DM:
                raise DiscordHTTPError(403, 50003, "Cannot execute action on a DM channel")
            self._require(channel, Perm.MANAGE_MESSAGES)
        await self._delete_message(stored)
        return web.Response(status=204)

    async def _delete_message(self, stored: StoredMessage) -> None:
        stored.deleted, stored.deleted_at = True, time.monotonic()
        data = {"id": stored.id, "channel_id": stored.channel_id}
        if "guild_id" in stored.data:
            data["guild_id"] = stored.data["guild_id"]
        if not stored.data["flags"] & FLAG_EPHEMERAL:
            await self.dispatch("MESSAGE_DELETE", data)

    @_route("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me")
    async def _h_add_reaction(self, ctx: _Ctx) -> web.Response:
        channel = self._channel(ctx.params["channel_id"])
        self._require(channel, Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY | Perm.ADD_REACTIONS)
        stored = self._stored(channel["id"], ctx.params["message_id"])
        emoji = self._emoji(ctx.params["emoji_name"])
        reactions = stored.data.setdefault("reactions", [])
        existing = next((r for r in reactions if r["emoji"] == emoji), None)
        if existing is None:
            reactions.append(
                {
                    "emoji": emoji,
                    "count": 1,
                    "me": True,
                    "me_burst": False,
                    "burst_colors": [],
                    "count_details": {"burst": 0, "normal": 1},
                }
            )
        elif not existing["me"]:
            existing.update(me=True, count=existing["count"] + 1)
        else:
            return web.Response(status=204)
        event = {
            "user_id": self.bot_user["id"],
            "channel_id": channel["id"],
            "message_id": stored.id,
            "emoji": emoji,
            "burst": False,
            "type": 0,
        }
        if "guild_id" in channel:
            event.update(guild_id=channel["guild_id"], member=self.members[channel["guild_id"]][self.bot_user["id"]])
        await self.dispatch("MESSAGE_REACTION_ADD", event)
        return web.Response(status=204)

    @_route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me")
    async def _h_remove_reaction(self, ctx: _Ctx) -> web.Response:
        stored = self._stored(self._channel(ctx.params["channel_id"])["id"], ctx.params["message_id"])
        emoji = self._emoji(ctx.params["emoji_name"])
        for r in stored.data.get("reactions", []):
            if r["emoji"] == emoji and r["me"]:
                r.update(me=False, count=r["count"] - 1)
        stored.data["reactions"] = [r for r in stored.data.get("reactions", []) if r["count"] > 0]
        return web.Response(status=204)

    @staticmethod
    def _emoji(raw: str) -> dict:
        name, _, emoji_id = raw.partition(":")
        return {"id": emoji_id or None, "name": name}

    @_route("POST", "/channels/{channel_id}/typing")
    async def _h_typing(self, ctx: _Ctx) -> web.Response:
        self._require(self._channel(ctx.params["channel_id"]), Perm.VIEW_CHANNEL)
        return web.Response(status=204)

    @_route("POST", "/channels/{channel_id}/messages/{message_id}/threads")
    async def _h_thread_from_message(self, ctx: _Ctx) -> web.Response:
        channel = self._channel(ctx.params["channel_id"])
        if channel["type"] != ChannelType.GUILD_TEXT:
            raise WRONG_CHANNEL_TYPE()
        self._require(channel, Perm.VIEW_CHANNEL | Perm.CREATE_PUBLIC_THREADS)
        stored = self._stored(channel["id"], ctx.params["message_id"])
        if stored.id in self.channels:
            raise THREAD_EXISTS()
        body = ctx.json or {}
        # A thread started from a message shares the message's id.
        thread = self.add_thread(channel, body.get("name") or "thread", thread_id=stored.id)
        self._thread_options(thread, body)
        stored.data["thread"] = thread
        return await self._announce_thread(thread)

    @_route("POST", "/channels/{channel_id}/threads")
    async def _h_thread_without_message(self, ctx: _Ctx) -> web.Response:
        channel = self._channel(ctx.params["channel_id"])
        if channel["type"] != ChannelType.GUILD_TEXT:
            raise WRONG_CHANNEL_TYPE()
        body = ctx.json or {}
        private = body.get("type", ChannelType.PRIVATE_THREAD) == ChannelType.PRIVATE_THREAD
        needed = Perm.CREATE_PRIVATE_THREADS if private else Perm.CREATE_PUBLIC_THREADS
        self._require(channel, Perm.VIEW_CHANNEL | needed)
        thread = self.add_thread(channel, body.get("name") or "thread", private=private)
        if private and body.get("invitable") is not None:
            thread["thread_metadata"]["invitable"] = body["invitable"]
        self._thread_options(thread, body)
        return await self._announce_thread(thread)

    @staticmethod
    def _thread_options(thread: dict, body: dict) -> None:
        if body.get("auto_archive_duration"):
            thread["thread_metadata"]["auto_archive_duration"] = body["auto_archive_duration"]
        if body.get("rate_limit_per_user") is not None:
            thread["rate_limit_per_user"] = body["rate_limit_per_user"]

    async def _announce_thread(self, thread: dict) -> web.Response:
        me = {"id": thread["id"], "user_id": self.bot_user["id"], "join_timestamp": _iso(), "flags": 0}
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True, "member": me})
        return _json({**thread, "member": me}, status=201)

    @_route("PUT", "/channels/{channel_id}/thread-members/@me")
    @_route("DELETE", "/channels/{channel_id}/thread-members/@me")
    async def _h_thread_membership(self, ctx: _Ctx) -> web.Response:
        if self._channel(ctx.params["channel_id"])["type"] not in ChannelType.THREADS:
            raise WRONG_CHANNEL_TYPE()
        return web.Response(status=204)

    @_route("POST", "/users/@me/channels")
    async def _h_open_dm(self, ctx: _Ctx) -> web.Response:
        recipient = (ctx.json or {}).get("recipient_id")
        if recipient is None:
            raise _form_error("recipient_id", "BASE_TYPE_REQUIRED", "This field is required")
        return _json(self.add_dm_channel(recipient))

    # ------------------------------------------------------------------ REST: interactions and webhooks

    @_route("POST", "/interactions/{interaction_id}/{interaction_token}/callback")
    async def _h_interaction_callback(self, ctx: _Ctx) -> web.Response:
        inter = self.interactions.get(ctx.params["interaction_id"])
        if inter is None or inter.token != ctx.params["interaction_token"]:
            raise UNKNOWN_INTERACTION()
        if inter.acknowledged:
            raise ALREADY_ACKNOWLEDGED()
        if time.monotonic() - inter.created_at > self.interaction_response_timeout:
            raise UNKNOWN_INTERACTION()  # what Discord answers after the 3 s window
        body = ctx.json or {}
        ctype, data = body.get("type"), body.get("data") or {}
        allowed = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}[inter.type]
        if ctype not in allowed:
            raise _form_error("type", "INTERACTION_RESPONSE_TYPE_INVALID", f"Response type {ctype} is not valid here")
        channel = self._channel(inter.channel_id)
        msg = None
        if ctype in (4, 5):
            self._check_message_body(data, ctx.files, creating=ctype == 4)
            flags = (data.get("flags") or 0) | (FLAG_LOADING if ctype == 5 else 0)
            content_body = data if ctype == 4 else {"flags": data.get("flags")}
            msg = self._interaction_message(inter, channel, content_body, ctx.files, flags)
            inter.original_message_id = msg["id"]
        elif ctype in (6, 7):
            inter.original_message_id = inter.source_message_id
            if ctype == 7 and inter.source_message_id is not None:
                self._check_message_body(data, ctx.files, creating=False)
                stored = self._stored(inter.channel_id, inter.source_message_id)
                msg = self._apply_edit(stored, data, ctx.files)
                await self._dispatch_message("MESSAGE_UPDATE", msg)
        inter.callbacks.append(InteractionCallback(ctype, data, ctx.files, time.monotonic()))
        if msg is not None and ctype in (4, 5):
            await self._dispatch_message("MESSAGE_CREATE", msg)
        if ctx.query.get("with_response", "").lower() not in ("1", "true"):
            return web.Response(status=204)
        result: dict[str, Any] = {
            "interaction": {
                "id": inter.id,
                "type": inter.type,
                "response_message_loading": ctype == 5,
                "response_message_ephemeral": bool(msg and msg["flags"] & FLAG_EPHEMERAL),
            }
        }
        if inter.original_message_id:
            result["interaction"]["response_message_id"] = inter.original_message_id
        result["resource"] = {"type": ctype}
        if msg is not None:
            result["resource"]["message"] = msg
        return _json(result)

    def _interaction_message(
        self, inter: FakeInteraction, channel: dict, body: dict, files: list[UploadedFile], flags: int
    ) -> dict:
        user = self.users[inter.user_id]
        metadata: dict[str, Any] = {
            "id": inter.id,
            "type": inter.type,
            "user": user,
            "authorizing_integration_owners": inter.payload["authorizing_integration_owners"],
        }
        extra: dict[str, Any] = {
            "webhook_id": self.application_id,
            "application_id": self.application_id,
            "interaction_metadata": metadata,
        }
        if inter.type == 2:
            metadata["name"] = inter.payload["data"]["name"]
            metadata["command_type"] = inter.payload["data"]["type"]
            extra["interaction"] = {"id": inter.id, "type": 2, "name": metadata["name"], "user": user}
        msg = self._build_message(
            channel,
            copy.deepcopy(self.bot_user),
            body,
            files,
            type_=20 if inter.type == 2 else 0,
            flags=flags,
            extra=extra,
        )
        self._store(msg)
        return msg

    def _webhook_interaction(self, ctx: _Ctx) -> FakeInteraction:
        inter = self._interactions_by_token.get(ctx.params["webhook_token"])
        if inter is None or ctx.params["webhook_id"] != self.application_id:
            raise UNKNOWN_WEBHOOK()
        if time.monotonic() - inter.created_at > 15 * 60:
            raise DiscordHTTPError(401, 50027, "Invalid Webhook Token")
        return inter

    def _interaction_message_id(self, inter: FakeInteraction, raw_id: str) -> str:
        mid = inter.original_message_id if raw_id == "@original" else raw_id
        if mid is None or (mid != inter.original_message_id and mid not in inter.followup_message_ids):
            raise UNKNOWN_MESSAGE()
        return mid

    @_route("POST", "/webhooks/{webhook_id}/{webhook_token}")
    async def _h_followup(self, ctx: _Ctx) -> web.Response:
        inter = self._webhook_interaction(ctx)
        if not inter.acknowledged:
            raise UNKNOWN_WEBHOOK()  # follow-ups need an initial response first
        body = ctx.json or {}
        self._check_message_body(body, ctx.files, creating=True)
        original = self.original_response(inter)
        if original is not None and not original.deleted and original.data["flags"] & FLAG_LOADING:
            # The first follow-up after a deferred ("thinking") response replaces that message.
            msg = self._apply_edit(original, body, ctx.files)
            await self._dispatch_message("MESSAGE_UPDATE", msg)
        else:
            msg = self._interaction_message(
                inter, self._channel(inter.channel_id), body, ctx.files, body.get("flags") or 0
            )
            inter.followup_message_ids.append(msg["id"])
            await self._dispatch_message("MESSAGE_CREATE", msg)
        if ctx.query.get("wait", "").lower() in ("1", "true"):
            return _json(msg)
        return web.Response(status=204)

    @_route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/@original")
    @_route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
    async def _h_webhook_get(self, ctx: _Ctx) -> web.Response:
        inter = self._webhook_interaction(ctx)
        mid = self._interaction_message_id(inter, ctx.params.get("message_id", "@original"))
        return _json(self._stored(inter.channel_id, mid).data)

    @_route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original")
    @_route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
    async def _h_webhook_edit(self, ctx: _Ctx) -> web.Response:
        inter = self._webhook_interaction(ctx)
        mid = self._interaction_message_id(inter, ctx.params.get("message_id", "@original"))
        self._check_message_body(ctx.json or {}, ctx.files, creating=False)
        msg = self._apply_edit(self._stored(inter.channel_id, mid), ctx.json or {}, ctx.files)
        await self._dispatch_message("MESSAGE_UPDATE", msg)
        return _json(msg)

    @_route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/@original")
    @_route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
    async def _h_webhook_delete(self, ctx: _Ctx) -> web.Response:
        inter = self._webhook_interaction(ctx)
        mid = self._interaction_message_id(inter, ctx.params.get("message_id", "@original"))
        await self._delete_message(self._stored(inter.channel_id, mid))
        return web.Response(status=204)

    # ------------------------------------------------------------------ REST: application commands

    def _scope(self, ctx: _Ctx) -> str | None:
        if ctx.params["application_id"] != self.application_id:
            raise MISSING_ACCESS()
        gid = ctx.params.get("guild_id")
        if gid is not None:
            self._guild(gid)
        return gid

    def _command(self, scope: str | None, body: dict, existing: dict | None) -> dict:
        cmd = {
            "id": existing["id"] if existing else self._ids.next(),
            "application_id": self.application_id,
            "version": self._ids.next(),
            "type": body.get("type") or 1,
            "name": body["name"],
            "name_localizations": body.get("name_localizations"),
            "description": body.get("description") or "",
            "description_localizations": body.get("description_localizations"),
            "options": body.get("options") or [],
            "nsfw": bool(body.get("nsfw")),
            "default_member_permissions": (
                None if body.get("default_member_permissions") is None else str(body["default_member_permissions"])
            ),
            "contexts": body.get("contexts"),
            "integration_types": body.get("integration_types") or [0],
        }
        if scope is None:
            cmd["dm_permission"] = body.get("dm_permission", True)
        else:
            cmd["guild_id"] = scope
        return cmd

    @_route("GET", "/applications/{application_id}/commands")
    @_route("GET", "/applications/{application_id}/guilds/{guild_id}/commands")
    async def _h_list_commands(self, ctx: _Ctx) -> web.Response:
        return _json(self._commands.get(self._scope(ctx), []))

    @_route("PUT", "/applications/{application_id}/commands")
    @_route("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
    async def _h_bulk_overwrite_commands(self, ctx: _Ctx) -> web.Response:
        scope = self._scope(ctx)
        self.command_put_calls.append((scope, time.monotonic(), ctx.json))
        old = {(c["name"], c["type"]): c for c in self._commands.get(scope, [])}
        new = [self._command(scope, b, old.get((b.get("name"), b.get("type") or 1))) for b in ctx.json or []]
        self._commands[scope] = new
        return _json(new)

    @_route("POST", "/applications/{application_id}/commands")
    @_route("POST", "/applications/{application_id}/guilds/{guild_id}/commands")
    async def _h_upsert_command(self, ctx: _Ctx) -> web.Response:
        scope, body = self._scope(ctx), ctx.json or {}
        commands = self._commands.setdefault(scope, [])
        old = next((c for c in commands if (c["name"], c["type"]) == (body.get("name"), body.get("type") or 1)), None)
        cmd = self._command(scope, body, old)
        commands[:] = [c for c in commands if c is not old] + [cmd]
        return _json(cmd, status=200 if old else 201)

    @_route("DELETE", "/applications/{application_id}/commands/{command_id}")
    @_route("DELETE", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
    async def _h_delete_command(self, ctx: _Ctx) -> web.Response:
        commands = self._commands.get(self._scope(ctx), [])
        if not any(c["id"] == ctx.params["command_id"] for c in commands):
            raise UNKNOWN_COMMAND()
        commands[:] = [c for c in commands if c["id"] != ctx.params["command_id"]]
        return web.Response(status=204)


# --------------------------------------------------------------------------- discord.py glue


@contextlib.contextmanager
def patched_discord(fake: FakeDiscord) -> Iterator[None]:
    """Point discord.py at the fake: REST base (read when each Route is built) and gateway URL.

    Non-sharded clients never call GET /gateway/bot: they connect straight to DEFAULT_GATEWAY,
    appending ?v=10&encoding=json&compress=zlib-stream, and RESUME against READY's resume_gateway_url.
    """
    import discord.gateway
    import discord.http
    import yarl

    old_base, old_gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = fake.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


@contextlib.asynccontextmanager
async def running_client(fake: FakeDiscord, client: Any, *, ready_within: float = 5.0) -> AsyncIterator[Any]:
    """Start `client` against the fake (patched), wait for on_ready, and close it afterwards.

    Build the client with a small guild_ready_timeout (e.g. 0.05): discord.py waits that long
    after the last GUILD_CREATE before on_ready (default 2 s).
    """
    with patched_discord(fake):
        task = asyncio.create_task(client.start(fake.token))
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + ready_within
            while not client.is_ready():
                if task.done():
                    task.result()  # re-raise why the client stopped (e.g. PrivilegedIntentsRequired)
                    raise RuntimeError("client stopped before becoming ready")
                if loop.time() > deadline:
                    raise TimeoutError("client did not become ready")
                await asyncio.sleep(0.01)
            yield client
        finally:
            await client.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, 5.0)

"""The gateway: HELLO, IDENTIFY, RESUME with replay, heartbeats, intents, sharding, and the events users cause."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import secrets
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.discord.http import _sid
from tests.fakes.discord.protocol import DISCORD_EPOCH_MS, ChannelType, Intents
from tests.fakes.discord.records import GatewayConnection, GatewayFrame, UploadedFile

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


class GatewayMixin:
    """The websocket side of the fake, and what simulated users do that reaches the bot as gateway events."""

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
        guilds = [
            gid
            for gid in self.guilds
            if session.receives("GUILD_CREATE", {"id": gid}) and self.bot_user["id"] in self.members[gid]
        ]  # only the servers the bot is in
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
        forward: dict | None = None,
    ) -> dict:
        """A user posts a message: store it and dispatch a full MESSAGE_CREATE. Returns the payload.

        attachments: (filename, bytes[, content_type]); served back at their `url` by the fake.
        Mention the bot with f"<@{fake.bot_user['id']}>" in content.
        forward: a stored message (payload) this one forwards: `message_reference.type` 1 (FORWARD) and one
            `message_snapshots` entry copying it, as Discord sends them; the forwarding message's own content is
            usually empty.
        Nothing is dispatched where the bot is not present (a group DM without it, a server it is not in).
        """
        channel = self._channel(channel_id)
        files = [
            UploadedFile(f"files[{i}]", a[0], a[2] if len(a) > 2 else "application/octet-stream", a[1])  # type: ignore[misc]
            for i, a in enumerate(attachments)
        ]
        body: dict[str, Any] = {"content": content, "embeds": list(embeds)}
        if reply_to is not None:
            body["message_reference"] = {"message_id": _sid(reply_to), "channel_id": channel["id"]}
        if forward is not None:
            body["_forward"] = (forward["channel_id"], forward["id"])
        msg = self._build_message(channel, copy.deepcopy(self._user(author)), body, files)
        self._store(msg)
        if dispatch and self.bot_sees(channel["id"]):
            await self.dispatch("MESSAGE_CREATE", msg)
        return msg

    async def message_update(self, channel_id: Any, message_id: Any, content: str) -> dict:
        """A user edits their message."""
        stored = self._stored(_sid(channel_id), _sid(message_id))
        msg = self._apply_edit(stored, {"content": content}, [])
        await self._dispatch_message("MESSAGE_UPDATE", msg)
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

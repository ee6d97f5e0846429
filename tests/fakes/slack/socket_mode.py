"""Socket Mode: envelopes over a websocket, acks, redeliveries, disconnects, and what users post."""

# Timeouts are part of this test helper's API (wait_ack(envelope_id, timeout), ...).
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.slack.records import UserPost


class SocketModeMixin:
    """The websocket Slack delivers events on, and the posts of simulated users."""

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

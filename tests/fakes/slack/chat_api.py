"""Web API methods: auth, OAuth installs, Socket Mode's connections.open, chat.* and native streaming."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.fakes.slack.blocks import TASK_DISPLAY_MODES, check_chunks
from tests.fakes.slack.protocol import _ApiError, _chunks_text, _flag
from tests.fakes.slack.records import Channel, StoredMessage, StreamState


class ChatApiMixin:
    """Handlers of the Web API's auth, oauth, apps.connections and chat methods (see FakeSlack._handlers)."""

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

    def expire_streams_after(self, calls: int) -> None:
        """The native stream that takes the `calls`-th chat.startStream or chat.appendStream from now expires right
        after it, as Slack ends a stream about 5 minutes old (`stream_ttl`): its later appends and its stop are
        refused with message_not_in_streaming_state."""
        self._expire_countdown: int | None = calls

    def _count_towards_expiry(self, msg: StoredMessage) -> None:
        left = getattr(self, "_expire_countdown", None)
        if left is None:
            return
        if left <= 1:
            assert msg.stream is not None
            msg.stream.state = "expired"
            self._expire_countdown = None
        else:
            self._expire_countdown = left - 1

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

    @staticmethod
    def _stream_parts(p: dict) -> list:
        """What one streaming call adds to the message, in order: its markdown_text, then its chunks' text and
        blocks (tool progress is drawn apart from the text)."""
        parts: list = [p["markdown_text"]] if p.get("markdown_text") else []
        for chunk in p.get("chunks") or []:
            if chunk.get("type") == "markdown_text" and chunk.get("text"):
                parts.append(chunk["text"])
            elif chunk.get("type") == "blocks":
                parts.extend(chunk["blocks"])
        return parts

    def _stream_add(self, msg: StoredMessage, p: dict, method: str) -> None:
        st = msg.stream
        assert st is not None
        added = (p.get("markdown_text") or "") + _chunks_text(p.get("chunks"))
        st.parts.extend(self._stream_parts(p))
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
        check_chunks(p.get("chunks"))
        mode = p.get("task_display_mode", "timeline")
        if mode not in TASK_DISPLAY_MODES:
            raise _ApiError("invalid_arguments")
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
            parts=self._stream_parts(p),
            task_display_mode=mode,
        )
        self._count_towards_expiry(msg)
        return {"channel": ch.id, "ts": msg.ts, **self._stream_started(ch.id, msg.thread_ts or msg.ts)}

    def _chat_append_stream(self, p: dict) -> dict:
        ch, msg = self._streaming_message(p)
        if msg.stream is not None and msg.stream.stopped_by_user:
            raise _ApiError("stopped_by_user")  # the person pressed Slack's Stop (tests/fakes/slack/agents.py)
        self._check_lengths(markdown_text=p.get("markdown_text"))
        check_chunks(p.get("chunks"))
        self._stream_add(msg, p, "chat.appendStream")
        assert msg.stream is not None
        msg.stream.appends += 1
        self._count_towards_expiry(msg)
        return {"channel": ch.id, "ts": msg.ts}

    def _chat_stop_stream(self, p: dict) -> dict:
        ch, msg = self._streaming_message(p)
        self._check_lengths(markdown_text=p.get("markdown_text"), blocks=p.get("blocks"))
        check_chunks(p.get("chunks"))
        self._stream_stopped(ch.id, msg.thread_ts, p)  # session_status=…
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

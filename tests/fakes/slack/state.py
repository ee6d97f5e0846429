"""The workspace's state: users, channels, messages and files, ids, and messages as the Web API returns them."""

# Timeouts are part of this test helper's API (wait_ack(envelope_id, timeout), ...).
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from tests.fakes.slack.protocol import _EVENT_CHANNEL_TYPE, _ApiError
from tests.fakes.slack.records import Channel, StoredMessage


class StateMixin:
    """Setup helpers for tests, and the lookups and payloads the Web API methods share."""

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
        is_restricted: bool = False,
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
            "is_restricted": is_restricted,  # a guest: sees only the channels they were invited to
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
            "profile": {"real_name": real, "display_name": name, "team": self.team_id},
        }
        return self.users[user_id]

    def add_channel(
        self,
        channel_id: str,
        type: str = "channel",
        *,
        name: str = "",
        user: str | None = None,
        members: list[str] | None = None,
    ) -> Channel:
        """type: "channel" (public), "private", "im" (give `user`) or "mpim". `members`: who is in it (the bot
        reads it only if it is among them); None: everyone."""
        assert type in _EVENT_CHANNEL_TYPE, type
        self.channels[channel_id] = Channel(channel_id, type, name or channel_id.lower(), user, members=members)
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

    def add_audio_clip(self, content: bytes, seconds: float, *, user: str | None = None) -> dict:
        """An audio clip recorded in Slack, as its `files` entry: an MP4 container (AAC) whose `subtype` is
        `slack_audio`, named `audio_message.mp4` and typed `audio/mp4` (clips recorded on some clients are labelled
        `video/mp4` although they hold only audio), with its length in `duration_ms`."""
        file = self.add_user_file("audio_message.mp4", content, "audio/mp4", user=user)
        file.update(
            subtype="slack_audio",
            filetype="mp4",
            pretty_type="MPEG 4 Video",
            media_display_type="audio",
            duration_ms=int(seconds * 1000),
        )
        return file

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

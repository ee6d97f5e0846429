"""Payloads as Slack sends them: event callbacks, messages, mentions, assistant threads, commands, actions."""

from __future__ import annotations

import base64
import time
import uuid

from tests.fakes.slack.protocol import _EVENT_CHANNEL_TYPE
from tests.fakes.slack.records import StoredMessage


class EventBuildersMixin:
    """Builders of events, slash commands and interactive payloads."""

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

"""Slack's agent sessions (2026): a thread the app streams into is a session with a status and a title; the user's
native Stop and renames arrive as events. Sources: shared/PLATFORM-FACTS.md ("Agent sessions"), the method
reference (specs/slack-api-ref: agents.sessions.setStatus, agents.sessions.rename) and the event pages on
docs.slack.dev (agent_session_stopped, agent_session_title_changed: their payloads as shown there).

What the fake does, as Slack does:
- `chat.startStream` in a thread opens its session (status `processing`) if it has none; `agents.sessions.setStatus`
  sets the status (creating the session, with its `title`, if there is none); `chat.stopStream(session_status=…)`
  sets it in the same call; `agents.sessions.rename` renames an existing session (`session_not_found` otherwise).
- `user_stops(...)`: the person presses Stop. Slack stops the app's streams in that thread (an append then fails
  with `stopped_by_user`; `chat.stopStream` still closes them) and sends `agent_session_stopped` with their ts in
  `streaming_message_ts`. The session status does not change by itself: the app moves it off `processing`.
- An app whose subscriptions (`subscribed_events`, from its manifest) lack `agent_session_stopped` gets the warning
  `missing_agent_session_stopped_event_subscription` on `agents.sessions.setStatus` and `chat.startStream`, and the
  user's Stop sends nothing (Slack shows a loading indicator that cannot be pressed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.slack.protocol import _ApiError

SESSION_STATUSES = ("active", "processing", "suspended", "closed")
STOP_EVENT = "agent_session_stopped"
MISSING_STOP_SUBSCRIPTION = "missing_agent_session_stopped_event_subscription"


@dataclass
class AgentSession:
    channel: str
    thread_ts: str
    status: str = "processing"
    title: str = ""
    statuses: list[tuple[float, str, str]] = field(default_factory=list)  # (monotonic, status, how it was set)
    titles: list[tuple[str, str]] = field(default_factory=list)  # (title, "app" | "user")

    def set_status(self, status: str, how: str) -> None:
        self.status = status
        self.statuses.append((time.monotonic(), status, how))


class AgentSessionsMixin:
    """Agent sessions, the native Stop and session titles (see the module's docstring)."""

    def _init_agent_sessions(self, subscribed_events: set[str] | frozenset[str] | None) -> None:
        # None: subscriptions are not checked; else the bot events of the app's manifest
        self.subscribed_events = None if subscribed_events is None else set(subscribed_events)
        self.agent_sessions: dict[tuple[str, str], AgentSession] = {}
        self.warnings: list[tuple[str, str]] = []  # (method, warning) Slack answered with
        self._handlers.update(
            {
                "agents.sessions.setStatus": self._agents_sessions_set_status,
                "agents.sessions.rename": self._agents_sessions_rename,
            }
        )

    @property
    def stop_subscribed(self) -> bool:
        return self.subscribed_events is None or STOP_EVENT in self.subscribed_events

    def _session_warning(self, method: str) -> dict[str, Any]:
        if self.stop_subscribed:
            return {}
        self.warnings.append((method, MISSING_STOP_SUBSCRIPTION))
        return {"warning": MISSING_STOP_SUBSCRIPTION, "response_metadata": {"warnings": [MISSING_STOP_SUBSCRIPTION]}}

    def session(self, channel: str, thread_ts: str) -> AgentSession | None:
        return self.agent_sessions.get((channel, thread_ts))

    def _session_for(self, channel: str, thread_ts: str | None) -> AgentSession | None:
        if not thread_ts:
            return None
        root = self._thread_root(self._channel(channel), thread_ts) or thread_ts
        return self.agent_sessions.get((channel, root))

    def _open_session(self, channel: str, thread_ts: str, how: str, title: str = "") -> AgentSession:
        key = (channel, thread_ts)
        session = self.agent_sessions.get(key)
        if session is None:
            session = self.agent_sessions[key] = AgentSession(channel, thread_ts, title=title)
            session.set_status("processing", how)
            if title:
                session.titles.append((title, "app"))
        return session

    def _session_threads(self, p: dict) -> tuple[str, str]:
        ch = self._channel(p.get("channel_id"))
        thread_ts = p.get("thread_ts")
        if not thread_ts:
            raise _ApiError("thread_ts_required")  # every session here is a thread's (no session channels)
        return ch.id, self._thread_root(ch, thread_ts) or thread_ts

    def _agents_sessions_set_status(self, p: dict) -> dict:
        status = p.get("status")
        if status not in SESSION_STATUSES:
            raise _ApiError("invalid_status")
        channel, thread_ts = self._session_threads(p)
        existing = self.agent_sessions.get((channel, thread_ts))
        session = self._open_session(channel, thread_ts, "agents.sessions.setStatus", str(p.get("title") or "")[:200])
        if existing is not None or status != "processing":
            session.set_status(status, "agents.sessions.setStatus")
        return self._session_warning("agents.sessions.setStatus")

    def _agents_sessions_rename(self, p: dict) -> dict:
        title = p.get("title")
        if not isinstance(title, str) or not 1 <= len(title) <= 200:
            raise _ApiError("invalid_arguments")
        channel, thread_ts = self._session_threads(p)
        session = self.agent_sessions.get((channel, thread_ts))
        if session is None:
            raise _ApiError("session_not_found")
        session.title = title
        session.titles.append((title, "app"))
        return {}

    # what chat.*Stream do to sessions (called by ChatApiMixin)
    def _stream_started(self, channel: str, thread_ts: str) -> dict:
        self._open_session(channel, thread_ts, "chat.startStream")
        return self._session_warning("chat.startStream")

    def _stream_stopped(self, channel: str, thread_ts: str | None, p: dict) -> None:
        status = p.get("session_status")
        if status is None:
            return
        if status not in SESSION_STATUSES:
            raise _ApiError("invalid_arguments")
        session = self._session_for(channel, thread_ts)
        if session is not None:
            session.set_status(status, "chat.stopStream")

    # Block Kit's context_actions block (slack-sdk ContextActionsBlock, FeedbackButtonsElement; docs.slack.dev
    # block-kit reference): feedback_buttons only inside it, at most 5 elements, button text <= 75, value <= 2000
    def _check_context_actions(self, blocks: list) -> None:
        for block in blocks:
            if not isinstance(block, dict):
                continue
            elements = block.get("elements") or []
            if block.get("type") != "context_actions":
                if any(isinstance(e, dict) and e.get("type") == "feedback_buttons" for e in elements):
                    raise _ApiError("invalid_blocks")
                continue
            if not 1 <= len(elements) <= 5:
                raise _ApiError("invalid_blocks")
            for element in elements:
                if element.get("type") not in ("feedback_buttons", "icon_button"):
                    raise _ApiError("invalid_blocks")
                if element["type"] != "feedback_buttons":
                    continue
                for side in ("positive_button", "negative_button"):
                    button = element.get(side) or {}
                    text, value = (button.get("text") or {}).get("text"), button.get("value")
                    if (
                        not isinstance(text, str)
                        or not 0 < len(text) <= 75
                        or (button["text"].get("type") != "plain_text")
                    ):
                        raise _ApiError("invalid_blocks")
                    if not isinstance(value, str) or not 0 < len(value) <= 2000:
                        raise _ApiError("invalid_blocks")

    # what people do
    async def user_stops(
        self, channel: str, thread_ts: str, *, user: str | None = None, deliver: bool = True
    ) -> str | None:
        """The person presses the native Stop in a thread: Slack stops the app's streams there and (if the app is
        subscribed, and `deliver`) sends `agent_session_stopped` over Socket Mode. Returns the envelope id."""
        ch = self._channel(channel)
        stopped = []
        for msg in self._thread_messages(ch, thread_ts):
            st = msg.stream
            if msg.bot_id == self.bot_id and st is not None and st.state == "streaming" and not st.stopped_by_user:
                st.stopped_by_user = True
                stopped.append(msg.ts)
        if not deliver or not self.stop_subscribed:
            return None
        return await self.socket_send_event(self.build_agent_session_stopped(channel, thread_ts, stopped, user=user))

    def build_agent_session_stopped(
        self, channel: str, thread_ts: str, streaming_message_ts: list[str], *, user: str | None = None
    ) -> dict:
        return {
            "type": STOP_EVENT,
            "channel": channel,
            "thread_ts": thread_ts,
            "streaming_message_ts": list(streaming_message_ts),
            "user": user or self.default_user_id,
            "event_ts": self._next_ts(),
        }

    def build_agent_session_title_changed(self, channel: str, thread_ts: str, title: str, *, user: str | None = None):
        """The person renames the session in Slack (the fake's session takes the title, as Slack's does)."""
        session = self._session_for(channel, thread_ts)
        event = {
            "type": "agent_session_title_changed",
            "channel": channel,
            "thread_ts": thread_ts,
            "title": title,
            "team_id": self.team_id,
            "user": user or self.default_user_id,
            "event_ts": self._next_ts(),
        }
        if session is not None:
            if session.title:
                event["previous_title"] = session.title
            session.title = title
            session.titles.append((title, "user"))
        return event

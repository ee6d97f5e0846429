"""Slack's agent sessions: a thread the bot answers in is a session (its status: `processing` while an answer is
worked on, `active` after, set by the sink, bots/slack/sink.py), with Slack's native Stop while an answer
streams. Pressing it sends `agent_session_stopped` (Slack has already stopped the streams it lists in
`streaming_message_ts`; appending to them fails with `stopped_by_user`, which the sink turns into the core's
StoppedByUser). This module only translates: the stop is the core's, the same as the Stop button and `@bot stop`
(core/replies/scheduler.py), with the same rule on who may stop. A title the person gives the session
(`agent_session_title_changed`) becomes the conversation's, and the auto-titler leaves it alone.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bots.slack.adapter import PLATFORM, SlackAdapter
from core.errors import UserFacingError
from core.keys import ConversationKey

log = logging.getLogger(__name__)


class AgentSessions:
    def __init__(self, slack: SlackAdapter):
        self.slack = slack
        self.chat = slack.chat

    def register(self, app: AsyncApp) -> None:
        app.event("agent_session_stopped")(self.on_stopped)
        app.event("agent_session_title_changed")(self.on_title_changed)

    async def on_stopped(self, event: dict, context: Any) -> None:
        channel, thread, user = event.get("channel"), event.get("thread_ts"), event.get("user")
        team = context.get("team_id") or event.get("team") or ""
        if not (channel and thread and user):
            return
        conversation = await self.chat.conversations.for_key(ConversationKey(PLATFORM, team, channel, thread))
        if conversation is None:
            return
        actor = await self.slack.actor(team, user)
        try:
            stopped = await self.chat.replies.stop(conversation.id, actor)
        except UserFacingError as exc:  # not theirs to stop: say so to them alone
            await self.slack.tell(channel, user, str(exc), thread)
            return
        log.info("native stop in conversation %s: %s", conversation.id, "stopped" if stopped else "nothing to stop")
        if not stopped:  # no answer here to end (and so to set it): Slack leaves the status to the app
            await self.slack.assistant_call(
                "agents.sessions.setStatus", channel_id=channel, thread_ts=thread, status="active"
            )

    async def on_title_changed(self, event: dict, context: Any) -> None:
        channel, thread, title = event.get("channel"), event.get("thread_ts"), event.get("title")
        team = context.get("team_id") or event.get("team_id") or ""
        if channel and thread and isinstance(title, str):
            await self.chat.title_set_by_user(ConversationKey(PLATFORM, team, channel, thread), title)

"""Identities shared by every front end: who wrote something, and which conversation it belongs to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Where a conversation lives: a Discord thread, a Slack `channel + thread_ts`, a DM, a console session.

    `workspace` is the Discord guild or Slack team ("" for DMs without one); `thread` is "" when the
    channel itself is the conversation (a DM's current conversation gets a synthetic thread id).
    """

    platform: str
    workspace: str
    channel: str
    thread: str = ""

    def __str__(self) -> str:  # used in logs: ids only, never text
        return f"{self.platform}:{self.workspace}/{self.channel}/{self.thread}"


@dataclass(frozen=True, slots=True)
class Actor:
    """A person acting on the bot, as the platform vouches for them.

    `is_admin` must come from the platform's own permission data (Manage Server, workspace admin),
    computed by the adapter from the event, never from anything the user typed.
    """

    platform: str
    user_id: str
    display_name: str = ""
    workspace: str = ""
    is_admin: bool = False

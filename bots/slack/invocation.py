"""One use of a text command (`/settings ...`, `/hfchat usage`, `@me set ...`): who, where, and how to answer
only them. The words are read by core.commands.text (shared with the terminal); every action is one call on the
core, which checks who may do it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bots.slack.adapter import PLATFORM, REPLY_TEXT_CHARS, SlackAdapter
from bots.slack.text import neutralize
from bots.slack.views import clip, markdown_blocks
from core.keys import ConversationKey

Reply = Callable[..., Awaitable[None]]


@dataclass
class Invocation:
    """One use of a text command: who, where, and how to answer only them."""

    team: str
    channel: str
    user: str
    reply: Reply  # reply(markdown, blocks=[...]): only the user sees it
    usage: str  # how the user called the command, for hints: "/settings", "/hfchat assistant", "@me set"
    trigger_id: str = ""  # lets a command open a form (slash commands have one)
    thread: str = ""  # the conversation "here": the thread it was typed in, or a DM's current one
    in_thread: bool = False  # typed in a thread (`@me ...`)
    domain: str = ""  # the workspace's domain when the request says it (a slash command's team_domain)

    @property
    def key(self) -> ConversationKey:
        return ConversationKey(PLATFORM, self.team, self.channel, self.thread)


async def slash_invocation(slack: SlackAdapter, command: dict, respond: Any, usage: str) -> Invocation:
    team, channel, user = command["team_id"], command["channel_id"], command["user_id"]
    thread = ""
    if channel.startswith("D"):  # a DM's current conversation is "here"
        current = await slack.chat.dms.current_if_any(PLATFORM, team, channel)
        thread = current.thread if current else ""

    async def reply(text: str, blocks: list[dict] | None = None) -> None:
        text = neutralize(text)
        await respond(
            text=clip(text, REPLY_TEXT_CHARS),
            blocks=markdown_blocks(text) + (blocks or []),
            response_type="ephemeral",
            replace_original=False,
        )

    return Invocation(
        team,
        channel,
        user,
        reply,
        usage,
        command.get("trigger_id") or "",
        thread,
        domain=command.get("team_domain") or "",
    )


def thread_invocation(
    slack: SlackAdapter, key: ConversationKey, user: str, usage: str, *, in_thread: bool = True
) -> Invocation:
    """A command written in a message (`@me set ...`): "here" is its thread when it was written in one."""

    async def reply(text: str, blocks: list[dict] | None = None) -> None:
        await slack.ephemeral(key.channel, user, text, key.thread, blocks)

    return Invocation(
        key.workspace, key.channel, user, reply, usage, thread=key.thread if in_thread else "", in_thread=in_thread
    )

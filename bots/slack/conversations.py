"""`/conversations` (yours in this workspace, newest first, with links), `/export [N | thread link] [json]` (a file
in your DM) and erasing a thread's conversation: only its owner or an admin may export or erase one, the core
checks."""

from __future__ import annotations

import asyncio
import time

from slack_sdk.errors import SlackApiError

from bots.slack.adapter import SlackAdapter
from bots.slack.invocation import Invocation
from bots.slack.text import parse_thread_link
from bots.slack.views import clip
from core.commands.text import parse_export
from core.conversations.service import NOTHING_STORED
from core.errors import InvalidSetting, NotFound
from core.keys import Actor, ConversationKey
from core.records import Conversation

CONVERSATIONS_SHOWN = 20
DELETED = "Deleted. This conversation's stored history is erased."


def _link_text(text: str) -> str:
    return clip(" ".join(text.replace("[", "(").replace("]", ")").split()), 80)


async def _permalink(slack: SlackAdapter, key: ConversationKey) -> str:
    try:
        return (await slack.client.chat_getPermalink(channel=key.channel, message_ts=key.thread))["permalink"]
    except SlackApiError:
        return ""  # the thread's first message is gone; the conversation is still listed


async def conversations(slack: SlackAdapter, inv: Invocation, text: str) -> None:
    actor = await slack.actor(inv.team, inv.user)
    items = await slack.chat.conversations.list(actor, CONVERSATIONS_SHOWN, workspace=inv.team)
    if not items:
        await inv.reply("You have no stored conversations here. Mention me in a channel, or write to me.")
        return
    links = await asyncio.gather(*(_permalink(slack, c.key) for c in items))
    lines = []
    for number, (conversation, link) in enumerate(zip(items, links, strict=True), 1):
        title = _link_text(conversation.title or "(untitled)")
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(conversation.updated_at))
        lines.append(f"{number}. [{title}]({link}) · {when} UTC" if link else f"{number}. {title} · {when} UTC")
    await inv.reply(
        "**Your conversations**, newest first\n"
        + "\n".join(lines)
        + "\n\n`/export N` (or `/export N json`) downloads one; `/delete <thread link>` erases one."
    )


async def _export_target(slack: SlackAdapter, inv: Invocation, actor: Actor, target: str) -> Conversation:
    """The conversation `/export` names: a number from `/conversations`, a thread link, or the one here (the
    core's rule: ConversationService.named_or_here)."""
    linked = None
    if target and not target.isdigit():
        if parse_thread_link(target) is None:
            raise InvalidSetting("Give a thread link (Copy link on a message) or a number from `/conversations`.")
        linked = await slack.linked_thread(inv.team, target, inv.domain)
    number = target if target.isdigit() else ""
    conversation = await slack.chat.conversations.named_or_here(
        actor, inv.key, number, linked=linked, listed_in=inv.team
    )
    if conversation is None:
        if inv.thread:
            raise NotFound(NOTHING_STORED)
        raise InvalidSetting(f"Which one? `{inv.usage} N [json]`, N from `/conversations`, or a thread link.")
    return conversation


async def export(slack: SlackAdapter, inv: Invocation, text: str) -> None:
    target, fmt = parse_export(text)
    actor = await slack.actor(inv.team, inv.user, fresh=True)
    conversation = await _export_target(slack, inv, actor, target)
    if fmt == "json":
        content, label = await slack.chat.conversations.export_json(conversation.id, actor), "JSON"
    else:
        content, label = await slack.chat.conversations.export_markdown(conversation.id, actor), "Markdown"
    title = clip(" ".join((conversation.title or "untitled").split()), 80)
    dm = await slack.dm_channel(inv.user)
    await slack.upload(dm, f"conversation-{conversation.id}.{fmt}", content, title, f"“{title}” as {label}")
    where = "here" if dm == inv.channel else "in our direct messages"
    await inv.reply(f"Exported “{title}” as {label}: the file is {where}.")


async def delete_thread(slack: SlackAdapter, key: ConversationKey, actor: Actor) -> str:
    """Erase the conversation of a thread (`/delete <link>`, `@me delete`, the Delete shortcut); what to say."""
    await slack.chat.conversations.delete((await slack.chat.conversations.stored_at(key)).id, actor)
    return DELETED

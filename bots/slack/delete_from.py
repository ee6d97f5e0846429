"""The "Delete from here" message shortcut: a message of a conversation and everything after it go from the
store (owner or admin, checked by the core), and so do the bot's replies from there on in the thread."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bots.slack.calls import message_id
from core.chat import DeletedFrom
from core.errors import NotFound, UserFacingError

log = logging.getLogger(__name__)

CALLBACK_ID = "delete_from_here"
PAGES = 20  # conversations.replies pages read at most (200 messages each)


async def delete_from_here(adapter: Any, body: dict) -> str:
    """Do it for a message shortcut's payload; returns what to tell the person (only they see it)."""
    message = body.get("message") or {}
    team, user, channel = body["team"]["id"], body["user"]["id"], body["channel"]["id"]
    ts = message.get("ts") or body.get("message_ts", "")
    actor = await adapter.actor(team, user, fresh=True)  # admin rights as Slack says now
    try:
        try:
            deleted = await adapter.chat.conversations.delete_from_message(message_id(channel, ts), actor)
        except NotFound:
            # only an answer's first message is stored: a later part of a long answer stands for that answer
            start = await _answer_start(adapter, channel, message) if adapter.ours(message) else None
            if start is None:
                raise
            ts = start
            deleted = await adapter.chat.conversations.delete_from_message(message_id(channel, ts), actor)
    except UserFacingError as exc:
        return str(exc)
    removed = await _remove_replies(adapter, channel, ts, deleted)
    count = len(deleted.messages)
    mine = f" and {removed} of my replies" if removed else ""
    return f"Deleted {count} stored message{'s' if count != 1 else ''} from there on{mine}."


async def _replies(adapter: Any, channel: str, thread: str, **window: str) -> list[dict]:
    """The thread's replies within `window` (oldest/latest), every page, oldest first."""
    found: list[dict] = []
    cursor = None
    for _ in range(PAGES):
        response = await adapter.client.conversations_replies(
            channel=channel, ts=thread, limit=200, cursor=cursor, inclusive=True, **window
        )
        found += response.get("messages") or []
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return found


async def _answer_start(adapter: Any, channel: str, message: dict) -> str | None:
    """The ts of the stored first message of the answer `message` continues, if it does."""
    thread = message.get("thread_ts")
    if not thread:
        return None
    try:
        earlier = await _replies(adapter, channel, thread, latest=message["ts"])
    except SlackApiError:
        return None
    for reply in reversed([r for r in earlier if float(r["ts"]) < float(message["ts"])]):
        if not adapter.ours(reply):
            return None  # someone wrote in between: not the same answer
        if await adapter.chat.conversations.of_message("slack", message_id(channel, reply["ts"])) is not None:
            return reply["ts"]
    return None


async def _remove_replies(adapter: Any, channel: str, since: str, deleted: DeletedFrom) -> int:
    """Delete the bot's messages in the conversation's thread from `since` on."""
    thread = deleted.conversation.key.thread
    try:
        replies = await _replies(adapter, channel, thread, oldest=since)
    except SlackApiError as exc:
        log.warning("conversations.replies failed: %s", exc.response.get("error"))
        return 0
    removed = 0
    for reply in replies:
        if not adapter.ours(reply) or float(reply["ts"]) < float(since):
            continue
        try:
            await adapter.client.chat_delete(channel=channel, ts=reply["ts"])
            removed += 1
        except SlackApiError as exc:
            log.warning("chat.delete failed: %s", exc.response.get("error"))
    return removed

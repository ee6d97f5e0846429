"""Catch me up on Slack: `/catchup [#channel] [since]` and the "Summarize thread" message shortcut. What the person
may read is Slack's answer for them (they are in the channel: conversations.members; a public channel is open to
any full member, not to guests), the history is read within the app's limits (conversations.history and .replies:
for apps distributed outside the Marketplace, 1 request a minute and 15 messages; SLACK_HISTORY_PER_MINUTE and
SLACK_HISTORY_ITEMS), and the summary goes to a thread of the person's DM with the bot, where they can go on.
The rules and the prompt are the core's (core.catchup)."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_sdk.errors import SlackApiError

from bots.slack.adapter import PLATFORM, SlackAdapter
from bots.slack.calls import retry_after, slack_error
from bots.slack.invocation import Invocation
from bots.slack.text import strip_mention
from core.catchup import Digest, HistoryLimits, HistoryMessage, HistoryPage, HistoryRateLimited, ReadAccess
from core.errors import NotAllowed, UserFacingError
from core.keys import ConversationKey

log = logging.getLogger(__name__)

SHORTCUT = "summarize_thread"
CHANNEL_REF = re.compile(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>")  # how Slack escapes a channel in a command's text
MEMBER_PAGES = 50
READ_SUBTYPES = (None, "file_share", "thread_broadcast", "bot_message")


def history_limits(settings: Any) -> HistoryLimits:
    items, per_minute = settings.slack_history_items, settings.slack_history_per_minute
    minute = "one request a minute" if per_minute == 1 else f"{per_minute} requests a minute"
    return HistoryLimits(
        per_request=items,
        requests=1,
        per_minute=per_minute,
        explained=f"Slack lets this app read channel history {minute}, {items} messages at a time.",
    )


def permalink(domain: str, channel: str, ts: str, thread_ts: str | None = None) -> str:
    """A message's link, as chat.getPermalink builds it (without a call per message)."""
    link = f"https://{domain or 'app'}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    if thread_ts and thread_ts != ts:
        link += f"?thread_ts={thread_ts}&cid={channel}"
    return link


class SlackHistory:
    """A channel (or one thread of it) as the core's HistorySource sees it, for the person who asked."""

    platform = PLATFORM

    def __init__(self, slack: SlackAdapter, team: str, user: str, channel: str, *, thread_ts: str = ""):
        self.slack = slack
        self.workspace, self.user, self.channel, self.thread_ts = team, user, channel, thread_ts
        self.thread = bool(thread_ts)
        self.limits = history_limits(slack.core.settings)
        self.place = "this channel"
        self._info: dict = {}

    async def describe(self) -> None:
        try:
            self._info = (await self.slack.client.conversations_info(channel=self.channel))["channel"]
        except SlackApiError as exc:
            raise NotAllowed(f"I can't see that channel ({slack_error(exc)}).") from None
        name = self._info.get("name")
        where = f"#{name}" if name else "this conversation"
        self.place = f"a thread in {where}" if self.thread else where

    async def access(self) -> ReadAccess:
        if self._info.get("is_im"):
            return ReadAccess(self._info.get("user") == self.user, "That is someone else's conversation.")
        if await self._member():
            return ReadAccess(True)
        if not self._info.get("is_private") and not self._info.get("is_mpim"):
            info = await self._user_info()
            if info and not (info.get("is_restricted") or info.get("is_ultra_restricted")):
                return ReadAccess(True)  # a public channel: open to every full member of the workspace
        return ReadAccess(False, f"You are not in {self.place}, so I won't summarize it for you.")

    async def _member(self) -> bool:
        cursor = None
        for _ in range(MEMBER_PAGES):
            try:
                page = await self.slack.client.conversations_members(channel=self.channel, limit=200, cursor=cursor)
            except SlackApiError as exc:
                log.info("conversations.members failed: %s", slack_error(exc))
                return False
            if self.user in (page.get("members") or []):
                return True
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return False
        return False

    async def _user_info(self) -> dict:
        try:
            return (await self.slack.client.users_info(user=self.user))["user"]
        except SlackApiError as exc:
            log.info("users.info failed: %s", slack_error(exc))
            return {}

    async def read(self, since: float, limit: int) -> HistoryPage:
        client = self.slack.client
        window = {"oldest": f"{since:.6f}"} if since else {}
        try:
            if self.thread:
                response = await client.conversations_replies(
                    channel=self.channel, ts=self.thread_ts, limit=limit, **window
                )
            else:
                response = await client.conversations_history(channel=self.channel, limit=limit, **window)
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                raise HistoryRateLimited(retry_after(exc)) from None
            if slack_error(exc) == "not_in_channel":
                raise NotAllowed(f"I'm not in {self.place}: invite me there first.") from None
            raise NotAllowed(f"Slack would not let me read {self.place} ({slack_error(exc)}).") from None
        found = [m for m in response.get("messages") or [] if m.get("subtype") in READ_SUBTYPES]
        if not self.thread:
            found.reverse()  # history comes newest first
        domain = await self.slack.workspace_domain(self.workspace)
        messages = [await self._message(m, domain) for m in found[:limit]]
        return HistoryPage([m for m in messages if m.text or m.files], bool(response.get("has_more")))

    async def _message(self, message: dict, domain: str) -> HistoryMessage:
        text, _ = strip_mention(message.get("text") or "", self.slack.bot_user_id)
        user = message.get("user")
        if user:
            author = (await self.slack.actor(self.workspace, user)).display_name or user
        else:
            author = (message.get("bot_profile") or {}).get("name") or message.get("username") or "a bot"
        ts = str(message.get("ts") or "0")
        return HistoryMessage(
            author=author,
            text=text,
            link=permalink(domain, self.channel, ts, message.get("thread_ts")),
            sent_at=float(ts),
            files=tuple(str(f.get("name") or "file") for f in message.get("files") or [] if isinstance(f, dict)),
            replies=int(message.get("reply_count") or 0) if not self.thread else 0,
        )


async def catch_up(slack: SlackAdapter, source: SlackHistory, since: str, tell: Any) -> None:
    """Read (the core checks and limits), then the summary in a thread of the person's DM with the bot."""
    team, user = source.workspace, source.user
    await source.describe()
    actor = await slack.actor(team, user)
    opened: list[str] = []

    async def open_in_dm(digest: Digest) -> tuple[ConversationKey, Any]:
        dm = await slack.dm_channel(user)
        root = await slack.post_root(dm, digest.header)
        opened.append(dm)
        return ConversationKey(PLATFORM, team, dm, root["ts"]), slack.sink(team, dm, root["ts"], user)

    submitted = await slack.chat.catch_up(actor, source, since, open_in_dm)
    slack.track_reply(submitted.reply)
    await tell("Your catch-up is in your direct messages with me, where you can ask more about it.")


async def catchup_command(slack: SlackAdapter, invocation: Invocation, text: str) -> None:
    """`/catchup [#channel] [since]` (also `/hfchat catchup ...`)."""
    if invocation.channel.startswith("D") and not CHANNEL_REF.search(text):
        raise NotAllowed("Name the channel: `/catchup #channel [since]`, or use it in that channel.")
    match = CHANNEL_REF.search(text)
    if match is None and re.search(r"(^|\s)#\S", text):
        raise NotAllowed("Pick the channel from Slack's list as you type `#`, so I get which one it is.")
    channel = match.group(1) if match else invocation.channel
    since = CHANNEL_REF.sub("", text).strip()
    source = SlackHistory(slack, invocation.team, invocation.user, channel)
    await catch_up(slack, source, since, invocation.reply)


async def summarize_thread_shortcut(slack: SlackAdapter, body: dict) -> None:
    """The "Summarize thread" message shortcut: the thread the message is in (or starts)."""
    message = body.get("message") or {}
    team, user, channel = body["team"]["id"], body["user"]["id"], body["channel"]["id"]
    thread_ts = message.get("thread_ts") or message.get("ts") or body.get("message_ts", "")

    async def tell(text: str) -> None:
        await slack.tell(channel, user, text, message.get("thread_ts"))

    try:
        await catch_up(slack, SlackHistory(slack, team, user, channel, thread_ts=thread_ts), "", tell)
    except UserFacingError as exc:
        await tell(str(exc))

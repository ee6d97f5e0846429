"""Whether and where a message is answered, decided once for every platform.

An adapter describes the message (`IncomingMessage`: where it was written, by whom, whether it mentions the bot
or replies to one of its answers) and does what the `Route` says. The rules:

- Other bots are not answered unless ALLOW_BOTS says so (`mentions`: when they mention the bot; `all`: like a
  person). Even then two bots could talk forever: at most BOT_TURNS of their messages are answered per channel in
  BOT_WINDOW seconds unless a person writes there in between.
- In a DM every message is for the bot: on platforms with threads in DMs (Slack) a thread is a conversation;
  elsewhere (Discord) the DM has a current conversation, and replying to an older answer brings that one back.
- In a thread the bot holds a conversation for, it answers follow-ups without a mention, unless the channel
  turned that off; in someone else's thread it answers a mention, and adopts what the thread said before it
  (never what it held before an erasure: core.replies.intake).
- At the top of a channel it answers a mention, or a reply to one of its inline answers (which continues that
  conversation), in a new thread, inline, or not at all, as the channel's admins chose (core.conversations.policy).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass

from core.conversations.dm import DirectMessages
from core.conversations.policy import ChannelPolicy
from core.conversations.service import ConversationService
from core.keys import ConversationKey


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    platform: str
    workspace: str  # "" in a DM without one
    channel: str  # a thread's parent channel
    message_id: str  # the platform's id of this message (Slack: its ts)
    thread: str = ""  # the thread it was written in, "" at the top of a channel or DM
    is_dm: bool = False
    dm_threads: bool = False  # the platform has threads in DMs (Slack): a DM thread is a conversation
    mentioned: bool = False
    from_bot: bool = False  # written by a bot (never by this one: adapters drop their own echoes)
    replied_to: str = ""  # the platform id of the message it replies to, when it is one of the bot's
    can_open_thread: bool = True  # the platform lets the bot open a thread from this message here
    in_bot_thread: bool = False  # written in a thread the bot opened (Discord knows a thread's owner)

    @property
    def meant_for_bot(self) -> bool:
        """Whether the message is for the bot, told without the database: a DM, a mention, a reply to one of its
        answers, or a message in a thread it opened. Where a message could not be stored, this says whom to ask
        to send it again (the full rule, `MessageRouter.route`, reads the database)."""
        return not self.from_bot and (self.is_dm or self.mentioned or bool(self.replied_to) or self.in_bot_thread)


@dataclass(frozen=True, slots=True)
class Route:
    """What to do with a message: `answer` in the conversation at `key` (None: ignore it)."""

    key: ConversationKey | None
    open_thread: bool = False  # the conversation is a new thread opened from the message (its id is the thread)
    inline: bool = False  # answer in the channel itself, as a reply to the message
    adopt: bool = False  # a first mention in someone else's thread: what it said before comes in as context
    make_current: bool = False  # a DM's current conversation becomes this one
    starts_here: bool = False  # a new conversation begun by this message at the top of a channel

    @property
    def answer(self) -> bool:
        return self.key is not None


IGNORE = Route(None)
BOT_TURNS = 3  # answers to bots per channel and window, without a person writing there in between
BOT_WINDOW = 600.0
ALLOW_BOTS = ("none", "mentions", "all")


class MessageRouter:
    def __init__(
        self,
        conversations: ConversationService,
        dms: DirectMessages,
        policy: ChannelPolicy,
        *,
        allow_bots: str = "none",
        clock=time.monotonic,
    ):
        self.conversations = conversations
        self.dms = dms
        self.policy = policy
        self.allow_bots = allow_bots
        self.clock = clock
        # per channel: when its last answers to bots were given (in this process: a channel's events come to one)
        self._bot_answers: dict[tuple[str, str, str], deque[float]] = {}

    async def route(self, m: IncomingMessage) -> Route:
        place = (m.platform, m.workspace, m.channel)
        if not m.from_bot:
            self._bot_answers.pop(place, None)  # a person is here: the bots' count starts again
            return await self._route(m)
        if self.allow_bots == "none" or (self.allow_bots == "mentions" and not m.mentioned):
            return IGNORE
        route = await self._route(m)
        if route.answer and not self._bot_turn(place):
            return IGNORE
        return route

    def _bot_turn(self, place: tuple[str, str, str]) -> bool:
        """Whether one more bot message may be answered in this channel now; counts it if so."""
        now = self.clock()
        answered = self._bot_answers.setdefault(place, deque())
        while answered and now - answered[0] > BOT_WINDOW:
            answered.popleft()
        if len(answered) >= BOT_TURNS:
            return False
        answered.append(now)
        return True

    async def _route(self, m: IncomingMessage) -> Route:
        if m.is_dm:
            return await self._direct(m)
        if m.thread:
            return await self._in_thread(m)
        return await self._top_level(m)

    async def follow(self, route: Route) -> None:
        """What a route asks of the stored state before its answer: a DM's current conversation becomes the one
        answered (a reply to an older answer brought it back)."""
        if route.make_current and route.key is not None:
            key = route.key
            await self.dms.use(key.platform, key.workspace, key.channel, key.thread)

    async def _direct(self, m: IncomingMessage) -> Route:
        if m.dm_threads:
            return Route(
                ConversationKey(m.platform, m.workspace, m.channel, m.thread or m.message_id), make_current=True
            )
        if m.replied_to:  # replying to an older answer makes its conversation current again
            earlier = await self.conversations.of_message(m.platform, m.replied_to)
            if earlier is not None and earlier.key.channel == m.channel and not earlier.key.workspace:
                return Route(earlier.key, make_current=True)
        thread = await self.dms.current(m.platform, m.workspace, m.channel)
        return Route(ConversationKey(m.platform, m.workspace, m.channel, thread))

    async def _in_thread(self, m: IncomingMessage) -> Route:
        key = ConversationKey(m.platform, m.workspace, m.channel, m.thread)
        if m.in_bot_thread and not m.mentioned:  # a follow-up where the bot almost surely holds a conversation:
            # both reads at once (one trip to the database, not two)
            conversation, follow_ups = await asyncio.gather(
                self.conversations.for_key(key), self.policy.follow_ups(m.platform, m.workspace, m.channel)
            )
            return IGNORE if conversation is None or not follow_ups else Route(key)
        if await self.conversations.for_key(key) is None:
            return Route(key, adopt=True) if m.mentioned else IGNORE
        if m.mentioned or await self.policy.follow_ups(m.platform, m.workspace, m.channel):
            return Route(key)
        return IGNORE

    async def _top_level(self, m: IncomingMessage) -> Route:
        if not (m.mentioned or m.replied_to):
            return IGNORE
        mode = await self.policy.mention_mode(m.platform, m.workspace, m.channel)
        if mode == "off":
            return IGNORE
        if m.replied_to:  # a reply to one of our inline answers continues that conversation
            earlier = await self.conversations.of_message(m.platform, m.replied_to)
            if earlier is not None and earlier.key.channel == m.channel:
                return Route(earlier.key, inline=True)
        if mode == "inline" or not m.can_open_thread:
            key = ConversationKey(m.platform, m.workspace, m.channel, f"msg-{m.message_id}")
            return Route(key, inline=True, starts_here=True)
        key = ConversationKey(m.platform, m.workspace, m.channel, m.message_id)
        return Route(key, open_thread=True, starts_here=True)

"""Direct messages have no threads: each DM channel has a "current conversation", a synthetic thread id that
`/new` replaces and a reply to an older answer brings back.

Places the bot answers only through commands (a group DM or a server it is not in, where a user-installed app is
used, and `/ask` anywhere) work the same way, with a current conversation per person: what one asked privately never
becomes another's context."""

from __future__ import annotations

import time

from core.keys import ConversationKey
from core.records import Scope
from core.store.base import Store

CURRENT = "current_thread"


class DirectMessages:
    def __init__(self, store: Store):
        self.store = store

    async def current(self, platform: str, workspace: str, channel: str, *, new: bool = False, person: str = "") -> str:
        """The current conversation's thread id in a DM channel (`person`'s own, in a place with one per person);
        `new=True` starts another."""
        record = f"{channel}:{person}" if person else channel
        current = await self.store.get_setting(platform, workspace, Scope.CHANNEL, record, CURRENT)
        if current is None or new:
            current = f"u{person}-{time.time_ns()}" if person else f"dm-{time.time_ns()}"
            await self.store.set_setting(platform, workspace, Scope.CHANNEL, record, CURRENT, current)
        return current

    async def key(
        self, platform: str, workspace: str, channel: str, *, new: bool = False, person: str = ""
    ) -> ConversationKey:
        """The key of the DM's current conversation (one is begun if it has none); `new=True` starts another."""
        thread = await self.current(platform, workspace, channel, new=new, person=person)
        return ConversationKey(platform, workspace, channel, thread)

    async def current_if_any(self, platform: str, workspace: str, channel: str) -> ConversationKey | None:
        """The key of the DM's current conversation, or None when it has none yet."""
        thread = await self.store.get_setting(platform, workspace, Scope.CHANNEL, channel, CURRENT)
        return ConversationKey(platform, workspace, channel, thread) if thread else None

    async def use(self, platform: str, workspace: str, channel: str, thread: str) -> None:
        """Make an older DM conversation current again (e.g. the user replied to one of its answers)."""
        await self.store.set_setting(platform, workspace, Scope.CHANNEL, channel, CURRENT, thread)

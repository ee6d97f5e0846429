"""Direct messages have no threads: each DM channel has a "current conversation", a synthetic thread id that
`/new` replaces and a reply to an older answer brings back."""

from __future__ import annotations

import time

from core.keys import ConversationKey
from core.records import Scope
from core.store.base import Store

CURRENT = "current_thread"


class DirectMessages:
    def __init__(self, store: Store):
        self.store = store

    async def current(self, platform: str, workspace: str, channel: str, *, new: bool = False) -> str:
        """The current conversation's thread id in a DM channel; `new=True` starts another."""
        current = await self.store.get_setting(platform, workspace, Scope.CHANNEL, channel, CURRENT)
        if current is None or new:
            current = f"dm-{time.time_ns()}"
            await self.store.set_setting(platform, workspace, Scope.CHANNEL, channel, CURRENT, current)
        return current

    async def key(self, platform: str, workspace: str, channel: str, *, new: bool = False) -> ConversationKey:
        """The key of the DM's current conversation (one is begun if it has none); `new=True` starts another."""
        return ConversationKey(platform, workspace, channel, await self.current(platform, workspace, channel, new=new))

    async def current_if_any(self, platform: str, workspace: str, channel: str) -> ConversationKey | None:
        """The key of the DM's current conversation, or None when it has none yet."""
        thread = await self.store.get_setting(platform, workspace, Scope.CHANNEL, channel, CURRENT)
        return ConversationKey(platform, workspace, channel, thread) if thread else None

    async def use(self, platform: str, workspace: str, channel: str, thread: str) -> None:
        """Make an older DM conversation current again (e.g. the user replied to one of its answers)."""
        await self.store.set_setting(platform, workspace, Scope.CHANNEL, channel, CURRENT, thread)

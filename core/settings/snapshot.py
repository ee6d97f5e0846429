"""The settings of a few places read in one query, standing in for the store while one answer is planned.

Answering a message resolves the model, the assistant, every generation setting and the workspace's limits,
each through the same places: the conversation, the user, the channel and the workspace. Asked one by one that
is some forty `get_setting` queries before the router hears of the message; `SettingsSnapshot.read` asks once.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from core.records import Place, Scope
from core.store.base import Store


class SettingsSnapshot:
    """Answers `get_setting` for the places it read, from memory; anything else goes to the store.

    `set_setting` writes through and keeps the snapshot in step. Every other attribute is the store's,
    so a service given a snapshot instead of the store works unchanged.
    """

    def __init__(self, store: Store, platform: str, places: Iterable[Place], values: dict[tuple[str, ...], str]):
        self.store = store
        self.platform = platform
        self.places = frozenset((workspace, str(scope), scope_id) for workspace, scope, scope_id in places)
        self.values = values

    @classmethod
    async def read(cls, store: Store, platform: str, places: Iterable[Place]) -> SettingsSnapshot:
        places = list(places)
        return cls(store, platform, places, await store.get_settings(platform, places))

    def _holds(self, platform: str, workspace: str, scope: Scope, scope_id: str) -> bool:
        return platform == self.platform and (workspace, str(scope), scope_id) in self.places

    async def get_setting(self, platform: str, workspace: str, scope: Scope, scope_id: str, name: str) -> str | None:
        if self._holds(platform, workspace, scope, scope_id):
            return self.values.get((workspace, str(scope), scope_id, name))
        return await self.store.get_setting(platform, workspace, scope, scope_id, name)

    async def set_setting(
        self, platform: str, workspace: str, scope: Scope, scope_id: str, name: str, value: str | None
    ) -> None:
        await self.store.set_setting(platform, workspace, scope, scope_id, name, value)
        if self._holds(platform, workspace, scope, scope_id):
            if value is None:
                self.values.pop((workspace, str(scope), scope_id, name), None)
            else:
                self.values[(workspace, str(scope), scope_id, name)] = value

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def reading(service, reads: SettingsSnapshot):
    """`service` reading its settings from `reads` instead of the store. A shallow copy: what the service
    keeps in memory (the limits' message counters) stays shared with the original."""
    view = copy.copy(service)
    view.store = reads
    return view

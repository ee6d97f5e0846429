"""Platform events handled once: the first delivery claims its id in the database (so a retry, a redelivery or a
second process drops it); a claim whose work could not be stored is given back, so the redelivery is handled."""

from __future__ import annotations

from core.errors import StoreUnavailable
from core.store.base import Store

UNRELEASED_LIMIT = 1000  # claims remembered when the database would not take them back


class EventClaims:
    def __init__(self, store: Store):
        self.store = store
        # claims release() could not give back (database down): ours still, so a redelivery is handled
        self._unreleased: dict[tuple[str, str], None] = {}

    async def claim(self, platform: str, event_id: str) -> bool:
        """True when this process should handle the event: its first delivery, or the redelivery of one
        whose claim could not be given back. Raises StoreUnavailable when the database is down."""
        if (platform, event_id) in self._unreleased:
            del self._unreleased[(platform, event_id)]
            return True
        return await self.store.claim_event(platform, event_id)

    async def release(self, platform: str, event_id: str) -> None:
        """Give a claim back (its message was not stored) so that a redelivery is handled. While the
        database is down the claim stays ours; a redelivery reaching this process is handled all the same."""
        try:
            await self.store.release_event(platform, event_id)
        except StoreUnavailable:
            self._unreleased[(platform, event_id)] = None
            while len(self._unreleased) > UNRELEASED_LIMIT:
                del self._unreleased[next(iter(self._unreleased))]

"""Catch me up: a summary, on request, of what one person may read in a channel or thread."""

from core.catchup.history import (
    HistoryLimits,
    HistoryMessage,
    HistoryPage,
    HistoryRateLimited,
    HistorySource,
    ReadAccess,
)
from core.catchup.service import CatchUps, Digest, NothingToCatchUp

__all__ = [
    "CatchUps",
    "Digest",
    "HistoryLimits",
    "HistoryMessage",
    "HistoryPage",
    "HistoryRateLimited",
    "HistorySource",
    "NothingToCatchUp",
    "ReadAccess",
]

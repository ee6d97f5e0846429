"""From when to catch up: `2h`, `90m`, `3d`, `1w`, `yesterday`, `today`, a weekday (`monday`: the last one), or a date
(`2026-12-01`); nothing means the last DEFAULT_HOURS hours."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.errors import InvalidSetting

DEFAULT_HOURS = 24
UNITS = {"m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60, "h": 3600, "hour": 3600, "hours": 3600}
UNITS |= {"d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800, "weeks": 604800}
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
HELP = "Say since when: `2h`, `3d`, `yesterday`, `monday`, or a date like `2026-12-01`."


def parse_since(text: str, now: float | None = None, zone: str = "UTC") -> float:
    """The moment (epoch seconds) `text` names, in the past."""
    now = time.time() if now is None else now
    words = text.strip().lower().removeprefix("since").strip()
    if not words:
        return now - DEFAULT_HOURS * 3600
    if match := re.fullmatch(r"(?:last\s+)?(\d+)?\s*([a-z]+)(?:\s+ago)?", words):
        count, unit = match.group(1), match.group(2)
        if unit in UNITS and (count or unit in ("hour", "day", "week")):
            return now - int(count or 1) * UNITS[unit]
    today = datetime.fromtimestamp(now, ZoneInfo(zone)).replace(hour=0, minute=0, second=0, microsecond=0)
    if words == "today":
        return today.timestamp()
    if words == "yesterday":
        return (today - timedelta(days=1)).timestamp()
    for index, day in enumerate(DAYS):
        if len(words) >= 3 and day.startswith(words.removeprefix("last ")):
            back = (today.weekday() - index) % 7 or 7
            return (today - timedelta(days=back)).timestamp()
    try:
        moment = datetime.fromisoformat(words.upper() if "t" in words else words)
    except ValueError:
        raise InvalidSetting(f"I couldn't read `{text[:40]}` as a time. {HELP}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    if moment.timestamp() >= now:
        raise InvalidSetting(f"`{text[:40]}` is not in the past. {HELP}")
    return moment.timestamp()

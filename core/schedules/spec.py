"""How a schedule is written, in words or cron, and when it runs next.

    "Summarize the news" every monday 09:00
    "Standup reminder" every weekday at 9:30am Europe/Paris
    "What changed in Python?" every 6 hours
    "Quarterly numbers" 0 9 1 */3 *          (cron: minute hour day-of-month month day-of-week)

Every form becomes a cron expression in a time zone (croniter computes the runs); a schedule that names no zone
uses SCHEDULE_TIMEZONE. Runs closer together than SCHEDULE_MIN_INTERVAL_MINUTES are refused.
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from core.errors import InvalidSetting

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_NUMBER = {name: (i + 1) % 7 for i, name in enumerate(DAYS)}  # cron: sunday 0, monday 1
_GROUPS = {"day": "*", "weekday": "1-5", "workday": "1-5", "weekend": "0,6"}
QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "„": "“"}  # Slack and phones curl them
HELP = (
    'Write it as `"prompt" every monday 09:00`, `"prompt" every weekday at 9:30am Europe/Paris`, '
    '`"prompt" every 6 hours`, or with cron: `"prompt" 0 9 * * 1`.'
)


@dataclass(frozen=True, slots=True)
class When:
    cron: str  # five fields
    zone: str  # an IANA time zone name
    described: str  # for people: "every Monday at 09:00 (Europe/Paris)"

    def next_after(self, moment: float) -> float:
        """The first run strictly after `moment` (epoch seconds)."""
        start = datetime.fromtimestamp(moment, ZoneInfo(self.zone))
        return float(croniter(self.cron, start).get_next(float))

    def shortest_gap(self, moment: float | None = None, runs: int = 24) -> float:
        """The shortest time between two of the next `runs` runs, in seconds."""
        moment = time.time() if moment is None else moment
        times = [self.next_after(moment)]
        for _ in range(runs):
            times.append(self.next_after(times[-1]))
        return min(b - a for a, b in itertools.pairwise(times))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidSetting(f"`{name}` is not a time zone I know (use names like UTC or Europe/Paris).") from None


def split_prompt(text: str) -> tuple[str, str]:
    """(prompt, when) from `"prompt" when`, or from `prompt every ...` without quotes."""
    text = text.strip()
    if text[:1] in QUOTES:
        closing = QUOTES[text[0]]
        end = text.find(closing, 1)
        if end == -1 and closing != '"':
            end = text.find('"', 1)
        if end >= 1:
            return text[1:end].strip(), text[end + 1 :].strip()
    match = re.search(r"\s(every\s.*)$", text, flags=re.IGNORECASE)
    if match:
        return text[: match.start()].strip(), match.group(1).strip()
    cron = re.search(r"\s((?:\S+\s+){4}\S+)$", text)
    if cron and _is_cron(cron.group(1)):
        return text[: cron.start()].strip(), cron.group(1)
    raise InvalidSetting(f"I couldn't tell the prompt from the schedule. {HELP}")


def _is_cron(text: str) -> bool:
    return len(text.split()) == 5 and croniter.is_valid(text) and not re.search(r"[a-z]{4,}", text, re.IGNORECASE)


def _time_of_day(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?", text.strip().lower())
    if not match:
        raise InvalidSetting(f"`{text}` is not a time of day (09:00, 9:30am, 18h). {HELP}")
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half:
        if not 1 <= hour <= 12:
            raise InvalidSetting(f"`{text}` is not a time of day.")
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        raise InvalidSetting(f"`{text}` is not a time of day.")
    return hour, minute


def _day(word: str) -> str:
    word = word.lower().rstrip("s") if word.lower() not in ("days", "weekdays") else word.lower()[:-1]
    for name in DAYS:
        if len(word) >= 3 and name.startswith(word):
            return name
    raise InvalidSetting(f"`{word}` is not a day. {HELP}")


def parse_when(text: str, default_zone: str) -> When:
    words = text.replace(",", " , ").split()
    tz = default_zone
    if words and ("/" in words[-1] or words[-1].upper() in ("UTC", "GMT")):
        tz = words.pop()
    zone(tz)
    rest = " ".join(words).strip()
    if _is_cron(rest):
        return When(rest, tz, f"`{rest}` (cron, {tz})")
    lowered = rest.lower()
    if lowered.startswith("cron "):
        expression = rest[5:].strip().strip("`'\"")
        if not _is_cron(expression):
            raise InvalidSetting(f"`{expression}` is not a cron expression (five fields). {HELP}")
        return When(expression, tz, f"`{expression}` (cron, {tz})")
    if not lowered.startswith("every "):
        raise InvalidSetting(f"I couldn't read when to run it. {HELP}")
    body = lowered[len("every ") :].strip()
    if match := re.fullmatch(r"(\d+)\s*(minutes?|mins?|hours?|h)", body):
        n, unit = int(match.group(1)), match.group(2)
        if unit.startswith("m"):
            if not 1 <= n <= 59 or 60 % n:
                raise InvalidSetting("Minutes must divide the hour: every 5, 10, 15, 20 or 30 minutes.")
            return When(f"*/{n} * * * *", tz, f"every {n} minutes")
        if not 1 <= n <= 23 or 24 % n:
            raise InvalidSetting("Hours must divide the day: every 1, 2, 3, 4, 6, 8 or 12 hours.")
        return When(f"0 */{n} * * *", tz, f"every {n} hours ({tz})")
    if match := re.fullmatch(r"hour(?:\s+at\s+:?(\d{1,2}))?", body):
        minute = int(match.group(1) or 0)
        if minute > 59:
            raise InvalidSetting("Give the minute of the hour, 0 to 59.")
        return When(f"{minute} * * * *", tz, f"every hour at :{minute:02d}")
    parts = re.split(r"\s+at\s+|\s+(?=\d)", body, maxsplit=1)
    days_text, clock = parts[0], parts[1] if len(parts) > 1 else "9:00"
    hour, minute = _time_of_day(clock)
    day_words = [w for w in re.split(r"[\s,]+|\band\b", days_text) if w]
    if len(day_words) == 1 and day_words[0].rstrip("s") in _GROUPS:
        field, named = _GROUPS[day_words[0].rstrip("s")], {"day": "day", "weekday": "weekday", "workday": "weekday"}
        label = named.get(day_words[0].rstrip("s"), "weekend day")
    else:
        days = [_day(w) for w in day_words]
        if not days:
            raise InvalidSetting(f"Say which days. {HELP}")
        field = ",".join(str(_DAY_NUMBER[d]) for d in dict.fromkeys(days))
        label = ", ".join(d.title() for d in dict.fromkeys(days))
    return When(f"{minute} {hour} * * {field}", tz, f"every {label} at {hour:02d}:{minute:02d} ({tz})")


def parse_schedule(text: str, default_zone: str, min_interval_minutes: float) -> tuple[str, When]:
    """(prompt, when) from what was typed after /schedule; InvalidSetting, with how to write it, when wrong."""
    prompt, when_text = split_prompt(text)
    if not prompt:
        raise InvalidSetting(f"The prompt is empty. {HELP}")
    when = parse_when(when_text, default_zone)
    if when.shortest_gap() < min_interval_minutes * 60 - 1:
        raise InvalidSetting(f"That runs too often: at most once every {min_interval_minutes:g} minutes.")
    return prompt, when

"""Text helpers for Slack: neutralise mentions in model output, read mentions, commands and links."""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import parse_qs, urlparse

# `<!here>`, `<!channel>`, `<!everyone>`, `<!subteam^S123>`, `<@U123>`: Slack turns these into pings even in
# markdown_text. Escaping `<` as `&lt;` (Slack's own escape) in front of `!` or `@` is enough to make them
# plain text, and leaves every other `<` (code, comparisons, HTML) untouched.
_CONTROL = re.compile(r"<(?=[!@])")
# Plain `@here` may be linkified by some clients; a word joiner after `@` keeps it as text.
_BROADCAST = re.compile(r"@(?=(?:here|channel|everyone)\b)", re.IGNORECASE)
_KEYWORDS = ("@here", "@channel", "@everyone")


def neutralize(text: str) -> str:
    """Model output made safe to send: it can never ping anyone."""
    return _BROADCAST.sub("@\u2060", _CONTROL.sub("&lt;", text))


def unsafe_tail(text: str) -> int:
    """How many characters at the end of `text` could still become a mention with the next chunk.

    A native stream cannot take text back, so the sink holds these back until it knows more.
    """
    if text.endswith("<"):
        return 1
    lowered = text[-9:].lower()
    for size in range(min(len(lowered), 9), 0, -1):
        tail = lowered[-size:]
        if any(word.startswith(tail) for word in _KEYWORDS):
            # a whole keyword is only unsafe while the next character could still make it a word boundary;
            # a `<` just before it would turn `@...` into a mention, so it waits too
            return size + 1 if text[: len(text) - size].endswith("<") else size
    return 0


def mention_pattern(bot_user_id: str) -> re.Pattern:
    return re.compile(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>")


def strip_mention(text: str, bot_user_id: str | None) -> tuple[str, bool]:
    """The text without the bot's mention, and whether the bot was mentioned."""
    if not bot_user_id:
        return text.strip(), False
    pattern = mention_pattern(bot_user_id)
    mentioned = bool(pattern.search(text))
    return pattern.sub("", text).strip(), mentioned


_LINK = re.compile(r"<?(https?://[^\s>|]+)(?:\|[^>]*)?>?")


class ThreadLink(NamedTuple):
    channel: str
    thread_ts: str
    host: str  # e.g. "acme.slack.com": the workspace the link is to

    def belongs_to(self, domain: str) -> bool:
        """True when the link is to the workspace whose domain (a slash command's `team_domain`) is `domain`:
        the ids in it mean nothing in another workspace, and may name a different thread there."""
        domain = domain.strip().lower()
        return bool(domain) and self.host.lower() in (f"{domain}.slack.com", f"{domain}.enterprise.slack.com")


def domain_of(url: str) -> str:
    """The workspace's domain from its URL (auth.test's `url`, "https://acme.slack.com/" -> "acme")."""
    host = (urlparse(url).hostname or "").lower()
    return host.split(".", 1)[0] if host.endswith(".slack.com") else ""


def parse_thread_link(text: str) -> ThreadLink | None:
    """(channel, thread_ts, host) from a Slack message link, e.g. .../archives/C123/p1700000000123456?thread_ts=..."""
    match = _LINK.search(text.strip())
    if not match:
        return None
    url = urlparse(match.group(1))
    parts = [p for p in url.path.split("/") if p]
    if len(parts) < 3 or parts[-3] != "archives" or not parts[-1].startswith("p"):
        return None
    channel, digits = parts[-2], parts[-1][1:]
    if not digits.isdigit() or len(digits) < 7:
        return None
    query = parse_qs(url.query)
    thread_ts = (query.get("thread_ts") or [f"{digits[:-6]}.{digits[-6:]}"])[0]
    return ThreadLink(channel, thread_ts, url.hostname or "")

"""Split Markdown into platform-sized messages at paragraph or line boundaries, code fences intact.

A cut inside a fenced code block closes the fence in the first message and reopens it, with its
language, at the start of the next one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_JOINERS = {"\u200d", "\ufe0e", "\ufe0f"}


@dataclass(frozen=True, slots=True)
class Fence:
    marker: str  # e.g. "```" or "~~~~"
    info: str  # the language line, e.g. "python"

    @property
    def opening(self) -> str:
        return f"{self.marker}{self.info}\n"

    @property
    def closing(self) -> str:
        return self.marker


def open_fence_at_end(text: str) -> Fence | None:
    """The fence still open at the end of `text`, if any."""
    fence: Fence | None = None
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if not match:
            continue
        marker, rest = match.group(1), match.group(2)
        if fence is None:
            if marker[0] == "`" and "`" in rest:
                continue  # inline code such as ```a``` is not a fence
            fence = Fence(marker, rest.strip())
        elif marker[0] == fence.marker[0] and len(marker) >= len(fence.marker) and not rest.strip():
            fence = None
    return fence


def _safe_cut(text: str, cut: int) -> int:
    """Step back so a cut never separates a character from its combining marks or joiners."""
    while 0 < cut < len(text) and (
        unicodedata.combining(text[cut]) or text[cut] in _JOINERS or text[cut - 1] in _JOINERS
    ):
        cut -= 1
    return cut


def split_first(body: str, limit: int, min_cut: int = 0) -> tuple[str, int, str]:
    """Cut `body` for a message of at most `limit` characters.

    Returns (head, cut, reopen): `head` is what the message shows (fence closed if needed), and the
    next message's body is `reopen + body[cut:]`. The cut lands after `min_cut` (text already shown
    and not editable, as in a native stream) and makes progress whenever `body` is not empty.
    """
    if len(body) <= limit:
        return body, len(body), ""
    room = max(limit - 8, 1)  # leave space for a closing fence
    window = body[:room]
    lower = max(min_cut, room // 3)  # don't make tiny messages just to find a pretty boundary
    first_line_end = body.find("\n") + 1
    if first_line_end and _FENCE.match(body[: first_line_end - 1]) and first_line_end < room:
        lower = max(lower, first_line_end)  # a message holding only a fence's opening line is no progress
    cut = -1
    for separator in ("\n\n", "\n"):
        index = window.rfind(separator, lower)
        if index > 0:
            cut = index + len(separator)
            break
    if cut <= 0:
        index = window.rfind(" ", lower)
        cut = index + 1 if index > 0 else _safe_cut(body, room)
    cut = max(cut, min_cut, 1)
    head = body[:cut]
    fence = open_fence_at_end(head)
    rest_start = cut
    while rest_start < len(body) and body[rest_start] == "\n" and fence is None:
        rest_start += 1
    if fence is not None:
        # don't end a message with a code block that has only just opened: move it to the next one
        last_line_start = head.rstrip("\n").rfind("\n") + 1
        if last_line_start > max(min_cut, 0) and _FENCE.match(head[last_line_start:].rstrip("\n")):
            cut = rest_start = last_line_start
            head = body[:cut]
            fence = open_fence_at_end(head)
    if fence is None:
        return head.rstrip() or head, rest_start, ""
    closed = head.rstrip("\n") + "\n" + fence.closing
    reopen = fence.opening
    if len(closed) > limit:  # an absurdly long fence marker: better an open fence than an oversized message
        closed, reopen = head, ""
    if rest_start <= len(reopen):  # reopening would not make progress (a huge info string): don't
        reopen = ""
    return closed, rest_start, reopen


def split_markdown(text: str, limit: int) -> list[str]:
    """Every message for a whole text, each at most `limit` characters."""
    if limit < 16:
        raise ValueError("limit too small to split Markdown")
    chunks: list[str] = []
    body = text
    while len(body) > limit:
        head, cut, reopen = split_first(body, limit)
        chunks.append(head)
        rest = reopen + body[cut:]
        body = rest if len(rest) < len(body) else body[cut:]  # always make progress
    if body or not chunks:
        chunks.append(body)
    return chunks


def rotation_cut(body: str, shown: int, *, force: bool) -> tuple[str, int, str] | None:
    """Where to end a message early that cannot take text back (a native stream about to expire), the first
    `shown` characters of `body` being on screen already: after its last paragraph break, or with `force` its last
    line break or space, else its end. None when there is no paragraph break to end at yet.

    Returns (head, cut, reopen) as `split_first`: `head` begins with `body[:shown]` unchanged (a code fence open
    at the cut is closed after it), and the next message's body is `reopen + body[cut:]`."""
    cut = -1
    index = body.rfind("\n\n")
    if index >= 0 and index + 2 >= max(shown, 1):
        cut = index + 2
    elif force:
        for separator in ("\n", " "):
            index = body.rfind(separator)
            if index >= 0 and index + 1 >= max(shown, 1):
                cut = index + 1
                break
        else:
            cut = len(body)
    if cut < 0:
        return None
    head = body[:cut]
    fence = open_fence_at_end(head)
    if fence is None:
        return head, cut, ""
    return head + ("" if head.endswith("\n") else "\n") + fence.closing, cut, fence.opening

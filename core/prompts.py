"""What a person typed, as the model should see it."""

from __future__ import annotations

from core.errors import EmptyPrompt

# zero-width and bidi controls that make a message look non-empty while saying nothing
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e"))


def clean_prompt(text: str) -> str:
    """The prompt as the model should see it; raises EmptyPrompt when nothing is left."""
    text = text.replace("\r\n", "\n").replace("\x00", "")
    text = "".join(ch for ch in text if ch in "\n\t" or ord(ch) >= 32)
    if not text.translate(_INVISIBLE).strip():
        raise EmptyPrompt()
    return text.strip()


def first_line_title(text: str) -> str:
    """A conversation's provisional title: its first line, at most 80 characters."""
    first_line = text.strip().split("\n", 1)[0]
    return first_line[:77] + "…" if len(first_line) > 80 else first_line

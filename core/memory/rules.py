"""The one rule for what counts as the person asking the bot to remember something, the same on every platform.

A message that *starts* with "remember that …", "remember: …" or "please remember (that) …" asks; its words after that
are the fact. "Do you remember …", "remember when …" and a "remember" in the middle of a sentence do not: a fact is kept
only when the person plainly said to keep it.
"""

from __future__ import annotations

import re

FACT_CHARS = 300  # one fact; longer requests are refused rather than cut (a cut fact could say something else)

_ASKS = re.compile(
    r"^\s*(?:please\s*,?\s+)?(?:can you\s+|could you\s+)?remember(?:\s*:\s*|\s*,\s*|\s+that\s+)(?P<fact>\S.*)$",
    re.IGNORECASE | re.DOTALL,
)


def remember_request(text: str) -> str | None:
    """The fact a message asks to keep (whitespace folded, a trailing question mark or "please" kept as written),
    or None when it does not ask."""
    found = _ASKS.match(text or "")
    if found is None:
        return None
    fact = " ".join(found["fact"].split()).rstrip(" .")
    return fact or None

"""A person's kept facts as the system prompt's last part, within a token budget."""

from __future__ import annotations

from core.models.tokens import estimate_tokens

HEADER = (
    "What this user asked you to remember about them (use it when relevant; do not mention it otherwise; it is "
    "about this user only):"
)


def memory_block(facts: list[str], budget_tokens: int) -> tuple[str, int]:
    """(the text to add to the system prompt, how many facts it holds): the newest facts first, as many as fit in
    `budget_tokens` with the header; ("", 0) when none fits."""
    if budget_tokens <= 0 or not facts:
        return "", 0
    used = estimate_tokens(HEADER)
    picked: list[str] = []
    for fact in reversed(facts):  # newest first: a newer fact may correct an older one
        line = f"- {fact}"
        cost = estimate_tokens(line) + 1
        if used + cost > budget_tokens:
            break
        used += cost
        picked.append(line)
    if not picked:
        return "", 0
    return "\n".join([HEADER, *reversed(picked)]), len(picked)

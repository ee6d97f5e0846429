"""A built-in tool, offered only to a person who turned memory on: the model suggests one durable fact about them
worth keeping for later conversations. Nothing is kept here: `suggest` shows the suggestion (core.replies.memory), and
only the person's Keep stores it (core.memory). One suggestion per answer; the answer goes on without waiting."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from core.tools.base import Tool, ToolError

NAME = "suggest_memory"
FACT_CHARS = 300
DESCRIPTION = (
    "Suggest keeping one short, durable fact about the user (a preference, their role, a project they work on) "
    "that would help in later conversations. The user is asked whether to keep it; nothing is kept unless they say "
    "yes. Only for facts the user stated about themselves; never secrets, health, or anything about other people. "
    "At most once per reply, and do not mention the suggestion in your answer."
)
PARAMETERS = {
    "type": "object",
    "properties": {"fact": {"type": "string", "description": "The fact, one short sentence in the third person"}},
    "required": ["fact"],
}
SUGGESTED = "The user was asked whether to keep this; it is kept only if they say yes. Go on with your answer."


def parse_fact(arguments: dict[str, Any]) -> str:
    fact = arguments.get("fact")
    if not isinstance(fact, str) or not fact.strip():
        raise ToolError("`fact` must be a non-empty string.")
    fact = " ".join(fact.split())
    if len(fact) > FACT_CHARS:
        raise ToolError(f"Keep the fact under {FACT_CHARS} characters.")
    return fact


def remember_tool(suggest: Callable[[str], Awaitable[None]]) -> Tool:
    """The tool for one answer: `suggest(fact)` shows the suggestion to the person; a second call is refused."""
    suggested = False

    async def handler(arguments: dict[str, Any]) -> str:
        nonlocal suggested
        fact = parse_fact(arguments)
        if suggested:
            raise ToolError("You already suggested a fact in this reply.")
        suggested = True
        await suggest(fact)
        return SUGGESTED

    return Tool(NAME, DESCRIPTION, PARAMETERS, handler, progress=lambda _: "🧠 *Suggesting something to remember…*")

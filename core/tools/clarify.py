"""A built-in tool: the model asks the person one clarifying question with 2 to 4 choices (and room for their own
answer) when a request is ambiguous, and goes on with the answer it gets, in the same reply.

The tool only checks what the model wrote and hands the question to `ask`; how the question is shown and how the
choice comes back is core.replies.clarify's (and each front end's). One question per answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from core.tools.base import Tool, ToolError, clip

NAME = "ask_user"
MIN_OPTIONS, MAX_OPTIONS = 2, 4
QUESTION_CHARS = 300
OPTION_CHARS = 75  # Slack's button text; Discord's button label allows 80
WAIT_NOTE = "❓ *Waiting for your answer…*"

DESCRIPTION = (
    "Ask the user one short clarifying question when the request is ambiguous and the answer would change your "
    "reply substantially (which of several things they mean, a choice only they can make). Offer 2 to 4 short "
    "options; the user may also answer in their own words. The result is their answer; then go on with your reply. "
    "Do not use it when you can reasonably pick the likely meaning yourself. At most once per reply."
)
PARAMETERS = {
    "type": "object",
    "properties": {
        "question": {"type": "string", "description": "The question, one sentence"},
        "options": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": MIN_OPTIONS,
            "maxItems": MAX_OPTIONS,
            "description": "2 to 4 short choices (a few words each)",
        },
    },
    "required": ["question", "options"],
}


@dataclass(frozen=True, slots=True)
class Asked:
    """A question as the model wrote it, checked: what a front end shows."""

    question: str
    options: tuple[str, ...]


def parse_question(arguments: dict[str, Any]) -> Asked:
    """The model's arguments as a question, or ToolError (fed back to it) saying what is wrong."""
    question = arguments.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ToolError("`question` must be a non-empty string.")
    raw = arguments.get("options")
    if not isinstance(raw, list) or not all(isinstance(o, str) for o in raw):
        raise ToolError("`options` must be a list of strings.")
    options: list[str] = []
    for option in raw:
        option = " ".join(option.split())
        if option and option.casefold() not in {o.casefold() for o in options}:
            options.append(clip(option, OPTION_CHARS))
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise ToolError(f"Give {MIN_OPTIONS} to {MAX_OPTIONS} different, non-empty options.")
    return Asked(clip(" ".join(question.split()), QUESTION_CHARS), tuple(options))


def clarify_tool(ask: Callable[[Asked], Awaitable[str]], *, wait: float) -> Tool:
    """The tool for one answer: `ask` shows the question and returns what the person answered (or that they did
    not), as the tool's result. A second call in the same answer is refused."""
    asked = False

    async def handler(arguments: dict[str, Any]) -> str:
        nonlocal asked
        question = parse_question(arguments)
        if asked:
            raise ToolError("You already asked a question in this reply. Go on with what you know.")
        asked = True
        return await ask(question)

    return Tool(NAME, DESCRIPTION, PARAMETERS, handler, progress=lambda _: WAIT_NOTE, time_limit=wait)

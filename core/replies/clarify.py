"""Clarifying questions, one rule for every front end: while an answer is written the model may ask the person one
question with 2 to 4 choices (core.tools.clarify); the front end shows it (buttons, a numbered prompt) and hands back
the click or the typed answer here; the choice goes back to the model as the tool's result and the same answer goes
on. Only the person the answer is for may answer it. Nobody answering within the wait, the model goes on with its best
reading. An admin can turn it off for a workspace (the `clarify` setting).

A front end shows questions through its sink's optional `ask(question)`, or registers a renderer for its platform
(`show_with`) when its sinks are not its own to change. Waiting questions live in the process that asked: the click
comes back to it (Discord delivers a guild's interactions to its shard; a single Slack process).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.errors import InvalidSetting, NotAllowed, NotFound
from core.keys import Actor
from core.records import Conversation
from core.streaming import ReplySink
from core.tools.base import Tool, clip
from core.tools.clarify import Asked, clarify_tool

log = logging.getLogger(__name__)

WAIT_SECONDS = 600.0  # how long a question waits for its answer
LEAST_WAIT = 15.0  # a sink that expires sooner than this is not asked through (Discord's interaction token)
OTHER = "Other…"  # the choice that lets the person type their own answer
ANSWER_CHARS = 500
GONE = "This question is no longer waiting for an answer."
NOT_ANSWERED = (
    "The user did not answer the question. Go on with the most likely reading, and say briefly which one you assumed."
)


@dataclass(slots=True)
class Question:
    id: str  # short, URL-safe: it rides in button ids
    conversation_id: int
    platform: str
    asker_id: str  # the person the answer is for: the only one who may answer
    asker_name: str
    text: str
    options: tuple[str, ...]
    choice: str = ""

    def numbered(self) -> list[str]:
        """The choices as a terminal shows them, the free answer last."""
        return [f"{n}. {option}" for n, option in enumerate(self.options, 1)] + ["Or type your own answer."]


Renderer = Callable[[ReplySink, Question], Awaitable[None]]


def tool_result(choice: str) -> str:
    return f"The user's answer: {choice}"


class Clarifier:
    def __init__(self, wait: float = WAIT_SECONDS):
        self.wait = wait
        self._waiting: dict[str, tuple[Question, asyncio.Future[str]]] = {}
        self._renderers: dict[str, Renderer] = {}

    def show_with(self, platform: str, renderer: Renderer) -> None:
        """How `platform` shows a question when its sinks have no `ask` of their own."""
        self._renderers[platform] = renderer

    def _shower(self, platform: str, sink: ReplySink) -> Callable[[Question], Awaitable[None]] | None:
        own = getattr(sink, "ask", None)  # optional sink member
        if own is not None:
            return own
        renderer = self._renderers.get(platform)
        if renderer is None:
            return None
        return lambda question: renderer(sink, question)

    def tool_for(self, conversation: Conversation, actor: Actor, sink: ReplySink) -> Tool | None:
        """The clarifying-question tool for one answer in `conversation` for `actor`, or None where the front end
        cannot show a question."""
        show = self._shower(conversation.key.platform, sink)
        if show is None:
            return None

        async def ask(asked: Asked) -> str:
            return await self._ask(conversation, actor, sink, show, asked)

        return clarify_tool(ask, wait=self.wait + 5)

    async def _ask(
        self,
        conversation: Conversation,
        actor: Actor,
        sink: ReplySink,
        show: Callable[[Question], Awaitable[None]],
        asked: Asked,
    ) -> str:
        wait = self.wait
        expires_at = getattr(sink, "expires_at", None)
        if expires_at is not None:
            wait = min(wait, expires_at - time.monotonic() - LEAST_WAIT)
            if wait <= 0:
                return NOT_ANSWERED
        question = Question(
            secrets.token_urlsafe(9),
            conversation.id,
            conversation.key.platform,
            actor.user_id,
            actor.display_name,
            asked.question,
            asked.options,
        )
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting[question.id] = (question, future)
        try:
            await show(question)
            try:
                return tool_result(await asyncio.wait_for(future, wait))
            except TimeoutError:
                log.info("question %s in conversation %s not answered", question.id, conversation.id)
                return NOT_ANSWERED
        finally:
            self._waiting.pop(question.id, None)

    def is_waiting(self, question_id: str) -> bool:
        entry = self._waiting.get(question_id)
        return entry is not None and not entry[1].done()

    def waiting_in(self, conversation_id: int) -> Question | None:
        """The question waiting for an answer in a conversation, if any (a terminal routes the next line to it)."""
        for question, future in self._waiting.values():
            if question.conversation_id == conversation_id and not future.done():
                return question
        return None

    async def answer(
        self, question_id: str, actor: Actor, *, option: int | None = None, text: str | None = None
    ) -> Question:
        """A click on choice `option` (0-based), or an answer in the person's own words (`text`)."""
        entry = self._waiting.get(question_id)
        if entry is None or entry[1].done():
            raise NotFound(GONE)
        question, future = entry
        if actor.platform != question.platform or actor.user_id != question.asker_id:
            raise NotAllowed(f"This question is for {question.asker_name or 'the person who asked'}.")
        if option is not None:
            if not 0 <= option < len(question.options):
                raise NotFound(GONE)
            choice = question.options[option]
        else:
            choice = clip(" ".join((text or "").split()), ANSWER_CHARS)
            if not choice:
                raise InvalidSetting("Type your answer, or pick one of the choices.")
        question.choice = choice
        future.set_result(choice)
        return question

    async def answer_typed(self, question_id: str, actor: Actor, typed: str) -> Question:
        """What a terminal's person typed: a choice's number, or their own answer."""
        entry = self._waiting.get(question_id)
        word = typed.strip()
        if entry is not None and word.isdigit() and 1 <= int(word) <= len(entry[0].options):
            return await self.answer(question_id, actor, option=int(word) - 1)
        return await self.answer(question_id, actor, text=typed)

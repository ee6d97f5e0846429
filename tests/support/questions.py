"""A recording sink that can show clarifying questions, as a front end does, and a model that asks one."""

from __future__ import annotations

import asyncio

from core.replies.clarify import Question
from core.tools.clarify import NAME
from tests.fakes.fake_router import text_script, tool_calls_script
from tests.support.sinks import RecordingSink


class AskingSink(RecordingSink):
    """Shows each question (records it) and lets the test wait for it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions: list[Question] = []
        self._asked = asyncio.Event()

    async def ask(self, question: Question) -> None:
        self.questions.append(question)
        self._asked.set()

    async def next_question(self, within: float = 5.0) -> Question:
        await asyncio.wait_for(self._asked.wait(), within)
        self._asked.clear()
        return self.questions[-1]


def asking_script(question: str = "Which Python do you mean?", options=("Python 3.12", "Python 2.7")) -> list:
    return tool_calls_script((NAME, {"question": question, "options": list(options)}))


def queue_question_then_answer(router, answer: str, **kwargs) -> None:
    """The model asks first, then answers with what it heard."""
    router.queue(asking_script(**kwargs))
    router.queue(text_script(answer))

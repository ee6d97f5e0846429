"""What the terminal asks while an answer is written, answered by the next line typed: a clarifying question (a
numbered prompt: a number or one's own words) and a memory suggestion ("Remember this? (y/n)" once the answer is
written; only y keeps it). Mixed into `ConsoleApp` (bots/console/app.py), which sets the attributes used here."""

from __future__ import annotations

import asyncio

from core.errors import UserFacingError
from core.memory import Proposal
from core.replies.clarify import Question


class Questions:
    """Mixed into `ConsoleApp`: `chat`, `actor`, `screen`, `reader`, `question`, `proposal`, `_answering`, `say` and
    `_reader` are its."""

    # memory suggestions: "Remember this? (y/n)" once the answer is written; only y keeps it
    async def suggested(self, proposal: Proposal) -> None:
        self.proposal = proposal

    def _ask_about_proposal(self) -> None:
        if self.proposal is not None:
            self.say(f"🧠 Remember this? “{self.proposal.fact}” (y/n)", "bold")

    async def _answer_proposal(self, line: str) -> bool:
        """The line after "Remember this?": y keeps it, n does not; anything else leaves it unkept and is handled as
        it is. True when the line was the answer."""
        proposal, self.proposal = self.proposal, None
        word = line.strip().lower()
        if proposal is None or word not in ("y", "yes", "n", "no"):
            return False
        keep = word in ("y", "yes")
        try:
            await self.chat.memory.decide(proposal.id, self.actor, keep)
        except UserFacingError as exc:
            self.say(str(exc), "bold red")
            return True
        self.say("🧠 Kept. /memory shows what I keep." if keep else "🧠 Not kept.", "dim")
        return True

    # clarifying questions: a numbered prompt, answered by the next line (a number or one's own words)
    async def ask_question(self, question: Question) -> None:
        self.say(f"❓ {question.text}", "bold")
        for line in question.numbered():
            self.say(f"   {line}")
        self.question = question
        if self.screen is not None:
            self.screen.show_status("type a number or your own answer, then Enter")
        if self.reader is not None and not self.reader.interactive:  # piped input: the next line is the answer
            self._answer_soon(question)

    def take_line(self, line: str) -> bool:
        """A line entered while an answer streams: True when it answered the question the answer waits on."""
        question = self.question
        if question is None or not self.chat.questions.is_waiting(question.id):
            return False
        self._answer_soon(question, line)
        return True

    def _answer_soon(self, question: Question, line: str | None = None) -> None:
        """Answer `question` with `line`, or with the next line read (piped input)."""

        async def answer() -> None:
            typed = line
            if typed is None:
                try:
                    typed = await self._reader().read()
                except EOFError:
                    return
            try:
                await self.chat.questions.answer_typed(question.id, self.actor, typed)
                self.question = None
                self.say(f"→ {question.choice}", "dim")
            except UserFacingError as exc:
                self.say(str(exc), "bold red")
                if line is None and self.chat.questions.is_waiting(question.id):
                    self._answer_soon(question)  # piped: the next line, then

        task = asyncio.create_task(answer())
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)

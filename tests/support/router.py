"""Router helpers beyond the scripted fake: a router that answers every question by itself."""

from __future__ import annotations

import time

from tests.fakes.fake_router import FakeRouter, text_script


class EchoRouter(FakeRouter):
    """Answers "Answer to: <last user message>" slowly, and notes when each stream began and ended."""

    def __init__(self, *, pieces: int = 6, delay: float = 0.08, **kw):
        super().__init__(**kw)
        self.pieces, self.delay = pieces, delay
        self.intervals: list[tuple[float, float, str]] = []  # (start, end, answer)

    @staticmethod
    def answer_for(question: str) -> str:
        return f"Answer to: {question}"

    async def _chat(self, request):
        body = await request.json()  # aiohttp caches the body: the parent reads it again
        users = [m for m in body.get("messages", []) if m.get("role") == "user"]
        answer = self.answer_for(users[-1]["content"] if users else "")
        if not self.scripts.get(body.get("model", "")) and not self.scripts.get("*"):
            self.queue(text_script(answer, pieces=self.pieces, delay=self.delay), body.get("model", ""))
        started = time.monotonic()
        try:
            return await super()._chat(request)
        finally:
            self.intervals.append((started, time.monotonic(), answer))

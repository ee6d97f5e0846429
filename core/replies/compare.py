"""Compare: the same prompt answered by several models side by side, each in its own message.

A comparison is a one-off: it does not join the conversation's history (the next message there is
answered as if the comparison never happened) and is not stored as a conversation. Its tokens are
recorded as usage, so workspace limits and `/usage` see them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from core.config import Settings
from core.errors import InvalidSetting
from core.keys import Actor, ConversationKey
from core.models.catalog import ModelCatalog
from core.prompts import clean_prompt
from core.records import StoredMessage
from core.replies.intake import refuse_too_long
from core.replies.pipeline import Planned, ReplyPipeline
from core.streaming import ReplySink, ReplyState, ReplyStream, ReplyView
from core.usage.accounting import answer_usage
from core.usage.limits import LimitsService

log = logging.getLogger(__name__)

MIN_MODELS, MAX_MODELS = 2, 4


@dataclass(slots=True)
class Compared:
    model: str
    state: ReplyState


SinkFactory = Callable[[str], ReplySink]


def check_models(models: list[str]) -> list[str]:
    """The distinct names, in order; 2 to 4 of them."""
    unique: list[str] = []
    for name in models:
        name = (name or "").strip()
        if name and name.lower() not in (u.lower() for u in unique):
            unique.append(name)
    if not MIN_MODELS <= len(unique) <= MAX_MODELS:
        raise InvalidSetting(f"Compare takes {MIN_MODELS} to {MAX_MODELS} different models; got {len(unique)}.")
    return unique


def header(model: str) -> str:
    return f"**{model}**\n"


class HeaderSink:
    """Wraps a sink so the first message of an answer starts with the model's name."""

    def __init__(self, sink: ReplySink, model: str):
        self._sink = sink
        self._header = header(model)
        self.limits = dataclasses.replace(sink.limits, max_chars=sink.limits.max_chars - len(self._header))
        self.lane = sink.lane
        self.bucket = sink.bucket
        fallback = getattr(sink, "fallback_limits", None)
        if fallback is not None:
            self.fallback_limits = dataclasses.replace(fallback, max_chars=fallback.max_chars - len(self._header))

    def _text(self, text: str, view: ReplyView) -> str:
        return self._header + text if view.index == 0 else text

    async def post(self, text: str, view: ReplyView) -> Any:
        return await self._sink.post(self._text(text, view), view)

    async def edit(self, ref: Any, text: str, view: ReplyView) -> None:
        await self._sink.edit(ref, self._text(text, view), view)

    async def upload(self, filename: str, content: str, view: ReplyView) -> None:
        await self._sink.upload(filename, content, view)

    def ref_id(self, ref: Any) -> str:
        return self._sink.ref_id(ref)

    async def stream_start(self, text: str, view: ReplyView) -> Any:
        return await self._sink.stream_start(self._text(text, view), view)

    async def stream_append(self, ref: Any, delta: str, view: ReplyView) -> None:
        await self._sink.stream_append(ref, delta, view)

    async def stream_stop(self, ref: Any, delta: str, view: ReplyView) -> None:
        await self._sink.stream_stop(ref, delta, view)


class Comparer:
    def __init__(self, settings: Settings, catalog: ModelCatalog, limits: LimitsService, pipeline: ReplyPipeline):
        self.settings = settings
        self.catalog = catalog
        self.limits = limits
        self.pipeline = pipeline

    async def compare(
        self,
        key: ConversationKey,
        actor: Actor,
        prompt: str,
        models: list[str],
        sink_factory: SinkFactory,
        on_start: Callable[[list[str]], Awaitable[None]] | None = None,
    ) -> list[Compared]:
        """Answer one prompt with 2 to 4 models at once, each streamed to its own sink under a header.

        `on_start` runs once the request passed every check, before any answer is posted. Each model's request is
        planned as an answer here would be (`ReplyPipeline.plan`: the system prompt, the assistant, generation
        settings, the asker's memory and token, fitting to that model's window), with the prompt alone as its
        history and no tools; usage is recorded per model.
        """
        prompt = clean_prompt(prompt)
        refuse_too_long(self.settings, self.catalog, prompt)
        names = [self.catalog.validate(m) for m in check_models(models)]
        await self.limits.check_message(key, actor, prompt, names)
        pipeline = self.pipeline
        conversation = await pipeline.store.get_conversation(key)
        asked = [StoredMessage(role="user", content=prompt, author_id=actor.user_id)]
        plans = await asyncio.gather(
            *(pipeline.plan(conversation, actor, None, history=asked, key=key, model=m) for m in names)
        )

        async def one(planned: Planned) -> Compared:
            model = planned.model
            sink = HeaderSink(sink_factory(model), model)
            stream = ReplyStream(sink, pipeline.throttles.for_sink(sink), model=model)
            state = await stream.run(pipeline.router.stream_chat(planned.request))
            if used := answer_usage(state, planned.fitted.prompt_tokens):
                await pipeline.record_usage(key, actor, None, state.model or model, state.provider, used)
            return Compared(model, state)

        log.info("compare started: %d models", len(names))
        if on_start is not None:
            await on_start(names)
        return list(await asyncio.gather(*(one(p) for p in plans)))

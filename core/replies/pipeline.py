"""One answer, in three steps: plan (what the settings, the history and the model's window say), run (stream it
through the engine, failing over and calling tools), finish (store it and what it used).

The plan has no side effects, so `compare` and the bench can use it alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass, field

from core.accounts import AccountService, Credentials
from core.catchup.citations import sources_of, with_links
from core.config import Settings
from core.keys import Actor, ConversationKey
from core.models.catalog import ModelCatalog
from core.models.omni import failover_note, failover_stream, standing_in
from core.ops import metrics
from core.records import Conversation, MessageStatus, StoredMessage
from core.replies.checkpoints import AnswerCheckpoints, CheckpointWriter
from core.replies.clarify import Clarifier
from core.replies.context import FittedPrompt, fit_messages
from core.replies.memory import MemoryProposals
from core.router.client import ChatRequest, RouterClient, StreamEvent
from core.settings.resolver import AnswerPlan
from core.settings.service import SettingsService
from core.settings.snapshot import SettingsSnapshot, reading
from core.store.base import Store
from core.streaming import PlatformLimits, ReplySink, ReplyState, ReplyStream
from core.streaming.stored_lengths import StoredLengths
from core.streaming.throttle import BudgetSharing, Throttle
from core.tools.base import Tool, ToolRegistry
from core.tools.service import ToolService
from core.usage.accounting import Used, answer_usage
from core.usage.limits import LimitsService

log = logging.getLogger(__name__)

HISTORY_LIMIT = 400  # newest messages loaded before fitting to the context window
CONTINUE_INSTRUCTION = "Continue your previous answer exactly where it stopped, without repeating anything."
NOTE_DROPPED = "ℹ️ *{n} older message{s} no longer fit this model's context and {were} left out.*"


@dataclass(slots=True)
class ReplyOutcome:
    reply_id: int
    state: ReplyState
    conversation_id: int
    credentials: Credentials | None = None  # whose token answered (the title request after it carries it too)


@dataclass(slots=True)
class Planned:
    """Everything an answer needs before its first request: decided, nothing written yet."""

    key: ConversationKey
    conversation: Conversation | None  # None: asked outside any conversation (compare)
    actor: Actor
    settings: AnswerPlan
    fitted: FittedPrompt
    request: ChatRequest
    models: list[str]  # the model first, then those that may stand in for it
    tools: object | None  # the tool registry when tools run
    notes: list[str] = field(default_factory=list)
    continue_from: StoredMessage | None = None
    sources: dict[str, str] = field(default_factory=dict)  # citation number -> link (core.catchup.citations)

    @property
    def model(self) -> str:
        return self.settings.model


class Throttles:
    """One throttle per kind of limits (in practice, per platform), shared by all its streams. `sharing` counts
    their budgets with the bot's other processes (set before the first answer; None: this process alone).
    `lengths_memory`: where the budgets that learn their answers' length keep it past this process (the store)."""

    def __init__(self, lengths_memory: StoredLengths | None = None) -> None:
        self._throttles: dict[Hashable, Throttle] = {}
        self.sharing: BudgetSharing | None = None
        self.lengths_memory = lengths_memory

    def for_limits(self, limits: PlatformLimits) -> Throttle:
        throttle = self._throttles.get(limits)
        if throttle is None:
            throttle = self._throttles[limits] = Throttle(
                limits.edit_interval,
                bucket_rate=limits.bucket_rate,
                bucket_burst=limits.bucket_burst,
                name=limits.budget,
                sharing=self.sharing,
                horizon_min=limits.fair_horizon_min,
                learn_lengths=limits.learn_answer_lengths,
                # a native stream's final text is its own call (Slack: chat.stopStream), not one of the budget's
                finals_on_budget=limits.stops_use_bucket or not limits.native_append,
                lengths_memory=self.lengths_memory,
            )
        return throttle

    async def close(self) -> None:
        """Store the answer lengths still pending (before the store closes)."""
        if self.lengths_memory is not None:
            await self.lengths_memory.close()

    def for_sink(self, sink: ReplySink) -> Throttle:
        return self.for_limits(sink.limits)


class ReplyPipeline:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        router: RouterClient,
        catalog: ModelCatalog,
        preferences: SettingsService,
        limits: LimitsService,
        tools: ToolService,
        throttles: Throttles,
        clarifier: Clarifier | None = None,
        memory: MemoryProposals | None = None,
    ):
        self.settings = settings
        self.store = store
        self.router = router
        self.catalog = catalog
        self.preferences = preferences
        self.limits = limits
        self.tools = tools
        self.throttles = throttles
        self.clarifier = clarifier  # clarifying questions, where the front end can show them
        self.memory = memory  # the asker's memory (core.memory) and the proposals the model may make
        self.worker_id = ""  # this process among those sharing the store; stamped on replies it writes
        self.accounts: AccountService | None = None  # whose token each answer carries (None: always HF_TOKEN)
        self.checkpoints = CheckpointWriter(store)  # every streaming answer's partial text, saved together

    @property
    def checkpoint_seconds(self) -> float:
        """How often the partial text of streaming answers is saved (core.replies.checkpoints)."""
        return self.checkpoints.every

    @checkpoint_seconds.setter
    def checkpoint_seconds(self, seconds: float) -> None:
        self.checkpoints.every = seconds

    async def answer(
        self,
        conversation: Conversation,
        sink: ReplySink,
        actor: Actor,
        continue_from: StoredMessage | None = None,
        on_stream: Callable[[ReplyStream], None] | None = None,
        history: list[StoredMessage] | None = None,
        reads: SettingsSnapshot | None = None,
    ) -> ReplyOutcome:
        """Plan, run and finish one answer; `on_stream` gets the stream as soon as it exists (to stop it).
        `history` and `reads`: the newest HISTORY_LIMIT messages and the settings here, when the caller has just
        read them (`read`)."""
        asking = self.clarifier.tool_for(conversation, actor, sink) if self.clarifier is not None else None
        proposing = self.memory.tool_for(conversation.key, actor, sink) if self.memory is not None else None
        planned = await self.plan(
            conversation, actor, continue_from, asking=asking, proposing=proposing, history=history, reads=reads
        )
        stream, state, used_tools = await self.run(planned, sink, on_stream)
        await self.finish(planned, stream, state, used_tools)
        credentials = Credentials(planned.request.token, planned.request.bill_to)
        return ReplyOutcome(stream.reply_id, state, conversation.id, credentials)

    # plan
    async def plan(
        self,
        conversation: Conversation | None,
        actor: Actor,
        continue_from: StoredMessage | None,
        *,
        asking: Tool | None = None,
        proposing: Tool | None = None,
        history: list[StoredMessage] | None = None,
        reads: SettingsSnapshot | None = None,
        key: ConversationKey | None = None,
        model: str | None = None,
    ) -> Planned:
        """`asking`: the clarifying-question tool, offered when the settings allow it and every model that may
        answer supports tools. `proposing`: the memory-proposal tool, offered likewise while the asker's memory is
        on; their kept facts end the system prompt, within the memory budget the fitting counts. `history`: the
        newest HISTORY_LIMIT messages, and `reads` the settings here, if the caller just read them. Compare plans
        with `model` (that model alone answers, whatever the settings choose), its prompt as `history`, and `key` when
        no conversation is here."""
        key = conversation.key if conversation is not None else key
        conversation_id = conversation.id if conversation is not None else None
        if history is None:
            history, reads = await self.read(conversation, actor)
        elif reads is None:
            reads = await self.preferences.here(key, actor.user_id, conversation_id)
        remembered = await self._remembered(key, actor, reads)
        assistant = await self.preferences.assistant_here(key, actor.user_id, conversation, reads)
        plan = await reading(self.preferences.preferences, reads).plan(
            key, actor.user_id, conversation_id, assistant, has_images=any(m.extra.get("images") for m in history)
        )
        if model is not None:
            plan = dataclasses.replace(plan, models=[model], route="", notes=[])
        model = plan.model
        if continue_from is not None:
            history = [m for m in history if m.id is not None and m.id <= continue_from.id]
            history.append(StoredMessage(role="user", content=CONTINUE_INSTRUCTION, author_id="system"))
        sees_images = self.sees_images(model)
        fitted = fit_messages(
            history,
            system_prompt=plan.system_prompt,
            context_window=self.catalog.context_window(model),
            max_tokens=plan.generation.max_tokens or self.settings.max_tokens,
            vision=sees_images,
            tools=self.tools.model_supports_tools(self.catalog, model),
            memory=remembered,
            memory_tokens=self.memory.memory.prompt_tokens if self.memory is not None else 0,
        )
        notes = list(plan.notes)
        if continue_from is None:
            notes += self._attachment_notes(history, model, sees_images)
        if fitted.dropped:
            many = fitted.dropped > 1
            notes.append(NOTE_DROPPED.format(n=fitted.dropped, s="s" if many else "", were="were" if many else "was"))
        tools = await self.tools.registry_for(self.catalog, model, web_search=plan.web_search)
        limits = await reading(self.limits, reads).get(key.platform, key.workspace)
        models = standing_in(  # omni's route or a chosen model's fallbacks, those that can answer this
            plan.models,
            self.catalog,
            allowed=lambda name: self.limits.model_allowed(limits, name),
            tools=tools is not None or any("tool_calls" in m for m in fitted.messages),
            vision=sees_images and any(m.extra.get("images") for m in history),
            prompt_tokens=fitted.prompt_tokens,
        )
        all_use_tools = all(self.tools.model_supports_tools(self.catalog, m) for m in models)
        if asking is not None and plan.clarify and all_use_tools:
            tools = tools or ToolRegistry()
            tools.add(asking)
        if proposing is not None and remembered is not None and all_use_tools:
            tools = tools or ToolRegistry()
            tools.add(proposing)
        request = request_for(plan, model, fitted)
        if self.accounts is not None:  # the asker's own token and the org billed (AccountNeeded if they must connect)
            credentials = await reading(self.accounts, reads).credentials(actor, key)
            request.token, request.bill_to = credentials.token, credentials.bill_to
        planned = Planned(key, conversation, actor, plan, fitted, request, models, tools, notes, continue_from)
        planned.sources = sources_of(history)
        return planned

    async def read(self, conversation: Conversation, actor: Actor) -> tuple[list[StoredMessage], SettingsSnapshot]:
        """What an answer reads first, both at once (one trip to the database's thread or server, not two): the
        newest HISTORY_LIMIT messages and every setting here."""
        history, reads = await asyncio.gather(
            self.store.recent_messages(conversation.id, HISTORY_LIMIT),
            self.preferences.here(conversation.key, actor.user_id, conversation.id),
        )
        return history, reads

    async def _remembered(self, key: ConversationKey, actor: Actor, reads: SettingsSnapshot) -> list[str] | None:
        """The asker's kept facts for this answer, or None while their memory is off here (the switch is read from
        the answer's settings snapshot: no query of its own)."""
        if self.memory is None:
            return None
        return await reading(self.memory.memory, reads).for_answer(key, actor.user_id)

    # run
    async def run(
        self, planned: Planned, sink: ReplySink, on_stream: Callable[[ReplyStream], None] | None = None
    ) -> tuple[ReplyStream, ReplyState, list[dict]]:
        conversation, continue_from, key = planned.conversation, planned.continue_from, planned.key
        fallback_limits = getattr(sink, "fallback_limits", None)
        fallback = (self.throttles.for_limits(fallback_limits), fallback_limits) if fallback_limits else None
        stream = ReplyStream(
            sink,
            self.throttles.for_sink(sink),
            model=planned.model,
            notes=planned.notes,
            conversation_id=conversation.id,
            fallback=fallback,
        )
        on_failover = lambda failures, answered_by: stream.notes.append(failover_note(failures, answered_by))  # noqa: E731
        used_tools: list[dict] = []  # the tool calls and their results, stored with the answer
        if planned.tools is not None:
            events = self.tools.stream(
                self.router, planned.request, planned.models, planned.tools, on_failover, record=used_tools
            )
        else:
            events = failover_stream(self.router, planned.request, planned.models, on_failover)
        if planned.sources:  # a summary cites what it read: each [n] links to that message
            events = with_links(events, planned.sources)
        # the router request goes out while the reply row is written, not after it: see `requested`
        source = events
        events, request = requested(source)
        try:
            reply_id = await self._reply_row(planned)
        except BaseException:  # no row to write the answer to: the request is called off, nothing is half-stored
            await call_off(request, source)
            raise
        stream.reply_id = reply_id
        checkpoints = AnswerCheckpoints(self.checkpoints, reply_id, stream, key.platform, continue_from)
        if continue_from is None:

            async def remember_where(ref_id: str) -> None:
                await checkpoints.save(platform_message_id=ref_id)

            stream.on_first_message = remember_where
        if on_stream is not None:
            on_stream(stream)
        fitted = planned.fitted
        log.info(
            "reply %s started: conversation=%s model=%s messages=%d dropped=%d",
            reply_id,
            conversation.id,
            planned.model,
            len(fitted.messages),
            fitted.dropped,
        )
        log.debug(
            "reply %s plan: prompt_tokens~%d max_tokens=%d fallbacks=%d tools=%s",
            reply_id,
            fitted.prompt_tokens,
            fitted.max_tokens,
            len(planned.models) - 1,
            planned.tools is not None,
        )
        try:
            working = getattr(sink, "working", None)  # optional sink method: show the answer is being worked on
            if working is not None:
                try:
                    await working()
                except Exception as exc:  # a status is a nicety: the answer goes on
                    log.warning("reply %s: the working status failed: %s", reply_id, type(exc).__name__)
            metrics.ACTIVE_STREAMS.labels(key.platform).inc()
            try:
                state = await stream.run(events)
            finally:
                metrics.ACTIVE_STREAMS.labels(key.platform).dec()
                await checkpoints.finish()
        finally:  # a stream stopped before its reader began never read the request: it is called off here
            await call_off(request, source)
        metrics.answer_finished(key.platform, state, stream.stats)
        if state.error is not None and state.error.kind == "account_refused" and self.accounts is not None:
            await self.accounts.token_refused(planned.actor)
        return stream, state, used_tools

    async def _reply_row(self, planned: Planned) -> int:
        """The stored answer this run writes: a new one, or the one a Continue extends."""
        if planned.continue_from is not None:
            reply_id = planned.continue_from.id
            await self.store.update_message(reply_id, status=MessageStatus.STREAMING.value, worker_id=self.worker_id)
            return reply_id
        reply = StoredMessage(
            role="assistant", content="", model=planned.model, status=MessageStatus.STREAMING, worker_id=self.worker_id
        )
        return await self.store.add_message(planned.conversation.id, reply)

    # finish
    async def finish(self, planned: Planned, stream: ReplyStream, state: ReplyState, used_tools: list[dict]) -> None:
        continue_from, reply_id = planned.continue_from, stream.reply_id
        content, reasoning = state.answer, state.reasoning
        if continue_from is not None:
            content = continue_from.content + content
            reasoning = continue_from.reasoning + reasoning
        first_ref = stream.first_ref_id()
        used = answer_usage(state, planned.fitted.prompt_tokens)
        extra: dict | None = None
        if used_tools or (used and used.estimated):  # added to what checkpoints (and a continued answer) stored
            stored = await self.store.get_message(reply_id)
            extra = dict(stored.extra) if stored is not None else {}
            if used_tools:
                extra["tools"] = [*extra.get("tools", []), *used_tools]
            if used and used.estimated:
                extra["usage_estimated"] = True
        await self.store.update_message(
            reply_id,
            content=content,
            reasoning=reasoning,
            status=str(state.status),
            model=state.model or planned.model,
            provider=state.provider,
            prompt_tokens=used.prompt_tokens if used else None,
            completion_tokens=used.completion_tokens if used else None,
            first_token_ms=state.first_token_ms,
            total_ms=state.total_ms,
            **({"platform_message_id": first_ref} if first_ref and continue_from is None else {}),
            **({"extra": extra} if extra is not None else {}),
        )
        if used:
            model = state.model or planned.model
            await self.record_usage(planned.key, planned.actor, planned.conversation.id, model, state.provider, used)
        log.info(
            "reply %s ended: status=%s first_token_ms=%s total_ms=%s edits=%d posts=%d rate_limited=%d",
            reply_id,
            state.status,
            state.first_token_ms,
            state.total_ms,
            stream.stats.edits,
            stream.stats.posts,
            stream.stats.rate_limited,
        )

    async def record_usage(
        self, key: ConversationKey, actor: Actor, conversation_id: int | None, model: str, provider: str, used: Used
    ) -> None:
        await self.store.record_usage(
            key.platform,
            key.workspace,
            actor.user_id,
            conversation_id,
            model,
            used.prompt_tokens,
            used.completion_tokens,
            provider=provider,
            estimated=used.estimated,
        )

    def sees_images(self, model: str) -> bool:
        info = self.catalog.get(model)
        return bool(info and info.vision)

    def _attachment_notes(self, history: list[StoredMessage], model: str, sees_images: bool) -> list[str]:
        """Notes about the files of the messages this answer replies to (those after the last answer)."""
        notes: list[str] = []
        images = 0
        for message in reversed(history):
            if message.role == "assistant":
                break
            notes[:0] = message.extra.get("attachment_notes") or []
            images += len(message.extra.get("images") or [])
        if images and not sees_images:
            seeing = [m.id for m in self.catalog.models if m.vision][:3]
            hint = f" Switch with `/model`, e.g. to {', '.join(f'`{m}`' for m in seeing)}." if seeing else ""
            left_out = "the images were" if images > 1 else "the image was"
            notes.append(f"🖼️ *`{model}` cannot see images, so {left_out} left out.{hint}*")
        return notes


def request_for(plan: AnswerPlan, model: str, fitted: FittedPrompt) -> ChatRequest:
    """The router request for `model` with the plan's generation settings and the fitted messages."""
    return ChatRequest(
        model=model,
        messages=fitted.messages,
        max_tokens=fitted.max_tokens,
        temperature=plan.generation.temperature,
        top_p=plan.generation.top_p,
        extra=plan.generation.extra_body(),
    )


_ENDED = object()  # the stream had no event at all


def requested(events: AsyncIterator[StreamEvent]) -> tuple[AsyncIterator[StreamEvent], asyncio.Task]:
    """Start the router request now, in a task that takes the stream's first event, and give back the same events
    (that one first) and the task. The answer's reply row is written meanwhile, so the database and the router
    wait for each other no more. Whatever the first event is, a failure included (RouterError), it reaches the
    stream's reader where it always did, once the row exists; a row that cannot be written calls the request
    off (`call_off`) before anything is shown or stored of it."""

    async def first() -> object:
        return await anext(events, _ENDED)

    request = asyncio.create_task(first(), name="router-request")

    async def replayed() -> AsyncIterator[StreamEvent]:
        event = await request  # a Stop (the reader cancelled) while waiting cancels the request too
        if event is _ENDED:
            return
        yield event  # type: ignore[misc]
        async for event in events:
            yield event

    return replayed(), request


async def call_off(request: asyncio.Task, events: AsyncIterator[StreamEvent]) -> None:
    """Cancel a request `requested` started, if its stream did not read it to the end, and let go of its connection;
    an outcome nobody read (a failure included) is dropped: nothing was stored to show it in."""
    request.cancel()
    await asyncio.gather(request, return_exceptions=True)
    close = getattr(events, "aclose", None)
    if close is not None:
        with contextlib.suppress(Exception):  # ended already, or ending: nothing left to let go of
            await close()

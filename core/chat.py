"""The use cases every front end shares: answer a message, choose a model, stop, regenerate,
continue, list, export and delete conversations.

An adapter turns a platform event into one call here and hands over a `ReplySink` for talking back.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

from core.assistants import AssistantService
from core.attachments import Attachment, NothingReadable, limits_for_room, process_attachments
from core.compare import Compared, HeaderSink, SinkFactory, check_models
from core.config import Settings
from core.context import answer_budget, estimate_tokens, fit_messages
from core.errors import EmptyPrompt, InvalidSetting, NotAllowed, NotFound, PromptTooLong, StoreUnavailable
from core.keys import Actor, ConversationKey
from core.limits import LimitsService
from core.models import ModelCatalog
from core.omni import OMNI, failover_note, failover_stream, is_omni, standing_in
from core.ops import metrics
from core.records import Assistant, Conversation, MessageStatus, Scope, StoredMessage
from core.router import ChatRequest, RouterClient
from core.settings.places import answer_places, place_of
from core.settings.resolver import Preferences
from core.settings.snapshot import SettingsSnapshot
from core.store.base import Store
from core.streaming import PlatformLimits, ReplySink, ReplyState, ReplyStream
from core.throttle import Throttle
from core.titles import generate_title
from core.tools.service import ToolService
from core.usage import UsageService, Used, answer_usage

log = logging.getLogger(__name__)

HISTORY_LIMIT = 400  # newest messages loaded before fitting to the context window
CONTINUE_INSTRUCTION = "Continue your previous answer exactly where it stopped, without repeating anything."
NOTE_DROPPED = "ℹ️ *{n} older message{s} no longer fit this model's context and {were} left out.*"
# told in the chat where the platform will not deliver the message again (Discord, Slack's Socket Mode)
NOT_SAVED = "⚠️ I couldn't save your message (the database is unavailable), so I can't answer it. Please send it again."
CHECKPOINT_SECONDS = 2.0  # how often the partial text of a streaming answer is saved (only when it grew)
UNRELEASED_LIMIT = 1000  # event claims remembered when the database would not take them back
# zero-width and bidi controls that make a message look non-empty while saying nothing
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e"))


# reads a thread's messages newer than the given epoch time (0: all), oldest first, each with its created_at
EarlierMessages = Callable[[float], Awaitable[list[StoredMessage]]]


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """The model an answer uses and where the choice comes from: a scope's name, "assistant" or "default"."""

    model: str
    where: str
    assistant: str = ""  # the assistant's name, when it chose

    @property
    def source(self) -> str:
        """Where it comes from, as every front end says it."""
        return {
            "conversation": "set for this conversation",
            "assistant": f"from the assistant {self.assistant}",
            "user": "your default",
            "channel": "this channel's default",
            "workspace": "the workspace's default",
        }.get(self.where, "the default")


@dataclass(slots=True)
class ReplyOutcome:
    reply_id: int
    state: ReplyState
    conversation_id: int


@dataclass(slots=True)
class DeletedFrom:
    conversation: Conversation
    messages: list[StoredMessage]  # what was deleted, oldest first (adapters remove the bot's posts of them)


@dataclass(slots=True)
class Submitted:
    conversation: Conversation
    message_id: int
    queued: bool  # a reply is already streaming; this message is answered next, with any others
    reply: asyncio.Task | None = None  # resolves to the last ReplyOutcome of this lane run


@dataclass
class _Lane:
    """One conversation's reply slot in this process."""

    busy: bool = False
    pending: int = 0
    pending_sink: ReplySink | None = None
    pending_actor: Actor | None = None
    current: ReplyStream | None = None
    current_requester: str = ""
    task: asyncio.Task | None = None
    waiters: list[asyncio.Future] = field(default_factory=list)


class AnswerCheckpoints:
    """Saves the partial text of an answer while it streams, so a process killed mid-answer leaves it
    stored (the restart marks it interrupted, with that text). Driven by the stream's reader: at most one
    write every `every` seconds, in a task of its own so reading never waits on the database. A write per
    token would make answers the database's busiest load.

    Also saved at once when the answer's first message is posted (with that message's id), and with the
    id of its newest message when it runs over several (`extra["last_message"]`).
    """

    def __init__(
        self,
        store: Store,
        reply_id: int,
        stream: ReplyStream,
        platform: str,
        every: float,
        before: StoredMessage | None,
    ):
        self.store = store
        self.reply_id = reply_id
        self.stream = stream
        self.platform = platform
        self.every = every
        self.before = before  # the answer a Continue extends
        self._saved = (-1, "")  # (state version, last message id) already stored
        self._due = time.monotonic() + every
        self._lock = asyncio.Lock()
        self._writer: asyncio.Task | None = None
        self._done = False
        stream.on_progress = self._progress

    def _progress(self) -> None:
        if self._done or time.monotonic() < self._due or (self._writer is not None and not self._writer.done()):
            return
        self._due = time.monotonic() + self.every
        self._writer = asyncio.create_task(self.save(), name=f"checkpoint-{self.reply_id}")

    async def finish(self) -> None:
        """No more checkpoints; one under way completes first, so the final update always comes last."""
        self._done = True
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)

    async def save(self, **fields) -> None:
        """Write the text so far (and `fields`) if anything changed since the last write; never raises."""
        async with self._lock:
            if self._done and not fields:
                return
            state = self.stream.state
            saving = (state.version, self.stream.last_ref_id())
            if saving == self._saved and not fields:
                return
            last = saving[1]
            before = self.before
            fields["content"] = (before.content if before else "") + state.answer
            fields["reasoning"] = (before.reasoning if before else "") + state.reasoning
            # the stored platform id is the answer's first message; a Continue writes into new ones
            if last and last != self._saved[1] and (last != self.stream.first_ref_id() or before is not None):
                fields["extra"] = {**(before.extra if before else {}), "last_message": last}
            try:
                await self.store.update_message(self.reply_id, **fields)
            except Exception as exc:  # the next checkpoint (or the final update) tries again
                log.warning("checkpoint of reply %s failed: %s", self.reply_id, type(exc).__name__)
                return
            self._saved = saving
            metrics.CHECKPOINTS.labels(self.platform).inc()


def clean_prompt(text: str) -> str:
    """The prompt as the model should see it; raises EmptyPrompt when nothing is left."""
    text = text.replace("\r\n", "\n").replace("\x00", "")
    text = "".join(ch for ch in text if ch in "\n\t" or ord(ch) >= 32)
    if not text.translate(_INVISIBLE).strip():
        raise EmptyPrompt()
    return text.strip()


class ChatService:
    def __init__(self, settings: Settings, store: Store, router: RouterClient, catalog: ModelCatalog):
        self.settings = settings
        self.store = store
        self.router = router
        self.catalog = catalog
        self.preferences = Preferences(settings, store, catalog)
        self.assistants = AssistantService(store, catalog)
        self.usage = UsageService(store, catalog)
        self.limits = LimitsService(store, catalog)
        self.tools = ToolService(settings)
        self._lanes: dict[int, _Lane] = {}
        self._throttles: dict[Hashable, Throttle] = {}
        self.worker_id = ""  # this process among those sharing the store; stamped on replies it writes
        self._background: set[asyncio.Task] = set()  # titles being written
        self.checkpoint_seconds = CHECKPOINT_SECONDS
        # claims release_event could not give back (database down): ours still, so a redelivery is handled
        self._unreleased: dict[tuple[str, str], None] = {}

    def throttle_for(self, sink: ReplySink) -> Throttle:
        """One throttle per kind of limits (in practice, per platform), shared by all its streams."""
        return self._throttle(sink.limits)

    def _throttle(self, limits: PlatformLimits) -> Throttle:
        throttle = self._throttles.get(limits)
        if throttle is None:
            throttle = self._throttles[limits] = Throttle(
                limits.edit_interval, bucket_rate=limits.bucket_rate, bucket_burst=limits.bucket_burst
            )
        return throttle

    # settings resolution: one order for every reader (core.generation.Preferences.resolve), assistants included
    async def _assistant_here(
        self, key: ConversationKey, user_id: str, conversation: Conversation | None, reads: SettingsSnapshot | None
    ) -> Assistant | None:
        """The conversation's assistant, or the one a new conversation here would start with."""
        assistants = _reading(self.assistants, reads) if reads else self.assistants
        if conversation is not None:
            return await assistants.for_conversation(conversation)
        return await assistants.default_for(key, user_id)

    async def resolve(
        self, name: str, key: ConversationKey, user_id: str, conversation_id: int | None = None
    ) -> tuple[str | None, str]:
        """A setting as an answer here would read it: (value, where it comes from), (None, "") if unset."""
        conversation = await self.store.get_conversation_by_id(conversation_id) if conversation_id else None
        assistant = await self._assistant_here(key, user_id, conversation, None)
        return await self.preferences.resolve(name, key, user_id, conversation_id, assistant)

    def default_model(self) -> str:
        return self.settings.default_model

    async def model_choice(
        self,
        key: ConversationKey,
        user_id: str,
        conversation_id: int | None = None,
        *,
        conversation: Conversation | None = None,
        reads: SettingsSnapshot | None = None,
    ) -> ModelChoice:
        """The model an answer here uses, and where that choice comes from (what `/model` shows).

        `conversation` (the one `conversation_id` names) and `reads` (the settings here) save queries when at hand.
        """
        if conversation is None and conversation_id is not None:
            conversation = await self.store.get_conversation_by_id(conversation_id)
        assistant = await self._assistant_here(key, user_id, conversation, reads)
        preferences = _reading(self.preferences, reads) if reads else self.preferences
        model, where = await preferences.resolve("model", key, user_id, conversation_id, assistant)
        if model is None:
            return ModelChoice(self.default_model(), "default")
        return ModelChoice(model, where, assistant.name if where == "assistant" and assistant else "")

    async def resolve_model(
        self,
        key: ConversationKey,
        user_id: str,
        conversation_id: int | None = None,
        *,
        conversation: Conversation | None = None,
        reads: SettingsSnapshot | None = None,
    ) -> str:
        """The model an answer here uses (see `model_choice`)."""
        choice = await self.model_choice(key, user_id, conversation_id, conversation=conversation, reads=reads)
        return choice.model

    async def _settings_here(self, key: ConversationKey, user_id: str, conversation_id: int | None) -> SettingsSnapshot:
        """Every setting an answer at `key` may read (model, assistant, options, limits), in one query."""
        return await SettingsSnapshot.read(self.store, key.platform, answer_places(key, user_id, conversation_id))

    async def set_model(self, actor: Actor, key: ConversationKey, scope: Scope, name: str | None) -> str | None:
        """Validate and store a model choice at a scope; None clears it. Returns the stored name."""
        conversation_id = await self._conversation_to_configure(actor, key, scope, "model")
        if scope in (Scope.CHANNEL, Scope.WORKSPACE) and not actor.is_admin:
            raise NotAllowed(f"Only an admin can set the {scope.value} default model.")
        value = (OMNI if is_omni(name) else self.catalog.validate(name)) if name else None
        if value:
            self.limits.check_model(await self.limits.get(key.platform, key.workspace), value)
        workspace, scope_id = place_of(key, scope, actor.user_id, conversation_id)
        await self.store.set_setting(key.platform, workspace, scope, scope_id, "model", value)
        if value:
            await self._remember_recent_model(actor, key.platform, value)
        return value

    async def _remember_recent_model(self, actor: Actor, platform: str, model: str) -> None:
        recent = await self.recent_models(actor, platform)
        recent = [model] + [m for m in recent if m != model]
        await self.store.set_setting(platform, "", Scope.USER, actor.user_id, "recent_models", "\n".join(recent[:10]))

    async def recent_models(self, actor: Actor, platform: str) -> list[str]:
        value = await self.store.get_setting(platform, "", Scope.USER, actor.user_id, "recent_models")
        return [m for m in (value or "").split("\n") if m]

    async def set_option(
        self, actor: Actor, key: ConversationKey, scope: Scope, name: str, value: str | None
    ) -> str | None:
        """Validate and store a generation setting, system prompt, provider or omni route; None clears it."""
        conversation_id = await self._conversation_to_configure(actor, key, scope, "settings")
        return await self.preferences.set(actor, key, scope, name, value, conversation_id)

    async def _conversation_to_configure(
        self, actor: Actor, key: ConversationKey, scope: Scope, what: str
    ) -> int | None:
        """For a conversation-scoped setting: the conversation's id (created if new), owner or admin only."""
        if scope is not Scope.CONVERSATION:
            return None
        conversation = await self.store.get_conversation(key)
        if conversation is None:
            conversation = await self.store.create_conversation(key, actor.user_id)
            await self.assistants.pin(conversation, actor.user_id)
        self._check_owner_or_admin(conversation, actor, f"change this conversation's {what}")
        return conversation.id

    async def describe_settings(self, key: ConversationKey, user_id: str) -> list[tuple[str, str | None, str]]:
        """(name, value, where it comes from) for the model and every option, as an answer here would use them."""
        conversation = await self.store.get_conversation(key)
        assistant = await self._assistant_here(key, user_id, conversation, None)
        return await self.preferences.listing(key, user_id, conversation.id if conversation else None, assistant)

    async def use_assistant_here(
        self, actor: Actor, key: ConversationKey, assistant_id: int | None, *, title: str = ""
    ) -> Assistant | None:
        """Give the conversation at `key` one of the actor's assistants (None: no assistant) from its next
        answer on. A new conversation is created (named `title`); an existing one: owner or admin only."""
        assistant = await self.assistants.visible(actor, key, assistant_id) if assistant_id is not None else None
        if assistant_id is not None and assistant is None:
            raise NotFound("That assistant no longer exists.")
        conversation = await self.store.get_conversation(key)
        if conversation is None:
            conversation = await self.store.create_conversation(key, actor.user_id, _title(title))
        self._check_owner_or_admin(conversation, actor, "change its assistant")
        await self.assistants.set_for_conversation(conversation, assistant)
        return assistant

    # answering
    async def submit(
        self,
        key: ConversationKey,
        actor: Actor,
        text: str,
        sink: ReplySink,
        *,
        platform_message_id: str = "",
        title: str = "",
        earlier: EarlierMessages | None = None,
        attachments: list[Attachment] | None = None,
    ) -> Submitted:
        """Store a user message and answer it (now, or right after the reply in progress).

        `attachments` (files already downloaded by the adapter) are read here: images, documents and a
        note for each file that could not be used; a message may be files only.

        `earlier` reads what a thread the bot is adopting held before this message (a first mention in
        someone else's thread); it is asked only when no conversation exists here yet, and never for what
        the thread held before its conversation was erased.
        """
        try:
            text = clean_prompt(text)
        except EmptyPrompt:
            if not attachments:
                raise
            text = ""
        self._refuse_too_long(text)
        conversation = await self.store.get_conversation(key)
        conversation_id = conversation.id if conversation else None
        reads = await self._settings_here(key, actor.user_id, conversation_id)
        model = await self.resolve_model(key, actor.user_id, conversation_id, conversation=conversation, reads=reads)
        room = self._refuse_too_long(text, model)
        await _reading(self.limits, reads).check_message(key, actor, text, model)
        extra: dict = {}
        if attachments:
            files = await process_attachments(attachments, limits_for_room(room - estimate_tokens(text)))
            if not text and not files.usable:
                raise NothingReadable("\n".join(files.notes) or "None of the files could be read.")
            extra = files.as_extra()
        created: Conversation | None = None
        adopted = 0
        try:
            if conversation is None:
                first_line = text or ", ".join(d["name"] for d in extra.get("documents", []) + extra.get("images", []))
                title = title or _title(first_line)
                # untitled until its first message is stored: the title is that message's text
                conversation = created = await self.store.create_conversation(key, actor.user_id)
                await self.assistants.pin(conversation, actor.user_id)
                # adopting an existing thread: its earlier text comes in once, as context
                for message in await self._adoptable(key, earlier):
                    message.content = clean_prompt(message.content)[: self.settings.max_prompt_chars]
                    await self.store.add_message(conversation.id, message)
                    adopted += 1
            message_id = await self.store.add_message(
                conversation.id,
                StoredMessage(
                    role="user",
                    content=text,
                    author_id=actor.user_id,
                    author_name=actor.display_name,
                    platform_message_id=platform_message_id,
                    extra=extra,
                ),
            )
        except StoreUnavailable:
            if created is not None:  # not half of it: the conversation made for this message goes too
                await self._forget(created, adopted)
            raise
        if created is not None and not created.title:
            created.title = title
            try:
                await self.store.set_title(created.id, title)
            except StoreUnavailable:  # the message is stored: answer it; an auto title may come later
                log.warning("conversation %s stays untitled: the database is unavailable", created.id)
        lane = self._lanes.setdefault(conversation.id, _Lane())
        if lane.busy:
            lane.pending += 1
            lane.pending_sink, lane.pending_actor = sink, actor
            return Submitted(conversation, message_id, queued=True, reply=lane.task)
        lane.busy = True
        lane.task = asyncio.create_task(self._drive(conversation, lane, sink, actor), name=f"reply-{conversation.id}")
        return Submitted(conversation, message_id, queued=False, reply=lane.task)

    def _refuse_too_long(self, text: str, model: str | None = None) -> int:
        """PromptTooLong past the length limit or, given the model, past what it can read; else the room left
        (in tokens, with room for the answer)."""
        if len(text) > self.settings.max_prompt_chars:
            raise PromptTooLong(
                f"Your message is {len(text):,} characters; the limit is {self.settings.max_prompt_chars:,}."
            )
        if model is None:
            return 0
        window = self.catalog.context_window(model)
        room = window - answer_budget(window, self.settings.max_tokens)
        if estimate_tokens(text) > room:
            raise PromptTooLong(
                f"Your message is about {estimate_tokens(text):,} tokens, more than `{model}` can read "
                f"(about {room:,} with room for the answer). Shorten it or pick a model with a longer context."
            )
        return room

    async def _adoptable(self, key: ConversationKey, earlier: EarlierMessages | None) -> list[StoredMessage]:
        """What a new conversation at `key` takes in from its thread: nothing from before an erasure there."""
        if earlier is None:
            return []
        erased = await self.store.erased_at(key)
        if erased is None:
            return await earlier(0.0)
        return [m for m in await earlier(erased) if m.created_at > erased]

    async def _forget(self, conversation: Conversation, adopted: int) -> None:
        """Erase a conversation just created for a message that could not be stored, unless another
        message has arrived in it since (it holds more than the `adopted` earlier thread messages). If the
        database refuses this too, an untitled empty conversation is left, which a redelivery reuses."""
        try:
            if await self.store.count_messages(conversation.id) <= adopted:
                await self.store.delete_conversation(conversation.id)
        except StoreUnavailable:
            log.warning("conversation %s left without its first message: the database is unavailable", conversation.id)

    # platform events: claimed once; given back when what they carry could not be stored
    async def claim_event(self, platform: str, event_id: str) -> bool:
        """True when this process should handle the event: its first delivery, or the redelivery of one
        whose claim could not be given back. Raises StoreUnavailable when the database is down."""
        if (platform, event_id) in self._unreleased:
            del self._unreleased[(platform, event_id)]
            return True
        return await self.store.claim_event(platform, event_id)

    async def release_event(self, platform: str, event_id: str) -> None:
        """Give a claim back (its message was not stored) so that a redelivery is handled. While the
        database is down the claim stays ours; a redelivery reaching this process is handled all the same."""
        try:
            await self.store.release_event(platform, event_id)
        except StoreUnavailable:
            self._unreleased[(platform, event_id)] = None
            while len(self._unreleased) > UNRELEASED_LIMIT:
                del self._unreleased[next(iter(self._unreleased))]

    async def _drive(
        self,
        conversation: Conversation,
        lane: _Lane,
        sink: ReplySink,
        actor: Actor,
        continue_from: StoredMessage | None = None,
    ) -> ReplyOutcome | None:
        outcome = None
        try:
            while True:
                async with self.store.conversation_lock(conversation.id):
                    if continue_from is not None or not await self._answered_elsewhere(conversation.id):
                        outcome = await self._answer(conversation, lane, sink, actor, continue_from)
                        if continue_from is None:
                            self._title_later(conversation, sink, outcome)
                continue_from = None
                if not lane.pending or lane.pending_sink is None:
                    return outcome
                sink, actor = lane.pending_sink, lane.pending_actor or actor
                lane.pending, lane.pending_sink, lane.pending_actor = 0, None, None
        except Exception:
            log.exception("reply failed in conversation %s", conversation.id)
            raise
        finally:
            lane.busy = False
            lane.current = None
            if self._lanes.get(conversation.id) is lane:
                del self._lanes[conversation.id]

    async def _answered_elsewhere(self, conversation_id: int) -> bool:
        """True when the newest message is already an answer: another process sharing the database
        answered our queued messages while we waited for the conversation lock."""
        newest = await self.store.recent_messages(conversation_id, 1)
        return bool(newest) and newest[-1].role == "assistant"

    async def _answer(
        self,
        conversation: Conversation,
        lane: _Lane,
        sink: ReplySink,
        actor: Actor,
        continue_from: StoredMessage | None,
    ) -> ReplyOutcome:
        key = conversation.key
        history, reads = await asyncio.gather(
            self.store.recent_messages(conversation.id, HISTORY_LIMIT),
            self._settings_here(key, actor.user_id, conversation.id),
        )
        plan = await _reading(self.preferences, reads).plan(
            key,
            actor.user_id,
            conversation.id,
            await _reading(self.assistants, reads).for_conversation(conversation),
            has_images=any(m.extra.get("images") for m in history),
        )
        model, system_prompt = plan.model, plan.system_prompt
        if continue_from is not None:
            history = [m for m in history if m.id is not None and m.id <= continue_from.id]
            history.append(StoredMessage(role="user", content=CONTINUE_INSTRUCTION, author_id="system"))
        sees_images = self.sees_images(model)
        fitted = fit_messages(
            history,
            system_prompt=system_prompt,
            context_window=self.catalog.context_window(model),
            max_tokens=plan.generation.max_tokens or self.settings.max_tokens,
            vision=sees_images,
            tools=self.tools.model_supports_tools(self.catalog, model),
        )
        notes = list(plan.notes)
        if continue_from is None:
            notes += self._attachment_notes(history, model, sees_images)
        if fitted.dropped:
            notes.append(
                NOTE_DROPPED.format(
                    n=fitted.dropped, s="s" if fitted.dropped > 1 else "", were="were" if fitted.dropped > 1 else "was"
                )
            )
        if continue_from is not None:
            reply_id = continue_from.id
            await self.store.update_message(reply_id, status=MessageStatus.STREAMING.value, worker_id=self.worker_id)
        else:
            reply_id = await self.store.add_message(
                conversation.id,
                StoredMessage(
                    role="assistant",
                    content="",
                    model=model,
                    status=MessageStatus.STREAMING,
                    worker_id=self.worker_id,
                ),
            )
        fallback_limits = getattr(sink, "fallback_limits", None)
        fallback = (self._throttle(fallback_limits), fallback_limits) if fallback_limits else None
        stream = ReplyStream(
            sink,
            self.throttle_for(sink),
            reply_id=reply_id,
            model=model,
            notes=notes,
            conversation_id=conversation.id,
            fallback=fallback,
        )
        every = self.checkpoint_seconds
        checkpoints = AnswerCheckpoints(self.store, reply_id, stream, key.platform, every, continue_from)
        if continue_from is None:

            async def remember_where(ref_id: str) -> None:
                await checkpoints.save(platform_message_id=ref_id)

            stream.on_first_message = remember_where
        lane.current, lane.current_requester = stream, actor.user_id
        request = ChatRequest(
            model=model,
            messages=fitted.messages,
            max_tokens=fitted.max_tokens,
            temperature=plan.generation.temperature,
            top_p=plan.generation.top_p,
            extra=plan.generation.extra_body(),
        )
        log.info(
            "reply %s started: conversation=%s model=%s messages=%d dropped=%d",
            reply_id,
            conversation.id,
            model,
            len(fitted.messages),
            fitted.dropped,
        )
        on_failover = lambda failures, answered_by: stream.notes.append(failover_note(failures, answered_by))  # noqa: E731
        tools = await self.tools.registry_for(self.catalog, model, web_search=plan.web_search)
        limits = await _reading(self.limits, reads).get(key.platform, key.workspace)
        models = standing_in(  # omni's route or a chosen model's fallbacks, those that can answer this
            plan.models,
            self.catalog,
            allowed=lambda name: self.limits.model_allowed(limits, name),
            tools=tools is not None or any("tool_calls" in m for m in fitted.messages),
            vision=sees_images and any(m.extra.get("images") for m in history),
            prompt_tokens=fitted.prompt_tokens,
        )
        log.debug(
            "reply %s plan: prompt_tokens~%d max_tokens=%d fallbacks=%d tools=%s",
            reply_id,
            fitted.prompt_tokens,
            fitted.max_tokens,
            len(models) - 1,
            tools is not None,
        )
        used_tools: list[dict] = []  # the tool calls and their results, stored with the answer
        if tools is not None:
            events = self.tools.stream(self.router, request, models, tools, on_failover, record=used_tools)
        else:
            events = failover_stream(self.router, request, models, on_failover)
        metrics.ACTIVE_STREAMS.labels(key.platform).inc()
        try:
            state = await stream.run(events)
        finally:
            metrics.ACTIVE_STREAMS.labels(key.platform).dec()
            await checkpoints.finish()
        metrics.answer_finished(key.platform, state, stream.stats)
        content = state.answer
        reasoning = state.reasoning
        if continue_from is not None:
            content = continue_from.content + content
            reasoning = continue_from.reasoning + reasoning
        first_ref = stream.first_ref_id()
        used = answer_usage(state, fitted.prompt_tokens)
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
            model=state.model or model,
            provider=state.provider,
            prompt_tokens=used.prompt_tokens if used else None,
            completion_tokens=used.completion_tokens if used else None,
            first_token_ms=state.first_token_ms,
            total_ms=state.total_ms,
            **({"platform_message_id": first_ref} if first_ref and continue_from is None else {}),
            **({"extra": extra} if extra is not None else {}),
        )
        if used:
            await self._record_usage(key, actor, conversation.id, state.model or model, state.provider, used)
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
        return ReplyOutcome(reply_id, state, conversation.id)

    async def _record_usage(
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

    async def wait_idle(self) -> None:
        """Wait until no reply (or title) is being written in this process."""
        while tasks := [lane.task for lane in self._lanes.values() if lane.task is not None and not lane.task.done()]:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    # titles
    def _title_later(self, conversation: Conversation, sink: ReplySink, outcome: ReplyOutcome | None) -> None:
        """After a conversation's first answer, name it in the background (the next answer need not wait)."""
        if not self.settings.auto_titles or outcome is None or not outcome.state.answer.strip():
            return
        task = asyncio.create_task(self._write_title(conversation, sink, outcome), name=f"title-{conversation.id}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _write_title(self, conversation: Conversation, sink: ReplySink, outcome: ReplyOutcome) -> str | None:
        try:
            messages = await self.store.recent_messages(conversation.id, 50)
            answers = [m for m in messages if m.role == "assistant" and m.content.strip()]
            if len(answers) != 1 or answers[0].id != outcome.reply_id:
                return None  # not the first answer (a regenerated one keeps the title it has)
            prompt = "\n\n".join(m.content for m in messages if m.role == "user" and m.id < outcome.reply_id)
            title = await generate_title(
                self.router, self.settings.title_model or answers[0].model, prompt, answers[0].content
            )
            title = title or _title(prompt) or conversation.title
            if not title:
                return None
            await self.store.set_title(conversation.id, title)
            conversation.title = title
            rename = getattr(sink, "set_title", None)  # optional sink method: rename the thread
            if rename is not None:
                await rename(title)
            return title
        except Exception as exc:  # a title is a nicety: never let it break anything
            log.warning("title for conversation %s failed: %s", conversation.id, type(exc).__name__)
            return None

    async def shutdown(self, grace: float = 10.0) -> None:
        """Let replies in flight finish for `grace` seconds, then stop them (their text is kept)."""
        try:
            # shielded: on timeout wait_for cancels what it awaits, and that must not be the replies
            await asyncio.wait_for(asyncio.shield(self.wait_idle()), grace)
        except TimeoutError:
            for lane in list(self._lanes.values()):
                lane.pending = 0
                if lane.current is not None:
                    lane.current.stop()
            await self.wait_idle()

    def is_streaming(self, conversation_id: int) -> bool:
        lane = self._lanes.get(conversation_id)
        return bool(lane and lane.current)

    async def stop(self, conversation_id: int, actor: Actor) -> bool:
        """Stop the reply streaming in a conversation; True if there was one."""
        lane = self._lanes.get(conversation_id)
        if lane is None or lane.current is None:
            return False
        conversation = await self.store.get_conversation_by_id(conversation_id)
        if conversation and conversation.key.platform != actor.platform:
            raise NotFound("That conversation no longer exists.")
        # an admin only of the workspace they administer (like _check_owner_or_admin)
        admin_here = actor.is_admin and conversation is not None and conversation.key.workspace == actor.workspace
        if conversation and actor.user_id not in (lane.current_requester, conversation.owner_id) and not admin_here:
            raise NotAllowed("Only the person who asked, the conversation's owner or an admin can stop this answer.")
        lane.pending = 0  # stopping also drops the queued follow-up answer; the messages stay stored
        lane.current.stop()
        return True

    async def _last_reply(self, conversation: Conversation) -> StoredMessage:
        for message in reversed(await self.store.recent_messages(conversation.id, 50)):
            if message.role == "assistant":
                return message
        raise NotFound("There is no answer to redo in this conversation yet.")

    async def regenerate(self, conversation_id: int, actor: Actor, sink: ReplySink) -> Submitted:
        """Answer the last question again, replacing the last answer."""
        conversation = await self._conversation(conversation_id)
        self._check_owner_or_admin(conversation, actor, "regenerate its answer")
        lane = self._lanes.setdefault(conversation.id, _Lane())
        if lane.busy:
            raise NotAllowed("An answer is still being written here. Stop it first.")
        last = await self._last_reply(conversation)
        await self.store.delete_messages_from(conversation.id, last.id)
        lane.busy = True
        lane.task = asyncio.create_task(self._drive(conversation, lane, sink, actor))
        return Submitted(conversation, last.id, queued=False, reply=lane.task)

    async def continue_reply(self, conversation_id: int, actor: Actor, sink: ReplySink) -> Submitted:
        """Resume an answer cut by the length limit; the stored answer grows in place."""
        conversation = await self._conversation(conversation_id)
        self._check_owner_or_admin(conversation, actor, "continue its answer")
        lane = self._lanes.setdefault(conversation.id, _Lane())
        if lane.busy:
            raise NotAllowed("An answer is still being written here.")
        last = await self._last_reply(conversation)
        if last.status not in (MessageStatus.TRUNCATED, MessageStatus.STOPPED, MessageStatus.INTERRUPTED):
            raise NotAllowed("The last answer is complete; there is nothing to continue.")
        lane.busy = True
        lane.task = asyncio.create_task(self._drive(conversation, lane, sink, actor, continue_from=last))
        return Submitted(conversation, last.id, queued=False, reply=lane.task)

    # direct messages: no threads there, so a "current conversation" per DM channel
    async def dm_thread(self, platform: str, workspace: str, channel: str, *, new: bool = False) -> str:
        """The current conversation's thread id in a DM channel; `new=True` starts another."""
        current = await self.store.get_setting(platform, workspace, Scope.CHANNEL, channel, "current_thread")
        if current is None or new:
            current = f"dm-{time.time_ns()}"
            await self.store.set_setting(platform, workspace, Scope.CHANNEL, channel, "current_thread", current)
        return current

    async def use_dm_thread(self, platform: str, workspace: str, channel: str, thread: str) -> None:
        """Make an older DM conversation current again (e.g. the user replied to one of its answers)."""
        await self.store.set_setting(platform, workspace, Scope.CHANNEL, channel, "current_thread", thread)

    # conversations
    async def _conversation(self, conversation_id: int) -> Conversation:
        conversation = await self.store.get_conversation_by_id(conversation_id)
        if conversation is None:
            raise NotFound("That conversation no longer exists.")
        return conversation

    @staticmethod
    def _check_owner_or_admin(conversation: Conversation, actor: Actor, action: str) -> None:
        """Owners may act on their conversations; admins only within the workspace they administer."""
        if conversation.key.platform != actor.platform:
            raise NotFound("That conversation no longer exists.")
        if conversation.owner_id == actor.user_id:
            return
        if actor.is_admin and conversation.key.workspace == actor.workspace:
            return
        raise NotAllowed(f"Only the conversation's owner or an admin can {action}.")

    async def conversation_for(self, key: ConversationKey) -> Conversation | None:
        return await self.store.get_conversation(key)

    async def _stop_and_wait(self, conversation_id: int) -> None:
        """Stop the answer being written (and the queued follow-up) before its messages are deleted."""
        lane = self._lanes.get(conversation_id)
        if lane is not None and lane.current is not None:
            lane.pending = 0
            lane.current.stop()
            if lane.task is not None:
                await asyncio.gather(lane.task, return_exceptions=True)

    async def delete_conversation(self, conversation_id: int, actor: Actor) -> Conversation:
        """Erase a conversation for real (owner or admin only); a reply in progress is stopped."""
        conversation = await self._conversation(conversation_id)
        self._check_owner_or_admin(conversation, actor, "delete it")
        await self._stop_and_wait(conversation.id)
        await self.store.delete_conversation(conversation.id)
        log.info(
            "conversation %s deleted by its %s",
            conversation.id,
            "owner" if conversation.owner_id == actor.user_id else "admin",
        )
        return conversation

    async def delete_from_message(self, platform_message_id: str, actor: Actor) -> DeletedFrom:
        """Delete from here: the stored message with this platform id, and every later one of its
        conversation. Owner or admin only; a reply being written there is stopped first."""
        message = await self.store.find_by_platform_message(actor.platform, platform_message_id)
        if message is None or message.conversation_id is None or message.id is None:
            raise NotFound("That message is not part of a conversation I keep (or it was already deleted).")
        return await self._delete_from(await self._conversation(message.conversation_id), message.id, actor)

    async def forget(self, key: ConversationKey, actor: Actor, turns: int = 1) -> DeletedFrom:
        """Delete the last `turns` questions of a conversation and everything after the first of them."""
        if turns < 1:
            raise InvalidSetting("Say how many of your last messages to forget: 1 or more.")
        conversation = await self.store.get_conversation(key)
        if conversation is None:
            raise NotFound("There is no conversation here yet.")
        questions = [m for m in await self.store.recent_messages(conversation.id, 1_000_000) if m.role == "user"]
        if not questions:
            raise NotFound("There is nothing to forget here yet.")
        start = questions[-min(turns, len(questions))]
        return await self._delete_from(conversation, start.id, actor)

    async def _delete_from(self, conversation: Conversation, message_id: int, actor: Actor) -> DeletedFrom:
        self._check_owner_or_admin(conversation, actor, "delete its messages")
        await self._stop_and_wait(conversation.id)
        messages = [m for m in await self.store.recent_messages(conversation.id, 1_000_000) if m.id >= message_id]
        await self.store.delete_messages_from(conversation.id, message_id)
        log.info(
            "conversation %s: %d messages deleted from one on by its %s",
            conversation.id,
            len(messages),
            "owner" if conversation.owner_id == actor.user_id else "admin",
        )
        return DeletedFrom(conversation, messages)

    async def delete_user_data(self, actor: Actor) -> int:
        """Erase everything stored about the acting user on this platform."""
        for conversation in await self.store.list_conversations(actor.platform, actor.user_id, limit=1_000_000):
            lane = self._lanes.get(conversation.id)
            if lane is not None and lane.current is not None:
                lane.pending = 0
                lane.current.stop()
                if lane.task is not None:
                    await asyncio.gather(lane.task, return_exceptions=True)
        count = await self.store.delete_user_data(actor.platform, actor.user_id)
        log.info("user data erased on request: %d conversations", count)
        return count

    async def list_conversations(
        self, actor: Actor, limit: int = 25, workspace: str | None = None
    ) -> list[Conversation]:
        return await self.store.list_conversations(actor.platform, actor.user_id, limit, workspace)

    async def export_json(self, conversation_id: int, actor: Actor) -> str:
        """The conversation as JSON (same access as Markdown); attachments by name, not their bytes."""
        conversation = await self._conversation(conversation_id)
        self._check_owner_or_admin(conversation, actor, "export it")
        messages = await self.store.recent_messages(conversation.id, 1_000_000)

        def entry(m: StoredMessage) -> dict:
            files = [{"name": i["name"], "type": i["mime"]} for i in m.extra.get("images", [])]
            files += [{"name": d["name"], "type": d["kind"]} for d in m.extra.get("documents", [])]
            item = {
                "role": m.role,
                "author": m.author_name or m.author_id if m.role == "user" else None,
                "content": m.content,
                "reasoning": m.reasoning or None,
                "model": m.model or None,
                "provider": m.provider or None,
                "status": str(m.status),
                "prompt_tokens": m.prompt_tokens,
                "completion_tokens": m.completion_tokens,
                "usage_estimated": True if m.extra.get("usage_estimated") else None,
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(m.created_at)),
                "attachments": files,
                "tool_calls": m.extra.get("tools", []),
            }
            return {k: v for k, v in item.items() if v is not None and v != []}

        document = {
            "title": conversation.title,
            "platform": conversation.key.platform,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(conversation.created_at)),
            "messages": [entry(m) for m in messages],
        }
        return json.dumps(document, ensure_ascii=False, indent=2)

    async def reasoning(self, reply_id: int, actor: Actor) -> str:
        """The reasoning stored with an answer. Anyone of the workspace may read it (the answer is shown
        there); outside a workspace (DMs) only the conversation's owner."""
        message = await self.store.get_message(reply_id)
        conversation = await self.store.get_conversation_by_id(message.conversation_id) if message else None
        if message is None or conversation is None or conversation.key.platform != actor.platform:
            raise NotFound("That answer no longer exists.")
        if not (conversation.key.workspace and conversation.key.workspace == actor.workspace):
            self._check_owner_or_admin(conversation, actor, "read its reasoning")
        if not message.reasoning.strip():
            raise NotFound("This answer has no reasoning to show.")
        return message.reasoning

    async def last_reply_id(self, key: ConversationKey) -> int | None:
        conversation = await self.store.get_conversation(key)
        if conversation is None:
            return None
        replies = [m for m in await self.store.recent_messages(conversation.id, 50) if m.role == "assistant"]
        return replies[-1].id if replies else None

    async def check_message(self, key: ConversationKey, actor: Actor, text: str, model: str | None = None) -> None:
        """Raise what `submit` would refuse this message with (too long for the limit or the model, or past the
        workspace's limits); nothing is counted.

        For an adapter that shows the prompt (or opens a thread) before `submit`, which counts it."""
        model = model or await self.resolve_model(key, actor.user_id)
        self._refuse_too_long(text, model)
        await self.limits.check_message(key, actor, text, model, record=False)

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

        `on_start` runs once the request passed every check, before any answer is posted.

        Not part of any conversation's history (see core.compare); usage is recorded per model.
        """
        prompt = clean_prompt(prompt)
        if len(prompt) > self.settings.max_prompt_chars:
            raise PromptTooLong(
                f"Your message is {len(prompt):,} characters; the limit is {self.settings.max_prompt_chars:,}."
            )
        names = [self.catalog.validate(m) for m in check_models(models)]
        await self.limits.check_message(key, actor, prompt, names)
        conversation = await self.store.get_conversation(key)
        assistant = await self._assistant_here(key, actor.user_id, conversation, None)
        plan = await self.preferences.plan(key, actor.user_id, conversation.id if conversation else None, assistant)

        async def one(model: str) -> Compared:
            sink = HeaderSink(sink_factory(model), model)
            window = self.catalog.context_window(model)
            fitted = fit_messages(
                [StoredMessage(role="user", content=prompt, author_id=actor.user_id)],
                system_prompt=plan.system_prompt,
                context_window=window,
                max_tokens=plan.generation.max_tokens or self.settings.max_tokens,
            )
            request = ChatRequest(
                model=model,
                messages=fitted.messages,
                max_tokens=fitted.max_tokens,
                temperature=plan.generation.temperature,
                top_p=plan.generation.top_p,
                extra=plan.generation.extra_body(),
            )
            stream = ReplyStream(sink, self.throttle_for(sink), model=model)
            state = await stream.run(self.router.stream_chat(request))
            if used := answer_usage(state, fitted.prompt_tokens):
                await self._record_usage(key, actor, None, state.model or model, state.provider, used)
            return Compared(model, state)

        log.info("compare started: %d models", len(names))
        if on_start is not None:
            await on_start(names)
        return list(await asyncio.gather(*(one(m) for m in names)))

    async def export_markdown(self, conversation_id: int, actor: Actor) -> str:
        """The conversation as Markdown; only its owner (or an admin of its workspace) may read it."""
        conversation = await self._conversation(conversation_id)
        self._check_owner_or_admin(conversation, actor, "export it")
        messages = await self.store.recent_messages(conversation.id, 1_000_000)
        lines = [f"# {conversation.title or 'Conversation'}", ""]
        for message in messages:
            stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(message.created_at))
            if message.role == "user":
                who = message.author_name or "user"
            else:
                who = f"assistant ({message.model})" if message.model else "assistant"
            lines += [f"**{who}** · {stamp} UTC", ""]
            for call in message.extra.get("tools", []) if message.role == "assistant" else ():
                result = "\n".join("> " + line for line in call["result"].splitlines() if line.strip())
                arguments = call["arguments"].replace("`", "'")
                lines += [f"🛠️ `{call['name']}` `{arguments}`", "", result, ""]
            lines += [message.content, ""]
        return "\n".join(lines)

    async def on_message_edited(self, platform: str, platform_message_id: str, text: str) -> bool:
        message = await self.store.find_by_platform_message(platform, platform_message_id)
        if message is None or message.role != "user":
            return False
        await self.store.update_message(message.id, content=clean_prompt(text))
        return True

    async def on_message_deleted(self, platform: str, platform_message_id: str) -> bool:
        message = await self.store.find_by_platform_message(platform, platform_message_id)
        if message is None or message.role != "user":
            return False
        await self.store.delete_messages_from(message.conversation_id, message.id)
        return True


def _reading(service, reads: SettingsSnapshot):
    """`service` reading its settings from `reads` instead of the store. A shallow copy: what the service
    keeps in memory (the limits' message counters) stays shared with the original."""
    view = copy.copy(service)
    view.store = reads
    return view


def _title(text: str) -> str:
    first_line = text.strip().split("\n", 1)[0]
    return first_line[:77] + "…" if len(first_line) > 80 else first_line

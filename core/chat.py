"""The use cases every front end shares: the services that own them, built once, and the few calls that span several.

An adapter turns a platform event into one call and hands over a `ReplySink` for talking back. A use case that one
service owns is called on that service (`chat.preferences.set_model(...)`, `chat.replies.stop(...)`); the methods
here are those that compose several (submit, catch_up, about, account, delete_user_data, title_set_by_user, ...).
The attributes are the public API:

    preferences     settings and model choice at every scope: resolve, model_choice, set_model, set_option, describe
    assistants      assistants: create, edit, list, the default per scope (core.settings.assistants)
    intake          taking a message in: check (limits, length) before anything is shown, store (core.replies.intake)
    replies         the reply slot: answer, stop, is_streaming, wait_idle, shutdown (core.replies.scheduler)
    actions         the buttons under an answer: which ones, regenerate, continue_reply (core.replies.actions)
    comparer        compare: one prompt, 2 to 4 models side by side (core.replies.compare)
    pipeline        one answer: plan, run, finish (core.replies.pipeline)
    questions       clarifying questions waiting for a click (core.replies.clarify)
    conversations   find, list, pick, export, reasoning, erase, platform edits/deletes (core.conversations.service)
    routing         whether and where a message is answered: route (core.conversations.routing)
    claims          platform events answered once across processes: claim, release (core.conversations.claims)
    dms             the current conversation of each DM channel: current, use (core.conversations.dm)
    policy          channel policy, admin-checked (core.conversations.policy)
    bot_state       what the bot keeps about itself between restarts (core.bot_state)
    memory          what each person asked the bot to keep: command, note_if_asked (core.memory)
    memory_proposals  how each front end shows "Remember this?" (core.replies.memory)
    schedules       scheduled prompts: command (core.schedules.service); scheduled_runs: their runner loop
    accounts        each person's own Hugging Face account: connect, sign_in_url, sign_in_route (core.accounts)
    usage, limits   usage accounting; workspace limits (core.usage)
    tools           web search, page fetch, MCP servers (core.tools.service)
    catchups        catch me up: what the person may read of a channel (core.catchup)
    settings, store, router, catalog, throttles   what they were built from; the streams' shared throttles
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from core.accounts import AccountNeeded, AccountService
from core.bot_state import BotState
from core.catchup import CatchUps, Digest, HistorySource
from core.commands.about import about_text
from core.commands.account import account_command
from core.config import Settings
from core.conversations.claims import EventClaims
from core.conversations.dm import DirectMessages
from core.conversations.policy import ChannelPolicy
from core.conversations.routing import MessageRouter
from core.conversations.service import ConversationService, DeletedFrom
from core.errors import ShuttingDown
from core.keys import Actor, ConversationKey
from core.memory import MemoryService
from core.models.catalog import ModelCatalog
from core.records import StoredMessage
from core.replies.actions import ReplyActions
from core.replies.attachments import Attachment
from core.replies.clarify import Clarifier
from core.replies.compare import Comparer
from core.replies.context import prompt_room_chars
from core.replies.intake import EarlierMessages, Intake
from core.replies.interrupted import InterruptedAnswer, interrupted_answer
from core.replies.memory import MemoryProposals
from core.replies.picked import Request, prompt_for
from core.replies.pipeline import ReplyPipeline, Throttles
from core.replies.scheduler import ReplyScheduler, Submitted
from core.replies.sharing import Shared, shared_answer
from core.replies.titles import Titler
from core.router.client import RouterClient
from core.schedules.runner import ScheduleRunner
from core.schedules.service import ScheduleConfig, ScheduleService
from core.settings.assistants import AssistantService
from core.settings.service import SettingsService
from core.store.base import Store
from core.streaming import ReplySink
from core.streaming.stored_lengths import StoredLengths
from core.tools.service import ToolService
from core.usage.accounting import UsageService
from core.usage.limits import LimitsService

__all__ = ["NOT_SAVED", "ChatService", "DeletedFrom", "Submitted"]  # what the front ends import from here

# told in the chat where the platform will not deliver the message again (Discord, Slack's Socket Mode)
NOT_SAVED = "⚠️ I couldn't save your message (the database is unavailable), so I can't answer it. Please send it again."


def secret(value) -> str | None:
    return value.get_secret_value() if value else None


class ChatService:
    def __init__(self, settings: Settings, store: Store, router: RouterClient, catalog: ModelCatalog):
        self.settings = settings
        self.store = store
        self.router = router
        self.catalog = catalog
        self.assistants = AssistantService(store, catalog)
        self.usage = UsageService(store, catalog)
        self.limits = LimitsService(store, catalog)
        self.tools = ToolService(settings)
        self.preferences = SettingsService(settings, store, catalog, self.assistants, self.limits)
        self.throttles = Throttles(StoredLengths(store))  # what the budgets learn outlives a restart
        self.questions = Clarifier()  # clarifying questions waiting for a click
        self.memory = MemoryService(store, settings.memory_prompt_tokens)  # what each person asked to keep
        self.memory_proposals = MemoryProposals(self.memory)  # how each front end shows "Remember this?"
        self.pipeline = ReplyPipeline(
            settings, store, router, catalog, self.preferences, self.limits, self.tools, self.throttles, self.questions,
            self.memory_proposals,
        )  # fmt: skip
        self.replies = ReplyScheduler(store, self.pipeline, Titler(settings, store, router))
        self.intake = Intake(settings, store, catalog, self.preferences, self.assistants, self.limits)
        self.conversations = ConversationService(store, self.replies.stop_and_wait)
        self.actions = ReplyActions(self.conversations, self.replies)  # the buttons under an answer
        self.claims = EventClaims(store)
        self.dms = DirectMessages(store)
        self.policy = ChannelPolicy(store)
        self.bot_state = BotState(store)
        self.routing = MessageRouter(self.conversations, self.dms, self.policy, allow_bots=settings.allow_bots)
        self.comparer = Comparer(settings, catalog, self.limits, self.pipeline)
        self.schedules = ScheduleService(
            store, ScheduleConfig(settings.schedule_timezone, settings.schedule_min_interval_minutes)
        )
        self.scheduled_runs = ScheduleRunner(store, settings.schedule_check_seconds)  # front ends serve it
        self.catchups = CatchUps()
        self.accounts = AccountService.configured(
            store, secret(settings.accounts_key), settings.hf_hub_url, settings.hf_oauth_client_id,
            secret(settings.hf_oauth_client_secret), settings.hf_oauth_redirect_url,
        )  # fmt: skip  # each person's own Hugging Face account
        self.pipeline.accounts = self.intake.accounts = self.accounts

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
        extra: dict | None = None,
        on_transcript: Callable[[str], Awaitable[None]] | None = None,
    ) -> Submitted:
        """Store a user message and answer it (now, or right after the reply in progress).

        `attachments` (files already downloaded by the adapter) are read here: images, documents and a
        note for each file that could not be used; a message may be files only.

        `earlier` reads what a thread the bot is adopting held before this message (a first mention in
        someone else's thread); it is asked only when no conversation exists here yet, and never for what
        the thread held before its conversation was erased.

        Audio among the files (a voice message) is transcribed (core.voice) and its transcript is the message's
        text; `on_transcript(text)` shows it, before the answer starts. `extra` is kept with the stored message.
        """
        if self.replies.shutting_down:
            raise ShuttingDown()
        try:
            stored = await self.intake.take(
                key, actor, text, platform_message_id=platform_message_id, title=title, earlier=earlier,
                attachments=attachments, extra=extra,
            )  # fmt: skip
        except AccountNeeded:  # nothing was stored: asked again, as it was, once they have connected
            resume = lambda: self.submit(  # noqa: E731
                key, actor, text, sink, platform_message_id=platform_message_id, title=title, earlier=earlier,
                attachments=attachments, extra=extra, on_transcript=on_transcript,
            )  # fmt: skip
            self.accounts.hold(actor, resume)
            raise
        if stored.transcript and on_transcript is not None:
            await on_transcript(stored.transcript)
        await self.memory.note_if_asked(actor, key, stored.transcript or text, stored.message_id)
        return self.replies.answer(stored.conversation, stored.message_id, sink, actor)

    def picked_prompt(self, request: Request) -> str:
        """The prompt for a task on messages a person picked (core.replies.picked), within the prompt limit."""
        return prompt_for(request, self.settings.max_prompt_chars)

    async def interrupted_answer(self, reply: StoredMessage, platform: str) -> InterruptedAnswer | None:
        """An answer found interrupted at start-up, with its conversation, when it is `platform`'s to close."""
        return await interrupted_answer(self.conversations, reply, platform)

    async def catch_up(
        self,
        actor: Actor,
        source: HistorySource,
        since: str,
        open_conversation: Callable[[Digest], Awaitable[tuple[ConversationKey, ReplySink]]],
    ) -> Submitted:
        """Catch the person up on a channel or thread (core.catchup): what they may read of it, within the platform's
        limits, becomes the first message of a conversation only they see, opened by `open_conversation(digest)`
        (which shows `digest.header` and returns where the summary goes); the answer links back to the messages."""
        here = ConversationKey(source.platform, source.workspace, source.channel, "")
        model = (await self.preferences.model_choice(here, actor.user_id)).model
        window = self.catalog.context_window(model)
        max_chars = prompt_room_chars(window, self.settings.max_tokens, self.settings.max_prompt_chars)
        digest = await self.catchups.read(actor, source, since, max_chars=max_chars)
        await self.intake.check(here, actor, digest.prompt, model)
        key, sink = await open_conversation(digest)
        return await self.submit(key, actor, digest.prompt, sink, title=digest.title, extra=digest.extra)

    async def about(self, key: ConversationKey, user_id: str) -> str:
        """What `/about` says here: the version, the model in use and how data is kept and erased."""
        conversation = await self.conversations.here(key)
        return about_text(self.settings, await self.preferences.model_choice(key, user_id, conversation=conversation))

    # each person's own Hugging Face account (core.accounts)
    async def account(self, actor: Actor, key: ConversationKey, text: str) -> str:
        """`/account status | disconnect | bill ORG | shared on|off`: the text to show."""
        return await account_command(self.accounts, actor, key, text)

    # conversations
    async def title_set_by_user(self, key: ConversationKey, title: str) -> str | None:
        """The person renamed the conversation on the platform (Slack: the agent session's title): it keeps that
        title, and no auto-title replaces it. None when there is no such conversation (or the title is blank)."""
        conversation = await self.conversations.for_key(key)
        if conversation is None:
            return None
        return await self.replies.titler.user_titled(conversation, title)

    async def delete_user_data(self, actor: Actor) -> int:
        """Erase all that is stored about the person on this platform, their account too: the conversations erased."""
        self.accounts.forget_waiting(actor)  # a question held for connecting is theirs too
        connected = await self.accounts.connected(actor)
        count = await self.conversations.delete_user_data(actor)  # the store erases their account with the rest
        if connected:
            await self.accounts.erased(actor)
        return count

    async def shared_answer(self, reply_id: int, actor: Actor) -> Shared:
        """An answer its asker alone saw, with its question, for them to share where they asked."""
        return await shared_answer(self.store, reply_id, actor)

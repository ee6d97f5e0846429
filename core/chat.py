"""The use cases every front end shares, in one place to call: a thin facade over the services that hold them.

An adapter turns a platform event into one call here and hands over a `ReplySink` for talking back. What each
call does lives in its service: core.replies (taking a message in, the reply slot, the answer pipeline, titles,
compare), core.conversations (finding, access, erasing, export, claims, DMs), core.settings (the one settings
order), core.assistants, core.limits, core.usage, core.tools.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from core.accounts import AccountNeeded, AccountService, SignIn
from core.bot_state import BotState
from core.catchup import CatchUps, Digest, HistorySource
from core.commands.about import about_text
from core.commands.account import account_command
from core.config import Settings
from core.conversations.claims import EventClaims
from core.conversations.dm import DirectMessages
from core.conversations.policy import ChannelPolicy
from core.conversations.routing import IncomingMessage, MessageRouter, Route
from core.conversations.service import ConversationService, DeletedFrom
from core.errors import ShuttingDown
from core.keys import Actor, ConversationKey
from core.memory import MemoryService
from core.models.catalog import ModelCatalog
from core.records import Assistant, Conversation, Scope, StoredMessage
from core.replies.actions import ReplyActions
from core.replies.attachments import Attachment
from core.replies.clarify import Clarifier
from core.replies.compare import Compared, Comparer, SinkFactory
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
from core.settings.service import ModelChoice, SettingsService
from core.store.base import Store
from core.streaming import ReplySink
from core.tools.service import ToolService
from core.usage.accounting import UsageService
from core.usage.limits import LimitsService

__all__ = ["ChatService", "DeletedFrom", "ModelChoice", "Submitted"]

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
        self.throttles = Throttles()
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

    async def check_message(self, key: ConversationKey, actor: Actor, text: str, model: str | None = None) -> None:
        await self.intake.check(key, actor, text, model)

    async def stop(self, conversation_id: int, actor: Actor) -> bool:
        return await self.replies.stop(conversation_id, actor)

    async def regenerate(self, conversation_id: int, actor: Actor, sink: ReplySink) -> Submitted:
        return await self.actions.regenerate(conversation_id, actor, sink)

    async def continue_reply(self, conversation_id: int, actor: Actor, sink: ReplySink) -> Submitted:
        return await self.actions.continue_reply(conversation_id, actor, sink)

    async def interrupted_answer(self, reply: StoredMessage, platform: str) -> InterruptedAnswer | None:
        """An answer found interrupted at start-up, with its conversation, when it is `platform`'s to close."""
        return await interrupted_answer(self.conversations, reply, platform)

    def is_streaming(self, conversation_id: int) -> bool:
        return self.replies.is_streaming(conversation_id)

    async def wait_idle(self) -> None:
        await self.replies.wait_idle()

    async def shutdown(self, grace: float = 10.0) -> None:
        await self.replies.shutdown(grace)

    async def compare(
        self,
        key: ConversationKey,
        actor: Actor,
        prompt: str,
        models: list[str],
        sink_factory: SinkFactory,
        on_start: Callable[[list[str]], Awaitable[None]] | None = None,
    ) -> list[Compared]:
        return await self.comparer.compare(key, actor, prompt, models, sink_factory, on_start)

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

    async def memory_command(self, actor: Actor, key: ConversationKey, text: str) -> str:
        """`/memory ...` as words (list, on, off, forget N, clear), for the person who typed it (core.memory)."""
        return await self.memory.command(actor, key, text)

    async def schedule(self, actor: Actor, key: ConversationKey, text: str, *, direct: bool = False) -> str:
        """`/schedule ...` typed in a channel: create, list or delete its scheduled prompts (core.schedules);
        `direct`: it was typed in a direct message."""
        return await self.schedules.command(actor, key, text, direct=direct)

    async def about(self, key: ConversationKey, user_id: str) -> str:
        """What `/about` says here: the version, the model in use and how data is kept and erased."""
        conversation = await self.conversations.here(key)
        return about_text(self.settings, await self.preferences.model_choice(key, user_id, conversation=conversation))

    # each person's own Hugging Face account (core.accounts)
    async def account(self, actor: Actor, key: ConversationKey, text: str) -> str:
        """`/account status | disconnect | bill ORG | shared on|off`: the text to show."""
        return await account_command(self.accounts, actor, key, text)

    async def connect_account(self, actor: Actor, token: str) -> str:
        """The token from a front end's private form, checked and kept; a question held for it is answered."""
        return (await self.accounts.connect(actor, token)).text

    def sign_in_url(self, actor: Actor, where: dict | None = None) -> str | None:
        """Where `actor` signs in with Hugging Face instead of pasting a token (None: not set up on this bot)."""
        return self.accounts.sign_in_url(actor, where)

    def sign_in_route(self, told: Callable[[SignIn, str], Awaitable[None]]) -> tuple[str, Callable] | None:
        """(path, aiohttp handler) of the sign-in redirect for a front end's HTTP server (None: not set up)."""
        return self.accounts.sign_in_route(told)

    # settings
    async def model_choice(self, key: ConversationKey, user_id: str, conversation_id: int | None = None, **kw):
        return await self.preferences.model_choice(key, user_id, conversation_id, **kw)

    async def resolve_model(self, key: ConversationKey, user_id: str, conversation_id: int | None = None, **kw) -> str:
        return (await self.preferences.model_choice(key, user_id, conversation_id, **kw)).model

    async def resolve(self, name: str, key: ConversationKey, user_id: str, conversation_id: int | None = None):
        return await self.preferences.resolve(name, key, user_id, conversation_id)

    async def set_model(self, actor: Actor, key: ConversationKey, scope: Scope, name: str | None) -> str | None:
        return await self.preferences.set_model(actor, key, scope, name)

    async def set_option(self, actor: Actor, key: ConversationKey, scope: Scope, name: str, value: str | None):
        return await self.preferences.set_option(actor, key, scope, name, value)

    async def recent_models(self, actor: Actor, platform: str) -> list[str]:
        return await self.preferences.recent_models(actor, platform)

    async def describe_settings(self, key: ConversationKey, user_id: str) -> list[tuple[str, str | None, str]]:
        return await self.preferences.describe(key, user_id)

    async def use_assistant_here(
        self, actor: Actor, key: ConversationKey, assistant_id: int | None, *, title: str = ""
    ) -> Assistant | None:
        return await self.preferences.use_assistant_here(actor, key, assistant_id, title=title)

    async def route(self, message: IncomingMessage) -> Route:
        """Whether and where a message is answered (core.conversations.routing)."""
        return await self.routing.route(message)

    # platform events, claimed once
    async def claim_event(self, platform: str, event_id: str) -> bool:
        return await self.claims.claim(platform, event_id)

    async def release_event(self, platform: str, event_id: str) -> None:
        await self.claims.release(platform, event_id)

    # direct messages: a current conversation per DM channel
    async def dm_thread(self, platform: str, workspace: str, channel: str, *, new: bool = False) -> str:
        return await self.dms.current(platform, workspace, channel, new=new)

    async def use_dm_thread(self, platform: str, workspace: str, channel: str, thread: str) -> None:
        await self.dms.use(platform, workspace, channel, thread)

    # conversations
    async def title_set_by_user(self, key: ConversationKey, title: str) -> str | None:
        """The person renamed the conversation on the platform (Slack: the agent session's title): it keeps that
        title, and no auto-title replaces it. None when there is no such conversation (or the title is blank)."""
        conversation = await self.conversations.for_key(key)
        if conversation is None:
            return None
        return await self.replies.titler.user_titled(conversation, title)

    async def conversation_for(self, key: ConversationKey) -> Conversation | None:
        return await self.conversations.for_key(key)

    async def list_conversations(self, actor: Actor, limit: int = 25, workspace: str | None = None):
        return await self.conversations.list(actor, limit, workspace)

    async def delete_conversation(self, conversation_id: int, actor: Actor) -> Conversation:
        return await self.conversations.delete(conversation_id, actor)

    async def delete_from_message(self, platform_message_id: str, actor: Actor) -> DeletedFrom:
        return await self.conversations.delete_from_message(platform_message_id, actor)

    async def forget(self, key: ConversationKey, actor: Actor, turns: int = 1) -> DeletedFrom:
        return await self.conversations.forget(key, actor, turns)

    async def delete_user_data(self, actor: Actor) -> int:
        self.accounts.forget_waiting(actor)  # a question held for connecting is theirs too
        connected = await self.accounts.connected(actor)
        count = await self.conversations.delete_user_data(actor)  # the store erases their account with the rest
        if connected:
            await self.accounts.erased(actor)
        return count

    async def export_markdown(self, conversation_id: int, actor: Actor) -> str:
        return await self.conversations.export_markdown(conversation_id, actor)

    async def export_json(self, conversation_id: int, actor: Actor) -> str:
        return await self.conversations.export_json(conversation_id, actor)

    async def shared_answer(self, reply_id: int, actor: Actor) -> Shared:
        """An answer its asker alone saw, with its question, for them to share where they asked."""
        return await shared_answer(self.store, reply_id, actor)

    async def reasoning(self, reply_id: int, actor: Actor) -> str:
        return await self.conversations.reasoning(reply_id, actor)

    async def last_reply_id(self, key: ConversationKey) -> int | None:
        return await self.conversations.last_reply_id(key)

    async def on_message_edited(self, platform: str, platform_message_id: str, text: str) -> bool:
        return await self.conversations.on_message_edited(platform, platform_message_id, text)

    async def on_message_deleted(self, platform: str, platform_message_id: str) -> bool:
        return await self.conversations.on_message_deleted(platform, platform_message_id)

"""Reading and writing what people chose, for every front end: the model (with where the choice comes from), the
options, the assistant of a conversation. One order (core.settings.resolver), one mapping to storage
(core.settings.places), the access rule of core.conversations.access for a conversation's own settings."""

from __future__ import annotations

from dataclasses import dataclass

from core.config import Settings
from core.conversations.access import check_owner_or_admin
from core.errors import NotAllowed, NotFound
from core.keys import Actor, ConversationKey
from core.models.catalog import ModelCatalog
from core.models.omni import OMNI, is_omni
from core.prompts import first_line_title
from core.records import Assistant, Conversation, Scope
from core.settings.assistants import AssistantService
from core.settings.options import CLEAR_WORDS
from core.settings.places import answer_places, place_of
from core.settings.resolver import AnswerPlan, Preferences
from core.settings.snapshot import SettingsSnapshot, reading
from core.store.base import Store
from core.usage.limits import LimitsService

RECENT_MODELS = 10


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


class SettingsService:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        catalog: ModelCatalog,
        assistants: AssistantService,
        limits: LimitsService,
    ):
        self.settings = settings
        self.store = store
        self.catalog = catalog
        self.assistants = assistants
        self.limits = limits
        self.preferences = Preferences(settings, store, catalog)

    async def here(self, key: ConversationKey, user_id: str, conversation_id: int | None) -> SettingsSnapshot:
        """Every setting an answer at `key` may read (model, assistant, options, limits), in one query."""
        return await SettingsSnapshot.read(self.store, key.platform, answer_places(key, user_id, conversation_id))

    async def assistant_here(
        self, key: ConversationKey, user_id: str, conversation: Conversation | None, reads: SettingsSnapshot | None
    ) -> Assistant | None:
        """The conversation's assistant, or the one a new conversation here would start with."""
        assistants = reading(self.assistants, reads) if reads else self.assistants
        if conversation is not None:
            return await assistants.for_conversation(conversation)
        return await assistants.default_for(key, user_id)

    async def resolve(
        self, name: str, key: ConversationKey, user_id: str, conversation_id: int | None = None
    ) -> tuple[str | None, str]:
        """A setting as an answer here would read it: (value, where it comes from), (None, "") if unset."""
        conversation = await self.store.get_conversation_by_id(conversation_id) if conversation_id else None
        assistant = await self.assistant_here(key, user_id, conversation, None)
        return await self.preferences.resolve(name, key, user_id, conversation_id, assistant)

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
        if conversation is not None:
            conversation_id = conversation.id
        assistant = await self.assistant_here(key, user_id, conversation, reads)
        preferences = reading(self.preferences, reads) if reads else self.preferences
        model, where = await preferences.resolve("model", key, user_id, conversation_id, assistant)
        if model is None:
            return ModelChoice(self.settings.default_model, "default")
        return ModelChoice(model, where, assistant.name if where == "assistant" and assistant else "")

    async def answer_plan(
        self, conversation: Conversation | None, key: ConversationKey, user_id: str, reads: SettingsSnapshot | None
    ) -> AnswerPlan:
        """What the settings say for an answer: models in order, generation settings, the system prompt."""
        assistant = await self.assistant_here(key, user_id, conversation, reads)
        preferences = reading(self.preferences, reads) if reads else self.preferences
        return await preferences.plan(key, user_id, conversation.id if conversation else None, assistant)

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

    async def change(
        self, actor: Actor, key: ConversationKey, scope: Scope, name: str, value: str | None
    ) -> str | None:
        """Set any setting by its name, as `/settings NAME VALUE` does on every front end: the model through
        `set_model` (checked against the router's list, remembered among the person's recent ones), every other
        option by its own rule. None or a clearing word (`default`, `reset`, ...) clears it. Returns what is stored."""
        if name.strip().lower() == "model":
            cleared = value is None or value.strip().lower() in CLEAR_WORDS
            return await self.set_model(actor, key, scope, None if cleared else value)
        return await self.set_option(actor, key, scope, name, value)

    async def _remember_recent_model(self, actor: Actor, platform: str, model: str) -> None:
        recent = await self.recent_models(actor, platform)
        recent = [model] + [m for m in recent if m != model]
        value = "\n".join(recent[:RECENT_MODELS])
        await self.store.set_setting(platform, "", Scope.USER, actor.user_id, "recent_models", value)

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
        check_owner_or_admin(conversation, actor, f"change this conversation's {what}")
        return conversation.id

    async def describe(self, key: ConversationKey, user_id: str) -> list[tuple[str, str | None, str]]:
        """(name, value, where it comes from) for the model and every option, as an answer here would use them."""
        conversation = await self.store.get_conversation(key)
        assistant = await self.assistant_here(key, user_id, conversation, None)
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
            conversation = await self.store.create_conversation(key, actor.user_id, first_line_title(title))
        check_owner_or_admin(conversation, actor, "change its assistant")
        await self.assistants.set_for_conversation(conversation, assistant)
        return assistant

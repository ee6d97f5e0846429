"""A person's message on its way in: cleaned, refused when it is too long or past a limit, its files read, and
stored (with what an adopted thread held before it) before anything is answered."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.accounts import AccountService, Credentials
from core.config import Settings
from core.errors import EmptyPrompt, PromptTooLong, StoreUnavailable
from core.keys import Actor, ConversationKey
from core.models.catalog import ModelCatalog
from core.models.tokens import estimate_tokens
from core.prompts import clean_prompt, first_line_title
from core.records import Conversation, StoredMessage
from core.replies.attachments import Attachment, NothingReadable, limits_for_room, process_attachments
from core.replies.context import answer_budget
from core.settings.assistants import AssistantService
from core.settings.service import SettingsService
from core.settings.snapshot import reading
from core.store.base import Store
from core.usage.limits import LimitsService
from core.voice import Voice, VoiceConfig

log = logging.getLogger(__name__)

# reads a thread's messages newer than the given epoch time (0: all), oldest first, each with its created_at
EarlierMessages = Callable[[float], Awaitable[list[StoredMessage]]]


def refuse_too_long(settings: Settings, catalog: ModelCatalog, text: str, model: str | None = None) -> int:
    """PromptTooLong past the length limit or, given the model, past what it can read; else the room left
    (in tokens, with room for the answer)."""
    if len(text) > settings.max_prompt_chars:
        raise PromptTooLong(f"Your message is {len(text):,} characters; the limit is {settings.max_prompt_chars:,}.")
    if model is None:
        return 0
    window = catalog.context_window(model)
    room = window - answer_budget(window, settings.max_tokens)
    if estimate_tokens(text) > room:
        raise PromptTooLong(
            f"Your message is about {estimate_tokens(text):,} tokens, more than `{model}` can read "
            f"(about {room:,} with room for the answer). Shorten it or pick a model with a longer context."
        )
    return room


@dataclass(slots=True)
class Stored:
    conversation: Conversation
    message_id: int
    transcript: str = ""  # what the message's voice recording said (stored as its text)


class Intake:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        catalog: ModelCatalog,
        preferences: SettingsService,
        assistants: AssistantService,
        limits: LimitsService,
    ):
        self.settings = settings
        self.store = store
        self.catalog = catalog
        self.preferences = preferences
        self.assistants = assistants
        self.limits = limits
        self.voice = Voice(VoiceConfig.of(settings))
        self.accounts: AccountService | None = None  # whether the asker must connect their own account first

    async def check(self, key: ConversationKey, actor: Actor, text: str, model: str | None = None) -> None:
        """Raise what `take` would refuse this message with (too long for the limit or the model, or past the
        workspace's limits); nothing is counted. For a front end that shows the prompt (or opens a thread)
        before the message is taken."""
        model = model or (await self.preferences.model_choice(key, actor.user_id)).model
        refuse_too_long(self.settings, self.catalog, text, model)
        await self.limits.check_message(key, actor, text, model, record=False)

    async def take(
        self,
        key: ConversationKey,
        actor: Actor,
        text: str,
        *,
        platform_message_id: str = "",
        title: str = "",
        earlier: EarlierMessages | None = None,
        attachments: list[Attachment] | None = None,
        extra: dict | None = None,
    ) -> Stored:
        """Store a user message (refusing it first when it must be). See ChatService.submit."""
        try:
            text = clean_prompt(text)
        except EmptyPrompt:
            if not attachments:
                raise
            text = ""
        conversation = await self.store.get_conversation(key)
        conversation_id = conversation.id if conversation else None
        reads = await self.preferences.here(key, actor.user_id, conversation_id)
        credentials = Credentials()  # the asker's token (None: HF_TOKEN) and the org billed, for hearing too
        if self.accounts is not None:  # AccountNeeded before anything is heard or stored (the question is held)
            credentials = await reading(self.accounts, reads).credentials(actor, key)
        # a voice message is what it said: its transcript is the message's text, answered like typed text
        heard = None
        if attachments:
            heard = await self.voice.hear(
                attachments, has_text=bool(text), token=credentials.token, bill_to=credentials.bill_to
            )
        if heard is not None:
            spoken = clean_prompt(heard.transcript) if heard.transcript else ""
            text = "\n\n".join(part for part in (text, spoken) if part)
            attachments = heard.others
        refuse_too_long(self.settings, self.catalog, text)
        choice = await self.preferences.model_choice(key, actor.user_id, conversation=conversation, reads=reads)
        room = refuse_too_long(self.settings, self.catalog, text, choice.model)
        await reading(self.limits, reads).check_message(key, actor, text, choice.model)
        extra = dict(extra or {})
        if attachments:
            files = await process_attachments(attachments, limits_for_room(room - estimate_tokens(text)))
            if not text and not files.usable:
                raise NothingReadable("\n".join(files.notes) or "None of the files could be read.")
            extra |= files.as_extra()
        if heard is not None:
            if heard.transcript:
                extra |= heard.as_extra()
            if heard.notes:
                extra["attachment_notes"] = [*heard.notes, *extra.get("attachment_notes", [])]
        created: Conversation | None = None
        adopted = 0
        try:
            if conversation is None:
                first_line = text or ", ".join(d["name"] for d in extra.get("documents", []) + extra.get("images", []))
                title = title or first_line_title(first_line)
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
        return Stored(conversation, message_id, heard.transcript if heard is not None else "")

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

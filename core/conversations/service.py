"""Finding, listing, erasing and exporting conversations, with who may do each (core.conversations.access).

An answer being written is stopped before what it belongs to is erased: the service is given the reply
scheduler's `stop_and_wait`, the one way answers are stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.conversations import export
from core.conversations.access import GONE, check_may_read_reasoning, check_owner_or_admin
from core.errors import InvalidSetting, NotAllowed, NotFound
from core.keys import Actor, ConversationKey
from core.prompts import clean_prompt
from core.records import Conversation, Scope, StoredMessage
from core.store.base import Store

log = logging.getLogger(__name__)

ALL = 1_000_000  # "every message" for the store's recent_messages
NOTHING_STORED = "Nothing is stored for that conversation."


@dataclass(slots=True)
class DeletedFrom:
    conversation: Conversation
    messages: list[StoredMessage]  # what was deleted, oldest first (adapters remove the bot's posts of them)


class ConversationService:
    def __init__(self, store: Store, stop_and_wait: Callable[[int], Awaitable[None]]):
        self.store = store
        self._stop_and_wait = stop_and_wait

    async def get(self, conversation_id: int) -> Conversation:
        conversation = await self.store.get_conversation_by_id(conversation_id)
        if conversation is None:
            raise NotFound(GONE)
        return conversation

    async def by_id(self, conversation_id: int) -> Conversation | None:
        return await self.store.get_conversation_by_id(conversation_id)

    async def for_key(self, key: ConversationKey) -> Conversation | None:
        return await self.store.get_conversation(key)

    async def here(self, key: ConversationKey) -> Conversation | None:
        """The conversation a command typed at `key` is about: the thread's (a DM's current one), none at the top of
        a channel (where a command never names a conversation by the channel alone)."""
        return await self.store.get_conversation(key) if key.thread else None

    async def stored_at(self, key: ConversationKey) -> Conversation:
        """The conversation at `key` (the thread a link names, or where a command is used), NotFound if none is
        stored. Whoever acts on it is checked by that action (the owner, or an admin of its workspace)."""
        conversation = await self.store.get_conversation(key)
        if conversation is None:
            raise NotFound(NOTHING_STORED)
        return conversation

    async def name_if_untitled(self, key: ConversationKey, title: str) -> None:
        """Give the conversation at `key` a title if it has none yet (a thread's name, before its first answer)."""
        conversation = await self.store.get_conversation(key)
        if conversation is not None and not conversation.title:
            await self.store.set_title(conversation.id, title)

    async def of_message(self, platform: str, platform_message_id: str) -> Conversation | None:
        """The conversation a platform message (a question or an answer) belongs to, if one is stored."""
        message = await self.store.find_by_platform_message(platform, platform_message_id)
        if message is None or message.conversation_id is None:
            return None
        return await self.store.get_conversation_by_id(message.conversation_id)

    async def of_reply(self, reply_id: int | str, actor: Actor) -> Conversation:
        """The conversation a stored answer belongs to, in the actor's platform and workspace (a button's value)."""
        reply_id = str(reply_id)
        message = await self.store.get_message(int(reply_id)) if reply_id.isdigit() else None
        conversation = (
            await self.store.get_conversation_by_id(message.conversation_id)
            if message and message.conversation_id
            else None
        )
        key = conversation.key if conversation else None
        if key is None or key.platform != actor.platform or key.workspace != actor.workspace:
            raise NotFound(GONE)
        return conversation

    async def list(self, actor: Actor, limit: int = 25, workspace: str | None = None) -> list[Conversation]:
        return await self.store.list_conversations(actor.platform, actor.user_id, limit, workspace)

    async def pick(self, actor: Actor, choice: str, *, listed_in: str | None = None) -> Conversation:
        """A conversation named by its id (a picker's value) or by its number in the actor's list (1 = newest,
        as `/conversations` shows them, in workspace `listed_in`). An id from another workspace is "not found" for
        anyone but its owner: admins act in their own workspace only."""
        choice = choice.strip().lstrip("#")
        if listed_in is not None and choice.isdigit() and int(choice) <= 1000:
            numbered = await self.numbered(actor, int(choice), listed=100, workspace=listed_in)
            if numbered is None:
                raise NotFound(f"There is no conversation number {choice}; `/conversations` lists them.")
            return numbered
        conversation = await self.store.get_conversation_by_id(int(choice)) if choice.isdigit() else None
        if (
            conversation is None
            or conversation.key.platform != actor.platform
            or (conversation.owner_id != actor.user_id and conversation.key.workspace != actor.workspace)
        ):
            raise NotFound("That conversation no longer exists. Pick one from the list.")
        return conversation

    async def numbered(
        self, actor: Actor, number: int, *, listed: int, workspace: str | None = None
    ) -> Conversation | None:
        """Conversation `number` of the actor's list as the front end shows it (1 = the newest, `listed` of them,
        in `workspace` if given); None when the list has no such number. Only the actor's own are listed."""
        if not 0 < number <= listed:
            return None
        items = await self.list(actor, listed, workspace)
        return items[number - 1] if number <= len(items) else None

    async def named_or_here(
        self,
        actor: Actor,
        here: ConversationKey,
        choice: str = "",
        *,
        linked: ConversationKey | None = None,
        listed_in: str | None = None,
    ) -> Conversation | None:
        """The conversation a command acts on: the one a link names (`linked`, the key the front end read from
        it), the one `choice` names (a number in the actor's list or an id: `pick`), else the one here (None when
        there is none). A link reaches only the actor's own platform and workspace; what may be done to the
        conversation is checked by the use case (owner or admin)."""
        if linked is not None:
            if linked.platform != actor.platform or linked.workspace != actor.workspace:
                raise NotAllowed("That link is to another workspace: I can only act on this workspace's threads.")
            return await self.stored_at(linked)
        if choice.strip():
            return await self.pick(actor, choice, listed_in=listed_in)
        return await self.here(here)

    # erasing
    async def delete(self, conversation_id: int, actor: Actor) -> Conversation:
        """Erase a conversation for real (owner or admin only); a reply in progress is stopped."""
        conversation = await self.get(conversation_id)
        check_owner_or_admin(conversation, actor, "delete it")
        await self._stop_and_wait(conversation.id)
        await self.store.delete_conversation(conversation.id)
        log.info("conversation %s deleted by its %s", conversation.id, _who(conversation, actor))
        return conversation

    async def delete_from_message(self, platform_message_id: str, actor: Actor) -> DeletedFrom:
        """Delete from here: the stored message with this platform id, and every later one of its
        conversation. Owner or admin only; a reply being written there is stopped first."""
        message = await self.store.find_by_platform_message(actor.platform, platform_message_id)
        if message is None or message.conversation_id is None or message.id is None:
            raise NotFound("That message is not part of a conversation I keep (or it was already deleted).")
        return await self._delete_from(await self.get(message.conversation_id), message.id, actor)

    async def forget(self, key: ConversationKey, actor: Actor, turns: int = 1) -> DeletedFrom:
        """Delete the last `turns` questions of a conversation and everything after the first of them."""
        if turns < 1:
            raise InvalidSetting("Say how many of your last messages to forget: 1 or more.")
        conversation = await self.store.get_conversation(key)
        if conversation is None:
            raise NotFound("There is no conversation here yet.")
        questions = [m for m in await self.store.recent_messages(conversation.id, ALL) if m.role == "user"]
        if not questions:
            raise NotFound("There is nothing to forget here yet.")
        start = questions[-min(turns, len(questions))]
        return await self._delete_from(conversation, start.id, actor)

    async def _delete_from(self, conversation: Conversation, message_id: int, actor: Actor) -> DeletedFrom:
        check_owner_or_admin(conversation, actor, "delete its messages")
        await self._stop_and_wait(conversation.id)
        messages = [m for m in await self.store.recent_messages(conversation.id, ALL) if m.id >= message_id]
        await self.store.delete_messages_from(conversation.id, message_id)
        log.info(
            "conversation %s: %d messages deleted from one on by its %s",
            conversation.id,
            len(messages),
            _who(conversation, actor),
        )
        return DeletedFrom(conversation, messages)

    async def delete_user_data(self, actor: Actor) -> int:
        """Erase everything stored about the acting user on this platform."""
        for conversation in await self.store.list_conversations(actor.platform, actor.user_id, limit=ALL):
            await self._stop_and_wait(conversation.id)
        count = await self.store.delete_user_data(actor.platform, actor.user_id)
        log.info("user data erased on request: %d conversations", count)
        return count

    async def record_feedback(self, conversation: Conversation, reply_id: int, actor: Actor, vote: str) -> None:
        """A 👍 or 👎 on an answer, by whoever gave it; kept with the conversation and erased with it."""
        if vote not in ("up", "down"):
            raise InvalidSetting("Feedback is up or down.")
        key = conversation.key
        name = f"feedback:{reply_id}:{actor.user_id}"
        await self.store.set_setting(key.platform, key.workspace, Scope.CONVERSATION, str(conversation.id), name, vote)

    # what the platform did to a message people wrote
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

    # reading it back
    async def export_markdown(self, conversation_id: int, actor: Actor) -> str:
        """The conversation as Markdown; only its owner (or an admin of its workspace) may read it."""
        conversation, messages = await self._readable(conversation_id, actor)
        return export.as_markdown(conversation, messages)

    async def export_json(self, conversation_id: int, actor: Actor) -> str:
        """The conversation as JSON (same access as Markdown); attachments by name, not their bytes."""
        conversation, messages = await self._readable(conversation_id, actor)
        return export.as_json(conversation, messages)

    async def export(self, conversation_id: int, actor: Actor, fmt: str = "md") -> str:
        """The conversation as `fmt`: "json", or else Markdown."""
        if fmt == "json":
            return await self.export_json(conversation_id, actor)
        return await self.export_markdown(conversation_id, actor)

    async def _readable(self, conversation_id: int, actor: Actor) -> tuple[Conversation, list[StoredMessage]]:
        conversation = await self.get(conversation_id)
        check_owner_or_admin(conversation, actor, "export it")
        return conversation, await self.store.recent_messages(conversation.id, ALL)

    async def reasoning(self, reply_id: int, actor: Actor) -> str:
        """The reasoning stored with an answer (see access.check_may_read_reasoning)."""
        message = await self.store.get_message(reply_id)
        conversation = await self.store.get_conversation_by_id(message.conversation_id) if message else None
        if message is None or conversation is None:
            raise NotFound("That answer no longer exists.")
        check_may_read_reasoning(conversation, actor)
        if not message.reasoning.strip():
            raise NotFound("This answer has no reasoning to show.")
        return message.reasoning

    async def last_turns(self, conversation_id: int, turns: int = 3) -> list[StoredMessage]:
        """The last `turns` questions with their answers, oldest first (what reopening it shows)."""
        kept = await self.store.recent_messages(conversation_id, turns * 6)
        messages = [m for m in kept if m.role in ("user", "assistant")]
        questions = [i for i, m in enumerate(messages) if m.role == "user"]
        start = questions[-turns] if len(questions) >= turns else 0
        return messages[start:]

    async def last_reply(self, conversation: Conversation) -> StoredMessage:
        for message in reversed(await self.store.recent_messages(conversation.id, 50)):
            if message.role == "assistant":
                return message
        raise NotFound("There is no answer to redo in this conversation yet.")

    async def last_reply_id(self, key: ConversationKey) -> int | None:
        conversation = await self.store.get_conversation(key)
        if conversation is None:
            return None
        replies = [m for m in await self.store.recent_messages(conversation.id, 50) if m.role == "assistant"]
        return replies[-1].id if replies else None


def _who(conversation: Conversation, actor: Actor) -> str:
    return "owner" if conversation.owner_id == actor.user_id else "admin"

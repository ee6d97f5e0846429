"""Answers a dead process left unfinished (found `interrupted` at start-up, see core.app): what every platform
shows when it closes their messages in place. The saved text, then a notice, with the buttons of an answer that
was cut short (Regenerate, Continue)."""

from __future__ import annotations

from dataclasses import dataclass

from core.conversations.service import ConversationService
from core.records import Conversation, MessageStatus, StoredMessage
from core.streaming import ReplyView

INTERRUPTED_NOTICE = "⚠️ *This answer was interrupted (the bot restarted).*"


@dataclass(frozen=True, slots=True)
class InterruptedAnswer:
    reply: StoredMessage
    conversation: Conversation

    @property
    def last_message(self) -> str:
        """The platform id of the answer's newest message: an answer may run over several, and the notice goes
        under the last."""
        return str(self.reply.extra.get("last_message") or self.reply.platform_message_id)

    @property
    def view(self) -> ReplyView:
        return ReplyView(
            self.reply.id,
            "done",
            MessageStatus.INTERRUPTED,
            True,
            0,
            self.reply.model,
            has_reasoning=bool(self.reply.reasoning.strip()),
            conversation_id=self.conversation.id,
        )

    def saved_text(self, max_chars: int) -> str | None:
        """The stored text to show above the notice, when the answer is one message and it fits with the notice
        in `max_chars`; None when the platform must keep what its last message holds (see `notice_room`)."""
        if self.last_message == self.reply.platform_message_id and len(self.reply.content) <= notice_room(max_chars):
            return self.reply.content
        return None


def notice_room(max_chars: int) -> int:
    """How much text a message of `max_chars` holds above the notice."""
    return max_chars - len(INTERRUPTED_NOTICE) - 2


def with_notice(text: str) -> str:
    return (text + "\n\n" if text.strip() else "") + INTERRUPTED_NOTICE


async def interrupted_answer(
    conversations: ConversationService, reply: StoredMessage, platform: str
) -> InterruptedAnswer | None:
    """The interrupted `reply` with its conversation, when it belongs to `platform` (and its conversation still
    exists): each front end closes only its own."""
    conversation = await conversations.by_id(reply.conversation_id or 0)
    if conversation is None or conversation.key.platform != platform:
        return None
    return InterruptedAnswer(reply, conversation)

"""The buttons under an answer, on every platform: which ones it has, and what pressing each does.

While an answer streams it has Stop; once done, Regenerate, Continue when it was cut short (length, Stop, a
restart), Show reasoning when it reasoned, 👍 / 👎 and Delete. A front end draws the ones it has (in this
order) and hands a press to `ReplyActions.press`; who may do what is checked here and in the services it calls
(core.conversations.access). An answer a dead process left unfinished is closed the same way everywhere:
`INTERRUPTED_NOTICE` and the buttons of `Interrupted.view`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.conversations.access import check_owner_or_admin
from core.conversations.service import ConversationService
from core.errors import InvalidSetting
from core.keys import Actor, ConversationKey
from core.records import Conversation, MessageStatus, StoredMessage
from core.replies.scheduler import CONTINUABLE, ReplyScheduler, Submitted
from core.streaming import ReplySink, ReplyView

STOP, REGENERATE, CONTINUE, REASONING = "stop", "regenerate", "continue", "reasoning"
FEEDBACK_UP, FEEDBACK_DOWN, DELETE = "feedback_up", "feedback_down", "delete"
INTERRUPTED_NOTICE = "⚠️ *This answer was interrupted (the bot restarted).*"

SinkFor = Callable[[ConversationKey], ReplySink]  # a sink that answers in the conversation at that key


def reply_buttons(view: ReplyView) -> tuple[str, ...]:
    """The buttons of an answer's message as `view` describes it (none without a stored answer to act on)."""
    if view.reply_id is None:
        return ()
    if view.phase != "done":
        return (STOP,)
    buttons = [REGENERATE]
    if view.status in CONTINUABLE:
        buttons.append(CONTINUE)
    if view.has_reasoning:
        buttons.append(REASONING)
    return (*buttons, FEEDBACK_UP, FEEDBACK_DOWN, DELETE)


@dataclass(slots=True)
class Pressed:
    """What a press did: `done` is False for a Stop with nothing being written; `submitted` is the new answer
    Regenerate or Continue started."""

    action: str
    conversation: Conversation
    done: bool = True
    submitted: Submitted | None = None


@dataclass(slots=True)
class Interrupted:
    """An answer a dead process left unfinished, in a conversation of the platform asking."""

    reply: StoredMessage
    conversation: Conversation
    view: ReplyView  # done, interrupted, the last message: Regenerate and Continue


class ReplyActions:
    def __init__(self, conversations: ConversationService, replies: ReplyScheduler):
        self.conversations = conversations
        self.replies = replies

    async def regenerate(self, conversation_id: int, actor: Actor, sink: ReplySink) -> Submitted:
        conversation = await self.conversations.get(conversation_id)
        check_owner_or_admin(conversation, actor, "regenerate its answer")
        last = await self.conversations.last_reply(conversation)
        return await self.replies.regenerate(conversation, last, actor, sink)

    async def continue_reply(self, conversation_id: int, actor: Actor, sink: ReplySink) -> Submitted:
        conversation = await self.conversations.get(conversation_id)
        check_owner_or_admin(conversation, actor, "continue its answer")
        last = await self.conversations.last_reply(conversation)
        return await self.replies.continue_reply(conversation, last, actor, sink)

    async def press(
        self,
        action: str,
        conversation: Conversation,
        actor: Actor,
        sink_for: SinkFor,
        *,
        reply_id: int | None = None,
    ) -> Pressed:
        """Do what the button `action` under an answer of `conversation` does (`reply_id`: that answer, which
        feedback is about). Show reasoning is `ConversationService.reasoning`: it is about the answer alone."""
        if action == STOP:
            return Pressed(action, conversation, done=await self.replies.stop(conversation.id, actor))
        if action == REGENERATE:
            submitted = await self.regenerate(conversation.id, actor, sink_for(conversation.key))
            return Pressed(action, conversation, submitted=submitted)
        if action == CONTINUE:
            submitted = await self.continue_reply(conversation.id, actor, sink_for(conversation.key))
            return Pressed(action, conversation, submitted=submitted)
        if action == DELETE:
            await self.conversations.delete(conversation.id, actor)
            return Pressed(action, conversation)
        if action in (FEEDBACK_UP, FEEDBACK_DOWN) and reply_id is not None:
            vote = "up" if action == FEEDBACK_UP else "down"
            await self.conversations.record_feedback(conversation, reply_id, actor, vote)
            return Pressed(action, conversation)
        raise InvalidSetting("That button does nothing here.")

    async def interrupted(self, platform: str, replies: list[StoredMessage]) -> list[Interrupted]:
        """Of the answers a dead process left unfinished (core.app's on_interrupted), those `platform` posted,
        each with the view its message is closed with."""
        found = []
        for reply in replies:
            conversation = await self.conversations.by_id(reply.conversation_id or 0)
            if conversation is None or conversation.key.platform != platform or not reply.platform_message_id:
                continue
            view = ReplyView(
                reply.id,
                "done",
                MessageStatus.INTERRUPTED,
                True,
                0,
                reply.model,
                has_reasoning=bool(reply.reasoning.strip()),
                conversation_id=conversation.id,
            )
            found.append(Interrupted(reply, conversation, view))
        return found

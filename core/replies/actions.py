"""The buttons under an answer, on every platform: which ones it has, and what pressing each does.

While an answer streams its last message has Stop; once done, Regenerate, Continue when it was cut short (length
limit, Stop, a restart), Show reasoning when it reasoned, then 👍 / 👎 and Delete. Only an answer's last message
carries them. A front end draws the ones it has, in this order (Discord has no feedback or Delete buttons), and
hands a press to `ReplyActions.press`; who may do what is checked here and in the services it calls
(core.conversations.access). An answer a dead process left unfinished is closed the same way everywhere
(core.replies.interrupted).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from core.conversations.access import check_owner_or_admin
from core.conversations.service import ConversationService
from core.errors import InvalidSetting
from core.keys import Actor, ConversationKey
from core.records import Conversation, StoredMessage
from core.replies.interrupted import InterruptedAnswer, interrupted_answer
from core.replies.scheduler import CONTINUABLE, ReplyScheduler, Submitted
from core.streaming import ReplySink, ReplyView


class ReplyAction(StrEnum):
    STOP = "stop"
    REGENERATE = "regenerate"
    CONTINUE = "continue"
    REASONING = "reasoning"  # about the answer itself (its id), not the conversation
    FEEDBACK_UP = "feedback_up"
    FEEDBACK_DOWN = "feedback_down"
    DELETE = "delete"  # the whole conversation


STOP, REGENERATE, CONTINUE, REASONING = (ReplyAction.STOP, ReplyAction.REGENERATE, ReplyAction.CONTINUE,
                                         ReplyAction.REASONING)  # fmt: skip
FEEDBACK_UP, FEEDBACK_DOWN, DELETE = ReplyAction.FEEDBACK_UP, ReplyAction.FEEDBACK_DOWN, ReplyAction.DELETE

SinkFor = Callable[[ConversationKey], ReplySink]  # a sink that answers in the conversation at that key


def reply_actions(view: ReplyView) -> list[ReplyAction]:
    """The buttons one message of an answer carries, in the order they are shown."""
    if not view.is_last:
        return []
    if view.phase == "streaming":
        return [STOP]
    actions = [REGENERATE]
    if view.status in CONTINUABLE:
        actions.append(CONTINUE)
    if view.reply_id is None:  # nothing stored to look the reasoning up by, or to vote on
        return actions
    if view.has_reasoning:
        actions.append(REASONING)
    return [*actions, FEEDBACK_UP, FEEDBACK_DOWN, DELETE]


@dataclass(slots=True)
class Pressed:
    """What a press did: `done` is False for a Stop with nothing being written; `submitted` is the new answer
    Regenerate or Continue started."""

    action: ReplyAction
    conversation: Conversation
    done: bool = True
    submitted: Submitted | None = None


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
            return Pressed(STOP, conversation, done=await self.replies.stop(conversation.id, actor))
        if action == REGENERATE:
            submitted = await self.regenerate(conversation.id, actor, sink_for(conversation.key))
            return Pressed(REGENERATE, conversation, submitted=submitted)
        if action == CONTINUE:
            submitted = await self.continue_reply(conversation.id, actor, sink_for(conversation.key))
            return Pressed(CONTINUE, conversation, submitted=submitted)
        if action == DELETE:
            await self.conversations.delete(conversation.id, actor)
            return Pressed(DELETE, conversation)
        if action in (FEEDBACK_UP, FEEDBACK_DOWN) and reply_id is not None:
            vote = "up" if action == FEEDBACK_UP else "down"
            await self.conversations.record_feedback(conversation, reply_id, actor, vote)
            return Pressed(ReplyAction(action), conversation)
        raise InvalidSetting("That button does nothing here.")

    async def interrupted(self, platform: str, replies: list[StoredMessage]) -> list[InterruptedAnswer]:
        """Of the answers a dead process left unfinished (core.app's on_interrupted), those `platform` posted,
        each with the view its message is closed with."""
        found = []
        for reply in replies:
            if reply.platform_message_id and (answer := await interrupted_answer(self.conversations, reply, platform)):
                found.append(answer)
        return found

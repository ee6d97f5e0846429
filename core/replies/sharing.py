"""Sharing an answer only its asker saw (Discord's `/ask` and message commands answer privately): the question and
the answer, for the front end to post where everyone there sees them. Only the person who asked may share it."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import NotAllowed, NotFound
from core.keys import Actor
from core.records import MessageStatus
from core.store.base import Store

GONE = "That answer no longer exists."
LOOK_BACK = 50  # messages read back from the answer for its question


@dataclass(frozen=True, slots=True)
class Shared:
    question: str
    answer: str
    model: str
    asker_name: str


async def shared_answer(store: Store, reply_id: int, actor: Actor) -> Shared:
    reply = await store.get_message(reply_id)
    if reply is None or reply.role != "assistant" or reply.conversation_id is None:
        raise NotFound(GONE)
    conversation = await store.get_conversation_by_id(reply.conversation_id)
    if conversation is None or conversation.key.platform != actor.platform:
        raise NotFound(GONE)
    if conversation.owner_id != actor.user_id:
        raise NotAllowed("Only the person who asked can share this answer.")
    if reply.status == MessageStatus.STREAMING:
        raise NotAllowed("The answer is still being written. Share it once it is done.")
    recent = await store.recent_messages(conversation.id, LOOK_BACK)
    before = [m for m in recent if m.id is not None and m.id < reply_id]
    asked = []
    for message in reversed(before):  # the person's messages since the previous answer
        if message.role == "assistant":
            break
        asked.insert(0, message)
    question = "\n\n".join(m.content for m in asked)
    name = asked[-1].author_name if asked else actor.display_name
    return Shared(question, reply.content, reply.model, name or actor.display_name)

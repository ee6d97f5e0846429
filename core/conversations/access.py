"""Who may act on a conversation: its owner, or an admin of the workspace it lives in (never of another)."""

from __future__ import annotations

from core.errors import NotAllowed, NotFound
from core.keys import Actor
from core.records import Conversation

GONE = "That conversation no longer exists."


def check_owner_or_admin(conversation: Conversation, actor: Actor, action: str) -> None:
    """Owners may act on their conversations; admins only within the workspace they administer."""
    if conversation.key.platform != actor.platform:
        raise NotFound(GONE)
    if conversation.owner_id == actor.user_id:
        return
    if actor.is_admin and conversation.key.workspace == actor.workspace:
        return
    raise NotAllowed(f"Only the conversation's owner or an admin can {action}.")


def check_may_stop(conversation: Conversation | None, actor: Actor, requester: str) -> None:
    """Stopping an answer: the person who asked it, the conversation's owner, or an admin of its workspace."""
    if conversation is None:
        return
    if conversation.key.platform != actor.platform:
        raise NotFound(GONE)
    admin_here = actor.is_admin and conversation.key.workspace == actor.workspace
    if actor.user_id not in (requester, conversation.owner_id) and not admin_here:
        raise NotAllowed("Only the person who asked, the conversation's owner or an admin can stop this answer.")


def check_may_read_reasoning(conversation: Conversation, actor: Actor) -> None:
    """An answer's reasoning: anyone of the workspace where the answer is shown; outside a workspace (DMs)
    only the conversation's owner (or an admin)."""
    if conversation.key.platform != actor.platform:
        raise NotFound("That answer no longer exists.")
    if not (conversation.key.workspace and conversation.key.workspace == actor.workspace):
        check_owner_or_admin(conversation, actor, "read its reasoning")

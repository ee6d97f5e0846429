"""Which scope a command writes, for every front end: a place (a channel or the workspace) only when one is named,
in a workspace, by an admin; otherwise the conversation when the command is typed in one, else the person's own
default. Refusals are worded in the platform's terms (`workspace`: Discord says "server"; `admins`: who counts as
one there), since they name what the person sees."""

from __future__ import annotations

from core.errors import NotAllowed
from core.keys import Actor, ConversationKey
from core.records import Scope

PLACES = (Scope.CHANNEL, Scope.WORKSPACE)


def check_place_here(
    key: ConversationKey, scope: Scope, what: str = "settings", *, workspace: str = "workspace"
) -> None:
    """A channel's or the workspace's `what` can only be set in a workspace (a DM outside one has neither)."""
    if scope in PLACES and not key.workspace:
        raise NotAllowed(f"Channel and {workspace} {what} can only be set in a {workspace}.")


def model_scope(
    actor: Actor,
    key: ConversationKey,
    place: Scope | None,
    *,
    in_conversation: bool,
    workspace: str = "workspace",
    admins: str = "an admin",
) -> Scope:
    """Where `/model NAME` writes: the `place` named (channel or workspace: admins, in a workspace), else the
    conversation when it is typed in one (`in_conversation`: a thread holding one), else the person's default."""
    if place is not None:
        check_place_here(key, place, "defaults", workspace=workspace)
        if not actor.is_admin:
            where = "channel" if place is Scope.CHANNEL else workspace
            raise NotAllowed(f"Only {admins} can set the {where} default model.")
        return place
    return Scope.CONVERSATION if in_conversation else Scope.USER

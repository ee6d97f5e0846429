"""Where a setting is stored, for every reader and writer: (workspace, scope, scope_id)."""

from __future__ import annotations

from core.keys import ConversationKey
from core.records import Place, Scope


def place_of(key: ConversationKey, scope: Scope, user_id: str, conversation_id: int | None) -> tuple[str, str]:
    """(workspace, scope_id) a setting at `scope` is stored under, for every reader and writer: a person's own
    settings follow them across workspaces; the others belong to the workspace."""
    if scope is Scope.USER:
        return "", user_id
    scope_id = {
        Scope.CONVERSATION: str(conversation_id),
        Scope.CHANNEL: key.channel,
        Scope.WORKSPACE: key.workspace,
    }[scope]
    return key.workspace, scope_id


def answer_places(key: ConversationKey, user_id: str, conversation_id: int | None) -> list[Place]:
    """Where the settings of an answer at `key` are stored."""
    scopes = [Scope.USER, Scope.CHANNEL]
    if conversation_id is not None:
        scopes.append(Scope.CONVERSATION)
    if key.workspace:
        scopes.append(Scope.WORKSPACE)
    places: list[Place] = []
    for scope in scopes:
        workspace, scope_id = place_of(key, scope, user_id, conversation_id)
        places.append((workspace, scope, scope_id))
    if key.workspace:  # the person's own place in this workspace: whether their memory is on here (core.memory)
        places.append((key.workspace, Scope.USER, user_id))
    return places

"""The buttons under an answer, one rule for every platform: Stop while it streams; once it is done Regenerate,
Continue when it was cut short (length limit, Stop, a restart), and Show reasoning when the model reasoned. Only
an answer's last message carries them. Each platform draws them its own way, and may add its own (Slack's
feedback and Delete)."""

from __future__ import annotations

from enum import StrEnum

from core.records import MessageStatus
from core.streaming import ReplyView


class ReplyAction(StrEnum):
    STOP = "stop"
    REGENERATE = "regenerate"
    CONTINUE = "continue"
    REASONING = "reasoning"  # acts on the answer itself (its id), not on the conversation


CONTINUABLE = frozenset({MessageStatus.TRUNCATED, MessageStatus.STOPPED, MessageStatus.INTERRUPTED})


def reply_actions(view: ReplyView) -> list[ReplyAction]:
    """The buttons one message of an answer carries, in the order they are shown."""
    if not view.is_last:
        return []
    if view.phase == "streaming":
        return [ReplyAction.STOP]
    actions = [ReplyAction.REGENERATE]
    if view.status in CONTINUABLE:
        actions.append(ReplyAction.CONTINUE)
    if view.has_reasoning and view.reply_id is not None:
        actions.append(ReplyAction.REASONING)
    return actions

"""Talking to the Web API: how a Slack message is named, what an error says, and which errors are the core's
(429 -> RateLimited, a message gone, a native stream refused or stopped by the person, a place the bot may not
write to)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from core.streaming import MessageGone, RateLimited, StoppedByUser, StreamUnavailable, Undeliverable

log = logging.getLogger(__name__)

# errors that mean "this message cannot (or can no longer) be streamed natively: finish with edits"
STREAM_ERRORS = frozenset(
    {
        "channel_type_not_supported",
        "missing_recipient_team_id",
        "missing_recipient_user_id",
        "message_not_in_streaming_state",
        "streaming_not_supported",
        "not_allowed",
        "unknown_method",
        "method_deprecated",
        "feature_not_enabled",
    }
)
# errors that mean "the bot may not (or can no longer) write here": retrying cannot help (the chat.* methods'
# errors in the Web API reference that are about the channel or the workspace, not about the request)
UNDELIVERABLE_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "messages_tab_disabled",
        "ekm_access_denied",
        "app_access_restricted",
        "posting_to_channel_denied",
        "team_not_found",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "restricted_action_thread_locked",
    }
)


@dataclass(frozen=True, slots=True)
class SlackRef:
    channel: str
    ts: str


def message_id(channel: str, ts: str) -> str:
    """How the core stores a Slack message id: ts alone is only unique within a channel."""
    return f"{channel}/{ts}"


def retry_after(exc: SlackApiError) -> float:
    headers = getattr(exc.response, "headers", None) or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(float(value if isinstance(value, str) else value[0]), 0.0)
            except (TypeError, ValueError, IndexError):
                break
    return 1.0


def slack_error(exc: SlackApiError) -> str:
    try:
        return str(exc.response.get("error") or "")
    except Exception:
        return ""


def translate(exc: SlackApiError, ref: SlackRef | None, *, streaming: bool, shared: bool) -> Exception | None:
    """The core's exception for what Slack answered, or None when it is none of the core's (the caller re-raises).
    `shared`: the method's limit is the workspace's, so its 429 holds back every answer in the workspace."""
    error = slack_error(exc)
    if exc.response.status_code == 429 or error in ("ratelimited", "rate_limited"):
        return RateLimited(retry_after(exc), scope_global=shared)
    if error == "message_not_found":
        return MessageGone()
    if error in UNDELIVERABLE_ERRORS:
        return Undeliverable(error, code=error)
    if streaming and error == "stopped_by_user":
        return StoppedByUser()  # Slack's native Stop was pressed: agent_session_stopped follows
    if streaming and error in STREAM_ERRORS:
        return StreamUnavailable(error, ref)
    log.warning("slack call failed: %s", error or exc.response.status_code)
    return None

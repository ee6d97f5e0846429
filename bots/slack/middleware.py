"""The Bolt middleware around every request, one concern each, and the app's error handler (app.error).

Bolt runs listeners after its middleware has returned (next() only lets the request go on), so nothing here
wraps a listener: what must hold while one runs is set before it (the workspace) and what it raises reaches
`on_error`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bots.slack.adapter import PLATFORM, SlackAdapter
from core.errors import StoreUnavailable, UserFacingError
from core.ops import metrics

log = logging.getLogger(__name__)

EVENT_CLAIM = "hfchat_event_claim"  # Bolt context key: the event id claimed for the request being handled

Next = Callable[[], Awaitable[Any]]


async def acknowledge(ack: Any, next: Next) -> Any:
    """Listener middleware: ack() first, before the listener's work. Slack has its answer at once, and a refusal
    the listener raises later goes to app.error with that ack kept (Bolt's runner takes back an ack the listener
    itself sent when the listener raises right after it, and Socket Mode then sends none)."""
    await ack()
    return await next()


ACK_FIRST = [acknowledge]  # for commands, buttons and shortcuts (events are acked by Bolt; forms ack themselves)


async def count_event(body: dict, next: Next) -> Any:
    kind = body.get("type") or ("command" if body.get("command") else "")
    if kind == "event_callback":
        kind = str((body.get("event") or {}).get("type") or "event")
    metrics.event_received(PLATFORM, kind[:40])
    return await next()


class RequestMiddleware:
    """The middleware and error handler that need the adapter."""

    def __init__(self, slack: SlackAdapter):
        self.slack = slack

    async def bind_workspace(self, context: Any, next: Next) -> Any:
        self.slack.bind(context)
        return await next()

    async def drop_duplicate_event(self, body: dict, ack: Any, next: Next, context: Any) -> Any:
        # Slack retries an event it thinks we missed, with the same event_id: answer once, still ack 200
        # (a middleware that neither calls next() nor returns the ack makes Bolt answer 404).
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        # the database down: this raises, Bolt answers 500 (and sends no Socket Mode ack), Slack retries
        if event_id and not await self.slack.chat.claims.claim(PLATFORM, str(event_id)):
            log.info("duplicate event %s dropped", event_id)
            metrics.duplicate_dropped(PLATFORM)
            return await ack()
        if event_id:
            context[EVENT_CLAIM] = str(event_id)
        return await next()

    async def on_error(self, error: Exception, context: Any, respond: Any, response: Any) -> None:
        """What a listener raised. A refusal (UserFacingError) is told to the one who asked, and the request still
        succeeds; a database that stayed down gives the event's claim back, and in HTTP mode the request fails so
        Slack delivers it again (in Socket Mode it was acknowledged already: the user was asked to resend)."""
        if isinstance(error, UserFacingError):
            if response is not None:
                response.status = 200
            if respond is None:  # a form or the App Home: no response_url to answer on
                log.info("a refusal had nowhere to be shown")
                return
            await respond(text=str(error), response_type="ephemeral", replace_original=False)
            return
        if isinstance(error, StoreUnavailable):
            claim = context.get(EVENT_CLAIM)
            if claim:  # not done: a redelivery of the event must be handled, not dropped
                await self.slack.chat.claims.release(PLATFORM, claim)
            if not self.slack.store_before_ack:
                log.warning("a Slack request was not handled: the database is unavailable")
            return
        log.error("a Slack listener failed: %s", type(error).__name__, exc_info=error)

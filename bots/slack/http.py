"""Slack's signed HTTP mode: Bolt behind aiohttp at /slack/events (and the OAuth install pages), with a signed
body Slack would never send refused before it reaches Bolt."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bots.slack.account import AccountForm
from bots.slack.adapter import SlackAdapter

log = logging.getLogger(__name__)


def web_app(slack: SlackAdapter, path: str = "/slack/events") -> web.Application:
    app = slack.app.web_app(path=path)
    app.middlewares.append(_malformed_refused(SignatureVerifier(slack.signing_secret)))
    sign_in = slack.chat.accounts.sign_in_route(AccountForm(slack).told)  # "Sign in with Hugging Face" comes back here
    if sign_in is not None:
        app.router.add_get(*sign_in)
    return app


async def serve_http(slack: SlackAdapter, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(web_app(slack), handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


_EVENT_TEXT_FIELDS = ("ts", "thread_ts", "event_ts", "text", "team", "subtype", "channel_type", "bot_id")
_COMMAND_FIELDS = ("command", "team_id", "user_id", "channel_id")


def _malformed_event(payload: Any) -> str:
    """Why a JSON body is not a Slack event ("" when it is one)."""
    if not isinstance(payload, dict):
        return "not a JSON object"
    if payload.get("type") != "event_callback":
        return ""
    event = payload.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return "an event callback without an event"
    if not all(isinstance(event.get(name), str | dict | None) for name in ("channel", "user")):
        return "an event with odd channel or user fields"
    if not all(isinstance(event.get(name), str | None) for name in _EVENT_TEXT_FIELDS):
        return "an event with odd text fields"
    return ""


def _id_of(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("id"), str) and bool(value["id"])


def _malformed_form(form: dict[str, list[str]]) -> str:
    """Why a form body is neither a slash command nor an interaction Slack would send ("" when it is one)."""
    if "payload" in form:
        try:
            payload = json.loads(form["payload"][0])
        except ValueError:
            return "an interaction payload that is not JSON"
        if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
            return "an interaction payload without a type"
        if payload["type"] in ("block_actions", "message_action", "shortcut", "view_submission"):
            if not _id_of(payload.get("user")) or (
                "team" in payload and payload["team"] is not None and not _id_of(payload["team"])
            ):
                return "an interaction without its user or team"
        if payload["type"] == "block_actions":
            actions = payload.get("actions")
            if not isinstance(actions, list) or not actions:
                return "a block action without actions"
            if not all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
                return "a block action without its action id"
        return ""
    if "command" in form:
        if not all(form.get(name, [""])[0] for name in _COMMAND_FIELDS):
            return "a slash command without its team, user or channel"
    return ""


def _malformed_refused(verifier: SignatureVerifier) -> Any:
    """A signed body Slack would never send gets 400 and one log line (no content), not a 500 and a traceback
    from deep inside Bolt (nor a retry from Slack). Anything unsigned goes on to Bolt, which answers 401."""

    @web.middleware
    async def refuse(request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]) -> Any:
        if request.method != "POST":
            return await handler(request)
        try:
            body = (await request.read()).decode("utf-8")
        except UnicodeDecodeError:  # nothing Slack sends, signed or not (and no signature can be checked on it)
            return _refused("a body that is not UTF-8")
        if not verifier.is_valid_request(body, dict(request.headers)):
            return await handler(request)
        why = ""
        if request.content_type == "application/json":
            try:
                why = _malformed_event(json.loads(body))
            except ValueError:
                why = "a body that is not JSON"
        elif request.content_type == "application/x-www-form-urlencoded":
            why = _malformed_form(parse_qs(body, keep_blank_values=True))
        return _refused(why) if why else await handler(request)

    return refuse


def _refused(why: str) -> web.Response:
    log.info("malformed Slack request refused: %s", why)
    return web.Response(status=400, text=why)

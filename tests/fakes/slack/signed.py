"""Signed HTTP requests (Events API, slash commands, interactivity over HTTP), the way Slack sends them."""

# Timeouts are part of this test helper's API (wait_ack(envelope_id, timeout), ...).
# ruff: noqa: ASYNC109

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

# --------------------------------------------------------------------------------------
# Signed HTTP requests (Events API / slash commands / interactivity over HTTP)
# --------------------------------------------------------------------------------------


def sign_request(body: bytes | str, signing_secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack adds to every HTTP request it sends to an app (v0 signature)."""
    if isinstance(body, str):
        body = body.encode()
    ts = str(int(time.time()) if timestamp is None else int(timestamp))
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class SignedResponse:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


async def post_signed(
    url: str,
    signing_secret: str,
    *,
    json_body: dict | None = None,
    form: dict | None = None,
    interactive: dict | None = None,
    raw: bytes | None = None,
    content_type: str | None = None,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> SignedResponse:
    """POST a signed request to an app, the way Slack delivers HTTP events.

    Give exactly one body: `json_body` (Events API), `form` (slash command fields),
    `interactive` (sent as form field `payload=<json>`, like Slack does) or `raw`.
    `retry_num` / `retry_reason` add Slack's X-Slack-Retry-Num / X-Slack-Retry-Reason.
    """
    if sum(x is not None for x in (json_body, form, interactive, raw)) != 1:
        raise ValueError("give exactly one of json_body, form, interactive, raw")
    if json_body is not None:
        body, ctype = json.dumps(json_body).encode(), "application/json"
    elif form is not None:
        body, ctype = urlencode(form).encode(), "application/x-www-form-urlencoded"
    elif interactive is not None:
        body = urlencode({"payload": json.dumps(interactive)}).encode()
        ctype = "application/x-www-form-urlencoded"
    else:
        body, ctype = raw, "application/octet-stream"
    hdrs = {"Content-Type": content_type or ctype, **sign_request(body, signing_secret, timestamp)}
    if retry_num is not None:
        hdrs["X-Slack-Retry-Num"] = str(retry_num)
    if retry_reason is not None:
        hdrs["X-Slack-Retry-Reason"] = retry_reason
    hdrs.update(headers or {})
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        async with session.post(url, data=body, headers=hdrs) as resp:
            return SignedResponse(resp.status, dict(resp.headers), await resp.text())


class SignedHttpMixin:
    """Deliver payloads to an app in HTTP mode, signed with the workspace's secret."""

    async def http_send(self, url: str, payload: dict, *, kind: str = "event", **kw: Any) -> SignedResponse:
        """Deliver a payload to an app over HTTP, signed with this workspace's secret.

        kind: "event" (JSON; a bare event is wrapped), "command" (form), "interactive".
        """
        if kind == "event":
            if payload.get("type") not in ("event_callback", "url_verification"):
                payload = self.build_event_callback(payload)
            return await post_signed(url, self.signing_secret, json_body=payload, **kw)
        if kind == "command":
            return await post_signed(url, self.signing_secret, form=payload, **kw)
        if kind == "interactive":
            return await post_signed(url, self.signing_secret, interactive=payload, **kw)
        raise ValueError(kind)

"""Signing in with Hugging Face (OAuth 2.0 authorization code with PKCE, RFC 7636), through the bot's own HTTP
endpoint where it has one.

No sign-in is kept in memory or in the database: the `state` sent through the browser is the sign-in itself (who,
where to say so, the PKCE verifier), encrypted and authenticated with ACCOUNTS_KEY (Fernet, which also dates it).
Whichever of the bot's processes receives the redirect can open it; nobody else can read the verifier in it, and
a state older than SIGN_IN_SECONDS is refused.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.accounts.hub import HubUnavailable, TokenRefused
from core.errors import UserFacingError
from core.keys import Actor

log = logging.getLogger(__name__)

SIGN_IN_SECONDS = 600
SCOPES = "openid profile inference-api"  # who they are, and calls to Inference Providers on their behalf


class SignInExpired(TokenRefused):
    def __init__(self) -> None:
        super().__init__("That sign-in link has expired or was already used. Run `/account connect` again.")


@dataclass(frozen=True, slots=True)
class SignIn:
    """A sign-in that came back: who started it, where to tell them (front-end data), and their token."""

    actor: Actor
    where: dict
    token: str


def challenge_of(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class HubSignIn:
    def __init__(self, keys: str, hub_url: str, client_id: str, client_secret: str, redirect_url: str):
        self._fernet = MultiFernet([Fernet(key.strip()) for key in keys.split(",") if key.strip()])
        self.hub_url = hub_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_url = redirect_url

    def start(self, actor: Actor, where: dict | None = None) -> str:
        """The Hub's authorize URL for `actor` (open it in a browser); `where` comes back with the sign-in."""
        verifier = secrets.token_urlsafe(48)  # 64 characters, within RFC 7636's 43..128
        state = self._fernet.encrypt(
            json.dumps(
                {
                    "p": actor.platform,
                    "u": actor.user_id,
                    "n": actor.display_name,
                    "w": actor.workspace,
                    "v": verifier,
                    "at": where or {},
                }
            ).encode()
        ).decode()
        query = {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_url,
            "response_type": "code",
            "scope": SCOPES,
            "state": state,
            "code_challenge": challenge_of(verifier),
            "code_challenge_method": "S256",
        }
        return f"{self.hub_url}/oauth/authorize?{urlencode(query)}"

    async def finish(self, code: str, state: str) -> SignIn:
        """The redirect's `code` and `state` turned into a token (one request to the Hub's token endpoint)."""
        try:
            opened = json.loads(self._fernet.decrypt(state.encode(), ttl=SIGN_IN_SECONDS))
        except (InvalidToken, ValueError):
            raise SignInExpired() from None
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_url,
            "code_verifier": opened["v"],
            "client_id": self.client_id,
        }
        basic = base64.b64encode(f"{self.client_id}:{self._client_secret}".encode()).decode()
        auth = {"Authorization": f"Basic {basic}"}  # client_secret_basic (RFC 6749 §2.3.1)
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session,
                session.post(f"{self.hub_url}/oauth/token", data=form, headers=auth) as response,
            ):
                body = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("oauth token exchange failed: %s", type(exc).__name__)
            raise HubUnavailable("Hugging Face could not be reached to finish signing in. Try again.") from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if status != 200 or not isinstance(token, str) or not token:
            log.warning("oauth token exchange refused: %s", status)  # never the body: it may hold a token
            raise SignInExpired()
        actor = Actor(opened["p"], opened["u"], opened.get("n", ""), opened.get("w", ""))
        return SignIn(actor, opened.get("at") or {}, token)


PAGE = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Hugging Face account</title></head>"
    "<body style='font-family:sans-serif;max-width:36em;margin:4em auto'><p>{text}</p></body></html>"
)


def callback_handler(
    finish: Callable[[str, str], Awaitable[tuple[SignIn, Any]]], told: Callable[[SignIn, str], Awaitable[None]]
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler of the sign-in redirect (GET ?code=…&state=…): `finish(code, state)` connects the
    account ((SignIn, Connected)); `told(sign_in, text)` tells the person where they started (a front end's).
    The page says who is connected, never the token."""

    async def handle(request: web.Request) -> web.Response:
        code, state = request.query.get("code", ""), request.query.get("state", "")
        if request.query.get("error") or not code or not state:
            text, status = "Signing in was cancelled. Run `/account connect` again whenever you like.", 400
        else:
            try:
                signed_in, connected = await finish(code, state)
            except UserFacingError as refused:
                text, status = str(refused), 400
            else:
                text, status = connected.text + " You can close this tab.", 200
                try:
                    await told(signed_in, connected.text)
                except Exception as exc:  # the account is connected whatever the chat says
                    log.warning("could not say the sign-in in the chat: %s", type(exc).__name__)
        page = PAGE.format(text=html.escape(text).replace("**", ""))
        return web.Response(status=status, text=page, content_type="text/html", headers={"Cache-Control": "no-store"})

    return handle

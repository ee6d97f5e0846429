"""A fake Hugging Face Hub on loopback: `GET /api/whoami-v2` as the Hub answers it (the fields core.accounts reads,
shaped as huggingface_hub's `whoami()` documents them), and OAuth's authorize and token endpoints with PKCE.

Tokens are registered with `add_token`; any other token, or one `revoke`d, gets the Hub's 401.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode

from aiohttp import web


@dataclass
class HubUser:
    name: str
    fullname: str = ""
    orgs: list[str] = field(default_factory=list)
    token_name: str = "hfchat"


class FakeHub:
    def __init__(self) -> None:
        self.tokens: dict[str, HubUser] = {}
        self.whoami_calls: list[str] = []  # the token each whoami carried
        # OAuth: client -> secret, code -> (client, redirect_uri, challenge, user), issued access tokens
        self.clients: dict[str, str] = {}
        self.codes: dict[str, tuple[str, str, str, HubUser]] = {}
        self.signed_in: HubUser | None = None  # who "signs in" on the authorize page
        self.token_requests: list[dict] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    def add_token(self, token: str, user: HubUser) -> None:
        self.tokens[token] = user

    def revoke(self, token: str) -> None:
        self.tokens.pop(token, None)

    async def __aenter__(self) -> FakeHub:
        app = web.Application()
        app.router.add_get("/api/whoami-v2", self._whoami)
        app.router.add_get("/oauth/authorize", self._authorize)
        app.router.add_post("/oauth/token", self._token)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _whoami(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.whoami_calls.append(token)
        user = self.tokens.get(token)
        if user is None:
            return web.json_response({"error": "Invalid credentials in Authorization header"}, status=401)
        return web.json_response(
            {
                "type": "user",
                "id": "6" + hashlib.sha1(user.name.encode()).hexdigest()[:23],
                "name": user.name,
                "fullname": user.fullname,
                "isPro": False,
                "orgs": [{"type": "org", "name": org, "roleInOrg": "write"} for org in user.orgs],
                "auth": {
                    "type": "access_token",
                    "accessToken": {"displayName": user.token_name, "role": "fineGrained"},
                },
            }
        )

    async def _authorize(self, request: web.Request) -> web.Response:
        """The person signs in and approves: redirected to the app with a code bound to the PKCE challenge."""
        q = request.query
        if q.get("client_id") not in self.clients or q.get("response_type") != "code" or self.signed_in is None:
            return web.json_response({"error": "invalid_request"}, status=400)
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return web.json_response({"error": "invalid_request", "error_description": "PKCE required"}, status=400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = (q["client_id"], q.get("redirect_uri", ""), q["code_challenge"], self.signed_in)
        raise web.HTTPFound(f"{q.get('redirect_uri', '')}?{urlencode({'code': code, 'state': q.get('state', '')})}")

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.token_requests.append(form)
        entry = self.codes.pop(str(form.get("code", "")), None)  # a code is used once
        if entry is None or form.get("grant_type") != "authorization_code":
            return web.json_response({"error": "invalid_grant"}, status=400)
        client, redirect_uri, challenge, user = entry
        auth = request.headers.get("Authorization", "")
        given = base64.b64decode(auth.removeprefix("Basic ")).decode() if auth.startswith("Basic ") else ""
        if given != f"{client}:{self.clients[client]}" or form.get("redirect_uri") != redirect_uri:
            return web.json_response({"error": "invalid_client"}, status=401)
        verifier = str(form.get("code_verifier", ""))
        expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if expected != challenge:
            return web.json_response({"error": "invalid_grant", "error_description": "PKCE verification failed"}, 400)
        access = "hf_oauth_" + secrets.token_urlsafe(24)
        self.tokens[access] = user
        return web.json_response({"access_token": access, "token_type": "bearer", "expires_in": 28800})

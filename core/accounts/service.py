"""Connecting a person's Hugging Face account, and which token each of their requests carries.

A person connects by giving a token (in a private form) or by signing in (OAuth); the Hub's whoami says who it
belongs to, and only then is it kept, encrypted (core.accounts.sealing). Their answers then carry their token:
their credits, their PRO limits. A workspace's admins choose whether people who have not connected may use the
bot's own token (HF_TOKEN) and may bill an organization (`X-HF-Bill-To`) for every request made there.

A question asked by someone who must connect first is held (in memory, for a while) and answered once they have.
Tokens never reach a log, an export or an error message; `/account disconnect` and "delete all my data" erase them.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlparse

from core.accounts.hub import HubClient, HubIdentity, HubUnavailable, TokenRefused
from core.accounts.oauth import HubSignIn, SignIn, callback_handler
from core.accounts.sealing import TokenSeal
from core.errors import NotAllowed, UserFacingError
from core.keys import Actor, ConversationKey
from core.records import Account, Scope
from core.store.base import Store

__all__ = [
    "AccountNeeded",
    "AccountService",
    "AccountStatus",
    "AccountsOff",
    "Connected",
    "Credentials",
    "HubUnavailable",
    "TokenRefused",
]

log = logging.getLogger(__name__)

SHARED_TOKEN = "accounts_shared_token"  # workspace setting: "off" = people must connect their own account
BILL_TO = "accounts_bill_to"  # workspace setting: the organization billed for every request made there
WAITING_SECONDS = 1800.0  # how long a question waits for its asker to connect
_TOKEN = re.compile(r"[A-Za-z0-9_\-.]{8,512}")
_ORG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-.]{0,95}")

CONNECT_HOW = "Connect with `/account connect` (your token goes in a private form, never in the channel)."


class AccountNeeded(UserFacingError):
    def __init__(self) -> None:
        super().__init__(
            "🔑 In this workspace each person uses their own Hugging Face account. " + CONNECT_HOW + " I'll answer "
            "your question as soon as you have."
        )


class AccountsOff(UserFacingError):
    def __init__(self) -> None:
        super().__init__("Connecting a Hugging Face account is not set up on this bot (an admin sets ACCOUNTS_KEY).")


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request to the router carries: a person's token (None: the bot's HF_TOKEN), the org billed."""

    token: str | None = None
    bill_to: str | None = None

    def __repr__(self) -> str:  # never the token
        return f"Credentials(own_token={self.token is not None}, bill_to={self.bill_to!r})"


@dataclass(frozen=True, slots=True)
class Connected:
    identity: HubIdentity
    resumed: bool = False  # a question held until they connected is being answered

    @property
    def text(self) -> str:
        then = " I'm answering the question you asked before." if self.resumed else ""
        return f"✅ Connected to Hugging Face as {self.identity.described()}. Your answers now use your account.{then}"


@dataclass(frozen=True, slots=True)
class AccountStatus:
    identity: HubIdentity | None  # None: not connected
    shared_token: bool  # whether people without an account may use the workspace's token here
    bill_to: str | None
    refused: bool = False  # a token was connected, and Hugging Face refused it (it is erased)
    text: str = ""


@dataclass(slots=True)
class _Waiting:
    resume: Callable[[], Awaitable[object]]
    since: float


class AccountService:
    def __init__(self, store: Store, keys: str | None, hub: HubClient, sign_in: HubSignIn | None = None):
        """`keys`: ACCOUNTS_KEY (None or empty: connecting is off); `sign_in`: OAuth, where it is set up."""
        self.store = store
        self.hub = hub
        self.seal = TokenSeal(keys) if keys else None
        self.sign_in = sign_in if self.seal is not None else None
        self._waiting: dict[tuple[str, str], _Waiting] = {}
        # front ends that show a connection themselves (Slack's user connections): told (actor, connected)
        self.watchers: list[Callable[[Actor, bool], Awaitable[None]]] = []

    @classmethod
    def configured(
        cls,
        store: Store,
        keys: str | None,
        hub_url: str,
        client_id: str | None,
        client_secret: str | None,
        redirect_url: str | None,
    ) -> AccountService:
        """Pasted tokens with `keys` (ACCOUNTS_KEY), and signing in with Hugging Face when its OAuth app is set up."""
        sign_in = None
        if keys and client_id and client_secret and redirect_url:
            sign_in = HubSignIn(keys, hub_url, client_id, client_secret, redirect_url)
        return cls(store, keys, HubClient(hub_url), sign_in)

    @property
    def enabled(self) -> bool:
        return self.seal is not None

    def sign_in_route(self, told: Callable[[SignIn, str], Awaitable[None]]) -> tuple[str, Callable] | None:
        """(path, aiohttp handler) of the sign-in redirect, for a front end's HTTP server to serve; `told(sign_in,
        text)` says the result where the person started. None when signing in is not set up."""
        if self.sign_in is None or not self.sign_in.redirect_url:
            return None
        return urlparse(self.sign_in.redirect_url).path or "/", callback_handler(self.finish_sign_in, told)

    # a person's own account
    async def connect(self, actor: Actor, token: str) -> Connected:
        """Check `token` with the Hub and keep it (encrypted) for `actor`; a held question is answered now."""
        if self.seal is None:
            raise AccountsOff()
        token = token.strip().removeprefix("Bearer ").strip()
        if not _TOKEN.fullmatch(token):  # a pasted line that is not a token is not sent anywhere
            raise TokenRefused("That does not look like a Hugging Face token (they start with `hf_`). Paste it again.")
        identity = await self.hub.whoami(token)
        await self.store.save_account(Account(actor.platform, actor.user_id, identity.name, self.seal.seal(token)))
        log.info("account connected on %s", actor.platform)  # neither the token nor who
        await self._tell_watchers(actor, True)
        return Connected(identity, resumed=await self._resume(actor))

    def sign_in_url(self, actor: Actor, where: dict | None = None) -> str | None:
        """Where `actor` signs in with Hugging Face (OAuth with PKCE), or None when the bot has no sign-in set up.
        `where` (front-end data: the channel to tell) comes back with the sign-in."""
        return self.sign_in.start(actor, where) if self.sign_in is not None else None

    async def finish_sign_in(self, code: str, state: str) -> tuple[SignIn, Connected]:
        """The Hub's redirect: the code exchanged for a token, which is then connected like a pasted one."""
        if self.sign_in is None:
            raise AccountsOff()
        signed_in = await self.sign_in.finish(code, state)
        return signed_in, await self.connect(signed_in.actor, signed_in.token)

    async def disconnect(self, actor: Actor) -> bool:
        """Erase the person's token; True if one was connected."""
        self.forget_waiting(actor)
        erased = await self.store.delete_account(actor.platform, actor.user_id)
        if erased:
            log.info("account disconnected on %s", actor.platform)
            await self._tell_watchers(actor, False)
        return erased

    async def status(self, actor: Actor, key: ConversationKey) -> AccountStatus:
        """Who is connected (asked of the Hub now, so a revoked token shows), and the workspace's rules."""
        shared, bill_to = await self._workspace_rules(key)
        account = await self.store.get_account(actor.platform, actor.user_id)
        identity, refused = None, False
        token = self._open(account)
        if token is not None:
            try:
                identity = await self.hub.whoami(token)
            except TokenRefused:
                await self.token_refused(actor)
                refused = True
        elif account is not None:  # ACCOUNTS_KEY changed: what is kept can no longer be opened
            await self.token_refused(actor)
            refused = True
        status = AccountStatus(identity, shared, bill_to, refused)
        return AccountStatus(identity, shared, bill_to, refused, text=_status_text(status))

    async def credentials(self, actor: Actor, key: ConversationKey) -> Credentials:
        """The token and bill-to organization of `actor`'s requests at `key`; AccountNeeded when they must
        connect first."""
        shared, bill_to = await self._workspace_rules(key)
        token = self._open(await self.store.get_account(actor.platform, actor.user_id)) if self.enabled else None
        if token is not None:
            return Credentials(token, bill_to)
        if not shared:
            raise AccountNeeded()
        return Credentials(None, bill_to)

    async def token_refused(self, actor: Actor) -> None:
        """The router or the Hub refused the person's token (401): it is useless, so it goes."""
        if await self.store.delete_account(actor.platform, actor.user_id):
            log.info("a connected token was refused (401) on %s; erased", actor.platform)
            await self._tell_watchers(actor, False)

    async def connected(self, actor: Actor) -> bool:
        return await self.store.get_account(actor.platform, actor.user_id) is not None

    async def erased(self, actor: Actor) -> None:
        """The person's account went with all their data (the store erased it): front ends that show it are told."""
        await self._tell_watchers(actor, False)

    async def _tell_watchers(self, actor: Actor, connected: bool) -> None:
        for watcher in list(self.watchers):
            try:
                await watcher(actor, connected)
            except Exception as exc:  # the connection stands (or is gone) whatever a front end's display says
                log.warning("a front end could not show the connection: %s", type(exc).__name__)

    # a question held until its asker connects
    def hold(self, actor: Actor, resume: Callable[[], Awaitable[object]]) -> None:
        """Keep `resume` (answering the question just refused) until `actor` connects; only the newest is kept."""
        now = time.monotonic()
        self._waiting = {k: w for k, w in self._waiting.items() if now - w.since < WAITING_SECONDS}
        self._waiting[(actor.platform, actor.user_id)] = _Waiting(resume, now)

    def forget_waiting(self, actor: Actor) -> None:
        self._waiting.pop((actor.platform, actor.user_id), None)

    async def _resume(self, actor: Actor) -> bool:
        """Ask the question held for `actor` again; True if there was one and it was taken."""
        waiting = self._waiting.pop((actor.platform, actor.user_id), None)
        if waiting is None or time.monotonic() - waiting.since >= WAITING_SECONDS:
            return False
        try:
            await waiting.resume()
        except Exception as exc:  # connecting succeeded whatever happens to the held question
            log.warning("the question held until connecting could not be answered: %s", type(exc).__name__)
            return False
        return True

    # the workspace's rules (admins)
    async def set_shared_token(self, actor: Actor, key: ConversationKey, allowed: bool) -> None:
        self._require_admin(actor)
        if not allowed and self.seal is None:
            raise AccountsOff()  # nobody could connect: nobody could ask anything
        value = None if allowed else "off"
        await self.store.set_setting(key.platform, key.workspace, Scope.WORKSPACE, key.workspace, SHARED_TOKEN, value)

    async def set_bill_to(self, actor: Actor, key: ConversationKey, organization: str | None) -> None:
        self._require_admin(actor)
        if organization is not None and not _ORG.fullmatch(organization):
            raise UserFacingError(f"`{organization[:60]}` is not an organization name on Hugging Face.")
        await self.store.set_setting(
            key.platform, key.workspace, Scope.WORKSPACE, key.workspace, BILL_TO, organization or None
        )

    async def _workspace_rules(self, key: ConversationKey) -> tuple[bool, str | None]:
        shared = await self.store.get_setting(key.platform, key.workspace, Scope.WORKSPACE, key.workspace, SHARED_TOKEN)
        bill_to = await self.store.get_setting(key.platform, key.workspace, Scope.WORKSPACE, key.workspace, BILL_TO)
        return shared != "off", bill_to or None

    def _open(self, account: Account | None) -> str | None:
        if account is None or self.seal is None:
            return None
        return self.seal.open(account.token)

    @staticmethod
    def _require_admin(actor: Actor) -> None:
        if not actor.is_admin:
            raise NotAllowed("Only admins choose how this workspace pays for answers.")


def _status_text(status: AccountStatus) -> str:
    lines: list[str] = []
    if status.identity is not None:
        lines.append(f"Connected to Hugging Face as {status.identity.described()}. Your answers use your account.")
    elif status.refused:
        lines.append("Hugging Face refused your token (it was revoked or has expired), so I erased it. " + CONNECT_HOW)
    elif status.shared_token:
        lines.append("Not connected: your answers use this workspace's token. " + CONNECT_HOW)
    else:
        lines.append("Not connected, and this workspace asks each person to use their own account. " + CONNECT_HOW)
    if status.bill_to:
        lines.append(f"Answers here are billed to the organization **{status.bill_to}**.")
    return "\n".join(lines)

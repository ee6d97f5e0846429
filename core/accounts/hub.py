"""The Hugging Face Hub, as far as accounts need it: who a token belongs to (`GET /api/whoami-v2`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import aiohttp

from core.errors import UserFacingError

log = logging.getLogger(__name__)

TOKENS_PAGE = "https://huggingface.co/settings/tokens"


class TokenRefused(UserFacingError):
    """The Hub (or the router) says the token is not valid: revoked, expired or mistyped."""


class HubUnavailable(UserFacingError):
    pass


@dataclass(frozen=True, slots=True)
class HubIdentity:
    name: str  # the Hub username
    fullname: str = ""
    orgs: tuple[str, ...] = field(default_factory=tuple)
    token_name: str = ""  # the token's display name on the Hub, for "which token is this"
    role: str = ""  # read, write or fineGrained

    def described(self) -> str:
        who = f"**{self.name}**" + (f" ({self.fullname})" if self.fullname and self.fullname != self.name else "")
        token = f", token “{self.token_name}”" if self.token_name else ""
        return who + token


class HubClient:
    def __init__(self, base_url: str = "https://huggingface.co", timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def whoami(self, token: str) -> HubIdentity:
        """Who `token` belongs to; TokenRefused for a 401, HubUnavailable when the Hub cannot say."""
        try:
            async with (
                aiohttp.ClientSession(timeout=self.timeout) as session,
                session.get(f"{self.base_url}/api/whoami-v2", headers={"Authorization": f"Bearer {token}"}) as response,
            ):
                if response.status == 401:
                    raise TokenRefused(
                        "Hugging Face refused that token (401): it is revoked, expired or mistyped. Make a new one at "
                        f"{TOKENS_PAGE} and connect again with `/account connect`."
                    )
                if response.status != 200:
                    log.warning("whoami answered %s", response.status)
                    status = response.status
                    raise HubUnavailable(f"The Hugging Face Hub could not check the token ({status}). Try again.")
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("whoami failed: %s", type(exc).__name__)
            raise HubUnavailable("The Hugging Face Hub could not be reached to check the token. Try again.") from None
        if not isinstance(body, dict) or not body.get("name"):
            raise HubUnavailable("The Hugging Face Hub sent an answer the bot could not read. Try again.")
        access = (body.get("auth") or {}).get("accessToken") or {}
        return HubIdentity(
            name=str(body["name"]),
            fullname=str(body.get("fullname") or ""),
            orgs=tuple(str(o.get("name")) for o in body.get("orgs") or () if isinstance(o, dict) and o.get("name")),
            token_name=str(access.get("displayName") or ""),
            role=str(access.get("role") or ""),
        )

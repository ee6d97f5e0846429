"""Multi-workspace installs (Slack's OAuth v2) with installations and states kept in the core's Store.

No new tables: every record is a Scope.BOT setting of platform "slack", so SQLite and PostgreSQL both work
and several processes on one PostgreSQL database share the installs.

- installations: workspace = the team id (the enterprise id for an org-wide install), names
  "installation" (the latest), "installation:<user>" (per installer), "installers" (their ids, so a
  workspace's rows can all be found again) and "bot" (the latest bot token), each JSON;
- OAuth states: workspace "", scope_id = the state, name "oauth_state", value = when it expires; a state
  is consumed once, even by two processes at the same moment (the store's claim_event decides).

Tokens are stored (Bolt needs them for every request) but never logged.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any

from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from core.bot_state import BotState

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from core.config import Settings

log = logging.getLogger(__name__)

PLATFORM = "slack"
INSTALLATION = "installation"
INSTALLERS = "installers"
BOT = "bot"
STATE = "oauth_state"
STATE_SECONDS = 600
_BOT_FIELDS = ("bot_id", "bot_user_id", "bot_token", "bot_scopes", "bot_refresh_token", "bot_token_expires_at")
_USER_FIELDS = ("user_token", "user_scopes", "user_refresh_token", "user_token_expires_at")


def workspace_of(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False) -> str:
    """Where a workspace's install is kept: its team id, or the org's id for an org-wide install."""
    if is_enterprise_install or not team_id:
        return enterprise_id or ""
    return team_id


class StoreInstallationStore(AsyncInstallationStore):
    """Bolt's installation store on top of core's settings table."""

    def __init__(self, state: BotState, *, logger: logging.Logger | None = None):
        self.state = state
        self._logger = logger or log

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    # plumbing
    async def _get(self, workspace: str, name: str) -> dict | None:
        value = await self.state.get(PLATFORM, name, workspace=workspace)
        return json.loads(value) if value else None

    async def _set(self, workspace: str, name: str, value: Any) -> None:
        encoded = None if value is None else json.dumps(value)
        await self.state.put(PLATFORM, name, encoded, workspace=workspace)

    async def _installers(self, workspace: str) -> list[str]:
        return list(await self._get(workspace, INSTALLERS) or [])

    # saving
    async def async_save(self, installation: Installation) -> None:
        workspace = workspace_of(installation.enterprise_id, installation.team_id, installation.is_enterprise_install)
        await self.async_save_bot(installation.to_bot())
        entity = dict(vars(installation))
        await self._set(workspace, INSTALLATION, entity)
        if installation.user_id:
            await self._set(workspace, f"{INSTALLATION}:{installation.user_id}", entity)
            installers = await self._installers(workspace)
            if installation.user_id not in installers:
                await self._set(workspace, INSTALLERS, [*installers, installation.user_id])
        log.info("slack: installed in %s", workspace)

    async def async_save_bot(self, bot: Bot) -> None:
        if bot.bot_token is None:
            return
        await self._set(workspace_of(bot.enterprise_id, bot.team_id, bot.is_enterprise_install), BOT, dict(vars(bot)))

    # finding
    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        data = await self._get(workspace_of(enterprise_id, team_id, is_enterprise_install), BOT)
        return Bot(**data) if data else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        workspace = workspace_of(enterprise_id, team_id, is_enterprise_install)
        data = await self._get(workspace, f"{INSTALLATION}:{user_id}" if user_id else INSTALLATION)
        if not data:
            return None
        installation = Installation(**data)
        if user_id is not None or installation.bot_token is None:
            # a user's install may predate the latest bot token (bolt-python#664): take the newest bot
            bot = await self.async_find_bot(
                enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
            )
            if bot is not None and bot.bot_token != installation.bot_token:
                for name in _BOT_FIELDS:
                    setattr(installation, name, getattr(bot, name))
        return installation

    # deleting (app_uninstalled, tokens_revoked)
    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        workspace = workspace_of(enterprise_id, team_id)
        await self._set(workspace, BOT, None)
        # the installations carry the bot token too: a revoked token must not be found there either
        for name in [INSTALLATION, *(f"{INSTALLATION}:{u}" for u in await self._installers(workspace))]:
            data = await self._get(workspace, name)
            if data and data.get("bot_token"):
                await self._set(workspace, name, {**data, **dict.fromkeys(_BOT_FIELDS)})

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        workspace = workspace_of(enterprise_id, team_id)
        installers = await self._installers(workspace)
        if user_id is None:
            for user in installers:
                await self._set(workspace, f"{INSTALLATION}:{user}", None)
            await self._set(workspace, INSTALLATION, None)
            await self._set(workspace, INSTALLERS, None)
            log.info("slack: installation removed from %s", workspace)
            return
        await self._set(workspace, f"{INSTALLATION}:{user_id}", None)
        if user_id in installers:
            installers.remove(user_id)
            await self._set(workspace, INSTALLERS, installers or None)
        latest = await self._get(workspace, INSTALLATION)
        if latest and latest.get("user_id") == user_id and latest.get("user_token"):
            await self._set(workspace, INSTALLATION, {**latest, **dict.fromkeys(_USER_FIELDS)})


class StoreOAuthStateStore(AsyncOAuthStateStore):
    """OAuth `state` values: issued for the install page, valid for a while, consumed once."""

    def __init__(
        self, state: BotState, *, expiration_seconds: int = STATE_SECONDS, logger: logging.Logger | None = None
    ):
        self.state = state
        self.expiration_seconds = expiration_seconds
        self._logger = logger or log

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(24)
        expires = time.time() + self.expiration_seconds
        await self.state.put(PLATFORM, STATE, f"{expires:.3f}", record=state)
        return state

    async def async_consume(self, state: str) -> bool:
        if not state:
            return False
        expires = await self.state.get(PLATFORM, STATE, record=state)
        if expires is None:
            return False
        # get-then-delete alone would let two processes both accept one state; the claim is atomic
        if not await self.state.claim_once(PLATFORM, f"{STATE}:{state}"):
            return False
        await self.state.put(PLATFORM, STATE, None, record=state)
        return float(expires) > time.time()


def oauth_configured(settings: Settings) -> bool:
    """OAuth installs run in HTTP mode when the app's client id and secret are both set."""
    return settings.slack_mode == "http" and bool(settings.slack_client_id and settings.slack_client_secret)


def build_oauth_settings(
    settings: Settings, state: BotState, client: AsyncWebClient | None = None
) -> AsyncOAuthSettings:
    secret = settings.slack_client_secret.get_secret_value() if settings.slack_client_secret else None
    installations = StoreInstallationStore(state)
    oauth = AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=secret,
        scopes=[s.strip() for s in settings.slack_scopes.split(",") if s.strip()],
        install_path=settings.slack_install_path,
        redirect_uri_path=settings.slack_redirect_path,
        install_page_rendering_enabled=False,  # /slack/install redirects straight to Slack
        installation_store=installations,
        state_store=StoreOAuthStateStore(state),
        state_expiration_seconds=STATE_SECONDS,
        logger=log,
    )
    # the default authorize calls auth.test on every event; remember its answer per bot token instead
    oauth.authorize = AsyncInstallationStoreAuthorize(
        logger=log,
        client_id=settings.slack_client_id,
        client_secret=secret,
        installation_store=installations,
        cache_enabled=True,
        client=client,
    )
    return oauth

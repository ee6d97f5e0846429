"""The Slack workspace a listener acts in: its Web API client and who the bot is there (per request, from Bolt's
context, or bound for a scheduled run), a team's client outside any request, who is acting (with admin rights as
Slack says), the workspace's domain and the threads its links name. Mixed into `SlackAdapter`
(bots/slack/adapter.py), which sets the attributes used here."""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bots.slack.calls import slack_error
from bots.slack.text import domain_of, parse_thread_link
from core.errors import InvalidSetting, NotAllowed
from core.keys import Actor, ConversationKey

log = logging.getLogger(__name__)

PLATFORM = "slack"
USER_CACHE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class _Workspace:
    """Who the bot is in the workspace of the request being handled (one per team with OAuth installs)."""

    client: AsyncWebClient
    bot_user_id: str | None
    bot_id: str | None


# set by a middleware for each request (bind()); the listener's task and the replies it starts inherit it
_WORKSPACE: ContextVar[_Workspace | None] = ContextVar("slack_workspace", default=None)


class WorkspaceContext:
    """Mixed into `SlackAdapter`: `_client`, `_bot_user_id`, `_bot_id`, `_users`, `_domains` and `app` are its."""

    # The Web API client and bot identity of the workspace whose request is being handled (Bolt's
    # context.client carries that team's token), else the ones given at start.
    @property
    def client(self) -> AsyncWebClient:
        workspace = _WORKSPACE.get()
        return workspace.client if workspace else self._client

    @property
    def bot_user_id(self) -> str | None:
        workspace = _WORKSPACE.get()
        return (workspace and workspace.bot_user_id) or self._bot_user_id

    @bot_user_id.setter
    def bot_user_id(self, value: str | None) -> None:
        self._bot_user_id = value

    @property
    def bot_id(self) -> str | None:
        workspace = _WORKSPACE.get()
        return (workspace and workspace.bot_id) or self._bot_id

    @bot_id.setter
    def bot_id(self, value: str | None) -> None:
        self._bot_id = value

    def bind(self, context: Any) -> None:
        """Every listener (and the replies it starts) talks to the workspace of its request: Bolt's context.client
        carries that team's token. Bolt runs the listeners after its middleware has returned (next() only lets the
        request go on), in this task or in one it creates from it, so the value is set here and left: each request
        sets its own before its listener starts."""
        _WORKSPACE.set(_Workspace(context.client or self._client, context.get("bot_user_id"), context.get("bot_id")))

    def bind_client(self, client: AsyncWebClient) -> None:
        """Outside any request (a scheduled run): this task, and the replies it starts, talk to one workspace."""
        _WORKSPACE.set(_Workspace(client, self._bot_user_id, self._bot_id))

    def learn_identity(self, context: Any) -> None:
        self.bot_user_id = context.get("bot_user_id") or self.bot_user_id
        self.bot_id = context.get("bot_id") or self.bot_id

    def ours(self, message: dict | None) -> bool:
        """Whether a message (as Slack lists it) is one of the bot's own."""
        if not message:
            return False
        return bool(
            (self.bot_id and message.get("bot_id") == self.bot_id)
            or (self.bot_user_id and message.get("user") == self.bot_user_id)
        )

    # the workspace
    async def client_for(self, team: str) -> AsyncWebClient:
        """A team's Web API client outside any request (with OAuth installs: its stored bot token)."""
        installations = self.app.installation_store
        if installations is None:
            return self.client
        bot = await installations.async_find_bot(enterprise_id=None, team_id=team)
        template = self._client
        return AsyncWebClient(
            token=bot.bot_token if bot else None,
            base_url=template.base_url,
            timeout=template.timeout,
            ssl=template.ssl,
            proxy=template.proxy,
            session=template.session,
        )

    async def actor(self, team: str, user: str, *, fresh: bool = False) -> Actor:
        """Who is acting, with admin rights as Slack reports them (users.info), cached briefly."""
        now = time.monotonic()
        cached = self._users.get((team, user))
        if cached and not fresh and cached[0] > now:
            return cached[1]
        name, is_admin = "", False
        try:
            info = (await self.client.users_info(user=user))["user"]
            profile = info.get("profile") or {}
            name = profile.get("display_name") or profile.get("real_name") or info.get("name") or ""
            is_admin = bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))
        except SlackApiError as exc:
            log.warning("users.info failed: %s", slack_error(exc))
        actor = Actor(PLATFORM, user, name, team, is_admin)
        self._users[(team, user)] = (now + USER_CACHE_SECONDS, actor)
        return actor

    def forget_team(self, team: str) -> None:
        """The app was uninstalled from `team`: nothing cached about its people stays."""
        self._users = {key: value for key, value in self._users.items() if key[0] != team}

    async def workspace_domain(self, team: str) -> str:
        """The workspace's domain ("acme" for acme.slack.com), from auth.test, remembered per team."""
        if team not in self._domains:
            try:
                self._domains[team] = domain_of(str((await self.client.auth_test()).get("url") or ""))
            except SlackApiError as exc:
                log.warning("auth.test failed: %s", slack_error(exc))
                return ""
        return self._domains[team]

    async def linked_thread(self, team: str, text: str, domain: str = "") -> ConversationKey:
        """The conversation a thread link names, in the requester's workspace only (a link's ids mean another
        thread in another workspace). `domain`: the request's `team_domain`, when it carries one."""
        link = parse_thread_link(text)
        if link is None:
            raise InvalidSetting("Give a link to the thread (Copy link on a message in it).")
        if not link.belongs_to(domain or await self.workspace_domain(team)):
            raise NotAllowed("That link is to another Slack workspace: I can only act on this workspace's threads.")
        return ConversationKey(PLATFORM, team, link.channel, link.thread_ts)

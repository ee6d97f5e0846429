"""OAuth installs into several workspaces (HTTP mode): install page, redirect, per-team tokens, uninstall.

The installations and OAuth states live in the core's store (settings rows); every test runs on SQLite and,
when the server is reachable, on PostgreSQL.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web

from bots.slack.adapter import SlackAdapter
from bots.slack.app import build_adapter, run_slack
from bots.slack.http import serve_http
from bots.slack.oauth import StoreInstallationStore, StoreOAuthStateStore
from core.app import Core
from core.config import ConfigError
from core.records import Scope
from tests.fakes.fake_router import FakeRouter, text_script
from tests.fakes.slack import FakeSlack, SignedResponse
from tests.support.slack import CHANNEL, FAST_EDIT, FAST_NATIVE, visible
from tests.support.stores import PG_URL, fresh_schema

TEAM_ONE, TEAM_TWO = "T0TEAM0001", "T0TEAM0002"


@dataclass
class Installed:
    status: int
    token: str | None  # the bot token Slack issued for this install


@dataclass
class OAuthBot:
    fake: FakeSlack
    router: FakeRouter
    core: Core
    adapter: SlackAdapter
    base: str

    @property
    def installations(self) -> StoreInstallationStore:
        return self.adapter.app.installation_store

    async def get(self, path: str, *, cookie: str | None = None) -> tuple[aiohttp.ClientResponse, str]:
        headers = {"Cookie": cookie} if cookie else {}
        async with aiohttp.ClientSession() as session:
            async with session.get(self.base + path, headers=headers, allow_redirects=False) as response:
                return response, await response.text()

    async def start_install(self) -> tuple[str, str]:
        """GET the install path: (the state Slack will hand back, the browser's cookie)."""
        response, _ = await self.get("/slack/install")
        assert response.status == 302
        state = parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]
        cookies = SimpleCookie()
        for header in response.headers.getall("Set-Cookie"):
            cookies.load(header)
        return state, "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items())

    async def finish_install(self, state: str, cookie: str | None, code: str) -> Installed:
        before = len(self.fake.calls("oauth.v2.access"))
        response, _ = await self.get(f"/slack/oauth_redirect?code={code}&state={state}", cookie=cookie)
        exchanges = self.fake.calls("oauth.v2.access")[before:]
        token = exchanges[-1].response.get("access_token") if exchanges else None
        return Installed(response.status, token)

    async def install(self, team: str) -> Installed:
        state, cookie = await self.start_install()
        return await self.finish_install(state, cookie, self.fake.new_oauth_code(team, team_name=f"Team {team}"))

    async def deliver(self, event: dict, team: str) -> SignedResponse:
        """A signed Events API request from `team`, as Slack sends it to a multi-workspace app."""
        body = self.fake.build_event_callback(event)
        body["team_id"] = body["context_team_id"] = team
        body["authorizations"][0]["team_id"] = team
        if "team" in body["event"]:
            body["event"]["team"] = team
        response = await self.fake.http_send(self.base + "/slack/events", body)
        await self.adapter.idle(10)
        return response

    def tokens_used(self, since: int = 0) -> set[str | None]:
        return {call.token for call in self.fake.calls()[since:] if call.method != "oauth.v2.access"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database(request):
    if request.param == "sqlite":
        yield {}
        return
    async with fresh_schema() as schema:
        yield {"database_url": PG_URL, "database_schema": schema}


@pytest.fixture
async def oauth_bot(core_factory, fake_router, database):
    async with FakeSlack() as fake:
        core = await core_factory(
            fake_router.url,
            slack_mode="http",
            slack_client_id=fake.client_id,
            slack_client_secret=fake.client_secret,
            slack_signing_secret=fake.signing_secret,
            slack_api_url=fake.api_url,
            **database,
        )
        adapter = build_adapter(core, native_limits=FAST_NATIVE, edit_limits=FAST_EDIT)
        runner: web.AppRunner = await serve_http(adapter, "127.0.0.1", 0)
        try:
            yield OAuthBot(fake, fake_router, core, adapter, f"http://127.0.0.1:{runner.addresses[0][1]}")
        finally:
            with contextlib.suppress(Exception):
                await adapter.idle(5)
            await runner.cleanup()


async def test_install_path_redirects_to_slack_with_a_stored_state(oauth_bot):
    response, _ = await oauth_bot.get("/slack/install")
    assert response.status == 302
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "slack.com", "/oauth/v2/authorize")
    query = parse_qs(location.query)
    assert query["client_id"] == [oauth_bot.fake.client_id]
    assert {"app_mentions:read", "chat:write", "commands", "assistant:write"} <= set(query["scope"][0].split(","))
    state = query["state"][0]
    assert await oauth_bot.core.store.get_setting("slack", "", Scope.BOT, state, "oauth_state") is not None
    assert f"slack-app-oauth-state={state}" in response.headers["Set-Cookie"]
    # no Web API call and no token needed to start an install
    assert oauth_bot.fake.calls() == []


async def test_install_stores_the_team_and_its_events_use_that_teams_token(oauth_bot):
    fake = oauth_bot.fake
    state, cookie = await oauth_bot.start_install()
    installed = await oauth_bot.finish_install(state, cookie, fake.new_oauth_code(TEAM_ONE))
    assert installed.status == 200 and installed.token and installed.token != fake.bot_token
    exchange = fake.calls("oauth.v2.access")[-1]
    assert exchange.ok and exchange.token is None  # client credentials, not a bearer token
    # the state is spent, the installation and its bot are stored
    assert await oauth_bot.core.store.get_setting("slack", "", Scope.BOT, state, "oauth_state") is None
    installation = await oauth_bot.installations.async_find_installation(enterprise_id=None, team_id=TEAM_ONE)
    assert installation is not None and installation.bot_token == installed.token
    assert installation.bot_user_id == fake.bot_user_id and installation.bot_id == fake.bot_id
    assert installation.user_id == fake.default_user_id
    bot = await oauth_bot.installations.async_find_bot(enterprise_id=None, team_id=TEAM_ONE)
    assert bot is not None and bot.bot_token == installed.token

    before = len(fake.calls())
    oauth_bot.router.queue(text_script("Hello, team one."))
    event = fake.build_app_mention("hello there", channel=CHANNEL)
    assert (await oauth_bot.deliver(event, TEAM_ONE)).status == 200
    answers = fake.bot_messages(CHANNEL, event["ts"])
    assert [visible(m) for m in answers] == ["Hello, team one."]
    assert oauth_bot.router.requests[-1]["messages"][-1]["content"] == "hello there"
    # auth.test, users.info and the streamed answer: all with the token issued to this team
    used = {call.method for call in fake.calls()[before:]}
    assert {"auth.test", "users.info", "chat.startStream"} <= used
    assert oauth_bot.tokens_used(before) == {installed.token}


async def test_a_reused_or_unknown_state_is_refused(oauth_bot):
    fake = oauth_bot.fake
    state, cookie = await oauth_bot.start_install()
    first = await oauth_bot.finish_install(state, cookie, fake.new_oauth_code(TEAM_ONE))
    assert first.status == 200

    again = await oauth_bot.finish_install(state, cookie, fake.new_oauth_code(TEAM_ONE))
    assert (again.status, again.token) == (401, None)
    made_up = "not-a-state-we-issued"
    unknown = await oauth_bot.finish_install(made_up, f"slack-app-oauth-state={made_up}", fake.new_oauth_code())
    assert (unknown.status, unknown.token) == (401, None)
    # a state from another browser (no cookie) is refused before the store is asked
    other_state, _ = await oauth_bot.start_install()
    stranger = await oauth_bot.finish_install(other_state, None, fake.new_oauth_code())
    assert (stranger.status, stranger.token) == (400, None)
    assert len(fake.calls("oauth.v2.access")) == 1


async def test_an_expired_state_is_refused_once_and_for_all(oauth_bot):
    states = StoreOAuthStateStore(oauth_bot.core.chat.bot_state, expiration_seconds=-1)
    expired = await states.async_issue()
    assert await states.async_consume(expired) is False
    fresh = StoreOAuthStateStore(oauth_bot.core.chat.bot_state)
    state = await fresh.async_issue()
    assert await fresh.async_consume(state) is True
    assert await fresh.async_consume(state) is False
    assert await fresh.async_consume("") is False


async def test_each_workspace_gets_its_own_token(oauth_bot):
    fake = oauth_bot.fake
    one = await oauth_bot.install(TEAM_ONE)
    two = await oauth_bot.install(TEAM_TWO)
    assert (one.status, two.status) == (200, 200)
    assert one.token and two.token and one.token != two.token
    stored_two = await oauth_bot.installations.async_find_installation(enterprise_id=None, team_id=TEAM_TWO)
    assert stored_two is not None and stored_two.bot_token == two.token
    assert stored_two.team_name == f"Team {TEAM_TWO}"
    team_two_bot = fake.installed_tokens[two.token]["bot_user_id"]
    assert team_two_bot != fake.bot_user_id

    before = len(fake.calls())
    oauth_bot.router.queue(text_script("Hello, team two."))
    event = fake.build_app_mention("hello from two", channel=CHANNEL)
    event["text"] = event["text"].replace(fake.bot_user_id, team_two_bot)  # that workspace's bot user
    await oauth_bot.deliver(event, TEAM_TWO)
    assert [visible(m) for m in fake.bot_messages(CHANNEL, event["ts"])] == ["Hello, team two."]
    assert oauth_bot.router.requests[-1]["messages"][-1]["content"] == "hello from two"
    assert oauth_bot.tokens_used(before) == {two.token}

    before = len(fake.calls())
    oauth_bot.router.queue(text_script("Hello again, team one."))
    event = fake.build_app_mention("and from one", channel=CHANNEL)
    await oauth_bot.deliver(event, TEAM_ONE)
    assert [visible(m) for m in fake.bot_messages(CHANNEL, event["ts"])] == ["Hello again, team one."]
    assert oauth_bot.tokens_used(before) == {one.token}

    # slash commands are authorized per team too (users.info runs with that team's token)
    before = len(fake.calls())
    command = {**fake.build_slash_command("/model", "", user="U0USER0042"), "team_id": TEAM_TWO}
    response = await fake.http_send(oauth_bot.base + "/slack/events", command, kind="command")
    await oauth_bot.adapter.idle(10)
    assert response.status == 200
    assert "Current model" in str(fake.response_url_posts[-1]["body"].get("text"))
    assert [c.method for c in fake.calls()[before:]] == ["users.info"]
    assert oauth_bot.tokens_used(before) == {two.token}

    # outside any request (start-up work), a team's client comes from its stored install
    assert (await oauth_bot.adapter.client_for(TEAM_TWO)).token == two.token
    assert (await oauth_bot.adapter.client_for("T0NOTINSTALLED")).token is None


async def test_app_uninstalled_removes_the_installation(oauth_bot):
    fake = oauth_bot.fake
    one = await oauth_bot.install(TEAM_ONE)
    two = await oauth_bot.install(TEAM_TWO)
    assert (one.status, two.status) == (200, 200)

    response = await oauth_bot.deliver({"type": "app_uninstalled", "event_ts": "1700000000.000100"}, TEAM_TWO)
    assert response.status == 200
    store = oauth_bot.installations
    assert await store.async_find_installation(enterprise_id=None, team_id=TEAM_TWO) is None
    assert await store.async_find_bot(enterprise_id=None, team_id=TEAM_TWO) is None
    assert await oauth_bot.core.store.get_setting("slack", TEAM_TWO, Scope.BOT, "", "installation") is None
    kept = await store.async_find_installation(enterprise_id=None, team_id=TEAM_ONE)
    assert kept is not None and kept.bot_token == one.token

    # the uninstalled workspace is no longer answered; its old token is never used again
    before = len(fake.calls())
    requests = len(oauth_bot.router.requests)
    event = fake.build_app_mention("anyone there?", channel=CHANNEL)
    await oauth_bot.deliver(event, TEAM_TWO)
    assert fake.bot_messages(CHANNEL, event["ts"]) == []
    assert len(oauth_bot.router.requests) == requests
    assert two.token not in oauth_bot.tokens_used(before)


async def test_tokens_revoked_forgets_the_bot_token(oauth_bot):
    one = await oauth_bot.install(TEAM_ONE)
    assert one.status == 200
    event = {"type": "tokens_revoked", "tokens": {"bot": [oauth_bot.fake.bot_user_id]}, "event_ts": "1700000000.2"}
    assert (await oauth_bot.deliver(event, TEAM_ONE)).status == 200
    store = oauth_bot.installations
    assert await store.async_find_bot(enterprise_id=None, team_id=TEAM_ONE) is None
    installation = await store.async_find_installation(enterprise_id=None, team_id=TEAM_ONE)
    assert installation is None or installation.bot_token is None
    per_user = await store.async_find_installation(
        enterprise_id=None, team_id=TEAM_ONE, user_id=oauth_bot.fake.default_user_id
    )
    assert per_user is None or per_user.bot_token is None


async def test_user_installs_are_kept_per_installer_and_deleted_together(core):
    from slack_sdk.oauth.installation_store import Installation

    store = StoreInstallationStore(core.chat.bot_state)
    for user in ("U0AAA", "U0BBB"):
        await store.async_save(
            Installation(team_id=TEAM_ONE, user_id=user, bot_token="xoxb-one", bot_id="B1", user_token=f"xoxp-{user}")
        )
    latest = await store.async_find_installation(enterprise_id=None, team_id=TEAM_ONE)
    assert latest is not None and latest.user_id == "U0BBB"
    first = await store.async_find_installation(enterprise_id=None, team_id=TEAM_ONE, user_id="U0AAA")
    assert first is not None and first.user_token == "xoxp-U0AAA"
    assert await store.async_find_installation(enterprise_id=None, team_id=TEAM_ONE, user_id="U0CCC") is None

    await store.async_delete_installation(enterprise_id=None, team_id=TEAM_ONE, user_id="U0BBB")
    assert await store.async_find_installation(enterprise_id=None, team_id=TEAM_ONE, user_id="U0BBB") is None
    latest = await store.async_find_installation(enterprise_id=None, team_id=TEAM_ONE)
    assert latest is not None and latest.user_token is None and latest.bot_token == "xoxb-one"

    await store.async_delete_all(enterprise_id=None, team_id=TEAM_ONE)
    assert await store.async_find_installation(enterprise_id=None, team_id=TEAM_ONE) is None
    assert await store.async_find_installation(enterprise_id=None, team_id=TEAM_ONE, user_id="U0AAA") is None
    assert await store.async_find_bot(enterprise_id=None, team_id=TEAM_ONE) is None


async def test_start_up_names_what_the_chosen_mode_is_missing(core_factory, fake_router):
    async def fails_with(match: str, **settings) -> None:
        core = await core_factory(fake_router.url, **settings)
        with pytest.raises(ConfigError, match=match):
            await run_slack(core)

    await fails_with("SLACK_CLIENT_SECRET", slack_mode="http", slack_client_id="123.456")
    await fails_with("SLACK_CLIENT_ID", slack_mode="http", slack_client_secret="s3cret")
    # with OAuth no bot token is needed, but HTTP mode still needs the signing secret
    await fails_with("SLACK_SIGNING_SECRET", slack_mode="http", slack_client_id="123.456", slack_client_secret="s")
    await fails_with("SLACK_BOT_TOKEN: required in HTTP mode", slack_mode="http", slack_signing_secret="x")
    await fails_with("SLACK_BOT_TOKEN: .*SLACK_MODE=http", slack_client_id="123.456", slack_client_secret="s")


def test_default_scopes_are_the_manifests_bot_scopes():
    from pathlib import Path

    from core.config import Settings

    lines = (Path(__file__).resolve().parents[2] / "config" / "slack-manifest.yaml").read_text().splitlines()
    start = lines.index("    bot:") + 1
    scopes = []
    for line in lines[start:]:
        if not line.startswith("      - "):
            break
        scopes.append(line.removeprefix("      - ").strip())
    assert Settings(_env_file=None).slack_scopes.split(",") == scopes

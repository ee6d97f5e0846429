"""Signing in with Hugging Face from Slack (HTTP mode, where the bot has an HTTP endpoint): `/account connect`'s form
carries a "Sign in with Hugging Face" link to the fake Hub's authorize page; the Hub redirects the browser to the
bot's callback with a code, which the bot exchanges with its PKCE verifier; the person is told in the channel."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest
from aiohttp import web

from bots.slack.http import web_app
from tests.fakes.fake_hub import FakeHub, HubUser
from tests.fakes.slack import FakeSlack
from tests.support.accounts import accounts_settings
from tests.support.net import free_port
from tests.support.slack import ADMIN, ALICE, BOB, running_bot
from tests.support.waits import wait_for

CLIENT, SECRET = "hfchat-test-client", "oauth-client-secret"


@pytest.fixture
async def hub():
    async with FakeHub() as hub:
        hub.clients[CLIENT] = SECRET
        hub.signed_in = HubUser("alice-hf", "Alice")
        yield hub


@pytest.fixture
async def bot(core_factory, fake_router, hub):
    port = free_port()
    settings = {
        **accounts_settings(hub.url),
        "hf_oauth_client_id": CLIENT,
        "hf_oauth_client_secret": SECRET,
        "hf_oauth_redirect_url": f"http://127.0.0.1:{port}/hf/oauth/callback",
        "slack_mode": "http",
    }

    async def with_sign_in(url: str):
        return await core_factory(url, **settings)

    async with FakeSlack(echo_events=True) as fake:
        fake.add_user(BOB, "bob")
        fake.add_user(ADMIN, "boss", is_admin=True)
        # commands arrive over Socket Mode here; the bot's HTTP endpoint (bots.slack.http) serves the callback
        async with running_bot(with_sign_in, fake_router, fake, store_before_ack=False) as harness:
            runner = web.AppRunner(web_app(harness.adapter), handle_signals=False)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            try:
                yield harness
            finally:
                await runner.cleanup()


async def sign_in_link(bot) -> str:
    await bot.command("/account", "connect", user=ALICE)
    await wait_for(lambda: bool(bot.fake.calls("views.open")), what="the form")
    view = bot.fake.calls("views.open")[-1].params["view"]
    view = view if isinstance(view, dict) else json.loads(view)
    [button] = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["text"]["text"] == "Sign in with Hugging Face"
    return button["url"]


async def test_sign_in_with_pkce_connects_the_account_and_says_so_in_the_channel(bot, hub, debug_logs):
    link = await sign_in_link(bot)
    query = parse_qs(urlparse(link).query)
    assert query["code_challenge_method"] == ["S256"] and query["client_id"] == [CLIENT]
    async with aiohttp.ClientSession() as browser:
        async with browser.get(link, allow_redirects=False) as authorize:  # she approves on the Hub
            assert authorize.status == 302
            callback = authorize.headers["Location"]
        assert callback.startswith("http://127.0.0.1") and "/hf/oauth/callback?" in callback
        async with browser.get(callback) as page:
            shown = await page.text()
            assert page.status == 200 and "Connected to Hugging Face as alice-hf" in shown
        [exchange] = hub.token_requests
        assert exchange["code_verifier"] and exchange["grant_type"] == "authorization_code"
        [token] = [t for t in hub.tokens if t.startswith("hf_oauth_")]
        assert token not in shown and not [t for t in debug_logs.texts() if token in t]
        account = await bot.core.store.get_account("slack", ALICE)
        assert account is not None and account.hub_name == "alice-hf"
        await wait_for(lambda: any("alice-hf" in t for t in bot.ephemeral_texts()), what="told in the channel")
        async with browser.get(callback) as again:  # a code is used once
            assert again.status == 400 and "expired or was already used" in await again.text()


async def test_a_tampered_state_is_refused(bot, hub):
    link = await sign_in_link(bot)
    async with aiohttp.ClientSession() as browser:
        async with browser.get(link, allow_redirects=False) as authorize:
            callback = urlparse(authorize.headers["Location"])
        code = parse_qs(callback.query)["code"][0]
        forged = f"http://{callback.netloc}{callback.path}?code={code}&state=forged"
        async with browser.get(forged) as page:
            assert page.status == 400 and "expired or was already used" in await page.text()
        async with browser.get(f"http://{callback.netloc}{callback.path}?error=access_denied") as cancelled:
            assert cancelled.status == 400 and "cancelled" in await cancelled.text()
    assert hub.token_requests == [] and await bot.core.store.get_account("slack", ALICE) is None

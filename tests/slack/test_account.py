"""/account on Slack, through the fake Slack: `connect` opens a modal (views.open) and the token comes back in its
view_submission, never in a channel; a refused token is shown in the form's field; status and disconnect answer only
the person; without the workspace's token a question waits for its asker to connect, then is answered."""

from __future__ import annotations

import json

import pytest

from tests.fakes.fake_hub import FakeHub, HubUser
from tests.fakes.fake_router import text_script
from tests.fakes.slack import FakeSlack
from tests.support.accounts import CANARY, accounts_settings, database_holds
from tests.support.slack import ADMIN, ALICE, BOB, CHANNEL, running_bot
from tests.support.waits import wait_for

TOKEN = "hf_alice_slack_0123456789"


@pytest.fixture
async def hub():
    async with FakeHub() as hub:
        hub.add_token(TOKEN, HubUser("alice-hf", "Alice"))
        hub.add_token(CANARY, HubUser("canary"))
        yield hub


@pytest.fixture
async def bot(core_factory, fake_router, hub):
    async def with_accounts(url: str):
        return await core_factory(url, **accounts_settings(hub.url))

    async with FakeSlack(echo_events=True) as fake:
        fake.add_user(BOB, "bob")
        fake.add_user(ADMIN, "boss", is_admin=True)
        async with running_bot(with_accounts, fake_router, fake) as harness:
            yield harness


async def submit_token(bot, token: str, user: str = ALICE) -> dict:
    """/account connect, then the modal it opened, submitted with `token`; returns the form's ack."""
    await bot.command("/account", "connect", user=user)
    await wait_for(lambda: bool(bot.fake.calls("views.open")), what="the form")
    view = bot.fake.calls("views.open")[-1].params["view"]
    view = view if isinstance(view, dict) else json.loads(view)
    assert view["callback_id"] == "hfchat_account_connect"
    submission = {
        "type": "view_submission",
        "team": {"id": bot.fake.team_id, "domain": bot.fake.team_domain},
        "user": {"id": user, "team_id": bot.fake.team_id},
        "api_app_id": bot.fake.app_id,
        "token": bot.fake.verification_token,
        "trigger_id": bot.fake.new_trigger_id(),
        "view": {**view, "state": {"values": {"hf_token": {"hf_token": {"type": "plain_text_input", "value": token}}}}},
    }
    ack = await bot.fake.wait_ack(await bot.fake.socket_send_interactive(submission))
    await bot.settle()
    return ack


def everything_sent_to_slack(bot) -> str:
    return repr([call.params for call in bot.fake.calls()])


async def test_connect_in_a_modal_then_status_and_disconnect(bot, hub):
    ack = await submit_token(bot, TOKEN)
    assert "errors" not in json.dumps(ack)
    assert any("Connected to Hugging Face as *alice-hf*" in t or "alice-hf" in t for t in bot.ephemeral_texts())
    assert TOKEN not in everything_sent_to_slack(bot)  # never echoed into Slack, anywhere
    bot.router.queue(text_script("Hi Alice"))
    await bot.fake.user_posts("hello", channel=CHANNEL, also_message_event=True)
    await bot.settle()
    assert bot.router.requests[-1]["_headers"]["authorization"] == f"Bearer {TOKEN}"
    await bot.command("/account", "status")
    assert "alice-hf" in bot.responses()[-1]
    await bot.command("/account", "disconnect")
    assert "Disconnected" in bot.responses()[-1]
    assert await bot.core.store.get_account("slack", ALICE) is None


async def test_a_revoked_token_is_told_in_the_forms_field(bot, hub):
    ack = await submit_token(bot, "hf_revoked_0123456789")
    errors = json.dumps(ack)
    assert "response_action" in errors and "revoked" in errors and "/account connect" in errors
    assert await bot.core.store.get_account("slack", ALICE) is None


async def test_without_the_workspace_token_the_question_waits_for_the_connection(bot, hub):
    await bot.command("/account", "shared off", user=ALICE)
    assert "Only admins" in bot.responses()[-1]
    await bot.command("/account", "shared off", user=ADMIN)
    post = await bot.fake.user_posts("What is 2+2?", channel=CHANNEL, also_message_event=True)
    await bot.settle()
    assert any("/account connect" in t for t in bot.ephemeral_texts()) and bot.router.requests == []
    bot.router.queue(text_script("4."))
    await submit_token(bot, TOKEN)
    await wait_for(lambda: bot.answer_text(CHANNEL, post.ts) == "4.", what="the held question answered")
    assert bot.router.requests[-1]["_headers"]["authorization"] == f"Bearer {TOKEN}"


async def test_delete_all_erases_the_token(bot, hub):
    await submit_token(bot, CANARY)
    sealed = (await bot.core.store.get_account("slack", ALICE)).token
    await bot.core.chat.delete_user_data(await bot.adapter.actor(bot.fake.team_id, ALICE))
    assert await database_holds(bot.core.store, CANARY, sealed) == []


async def test_slacks_user_connection_follows_the_account_and_status_draws_its_block(core_factory, fake_router, hub):
    async def with_connections(url: str):
        return await core_factory(url, slack_user_connections=True, **accounts_settings(hub.url))

    async with FakeSlack(echo_events=True) as fake, running_bot(with_connections, fake_router, fake) as bot:
        await bot.command("/account", "status")
        [block] = [b for b in bot.fake.response_url_posts[-1]["body"]["blocks"] if b["type"] == "auth_provider"]
        assert block["is_connected"] is False and block["value"] == "huggingface"
        assert block["fallback"][0]["text"].startswith("Not connected")
        await submit_token(bot, TOKEN)
        assert bot.fake.user_connections == {ALICE: "connected"}
        await bot.command("/account", "status")
        [block] = [b for b in bot.fake.response_url_posts[-1]["body"]["blocks"] if b["type"] == "auth_provider"]
        assert block["is_connected"] is True and block["connected_identity"]["text"] == "alice-hf"
        await bot.command("/account", "disconnect")
        assert bot.fake.user_connections == {ALICE: "disconnected"}
        await submit_token(bot, TOKEN)
        await bot.core.chat.delete_user_data(await bot.adapter.actor(bot.fake.team_id, ALICE))  # "delete all"
        assert bot.fake.user_connections == {ALICE: "disconnected"}

"""/account on Discord through SimCord (the real bot, a simulated Discord): the token goes in a modal, never in the
channel; status and disconnect answer only the caller; the question asked before connecting is answered after."""

from __future__ import annotations

import pytest

from tests.fakes.fake_hub import FakeHub, HubUser
from tests.fakes.fake_router import text_script
from tests.support.accounts import CANARY, accounts_settings, database_holds

TOKEN = "hf_alice_discord_0123456789"


@pytest.fixture
async def hub():
    async with FakeHub() as hub:
        hub.add_token(TOKEN, HubUser("alice-hf", "Alice"))
        hub.add_token(CANARY, HubUser("canary"))
        yield hub


@pytest.fixture
async def discord_core(core_factory, fake_router, hub):
    return await core_factory(fake_router.url, **accounts_settings(hub.url))


@pytest.fixture(autouse=True)
def _router_on_env(env, fake_router):
    env.fake_router = fake_router


async def connect(actor, channel, token: str):
    shown = await actor.slash(channel, "account", action="connect")
    assert shown.modal is not None and shown.modal["title"] == "Connect your Hugging Face account"
    inputs = [
        control
        for row in shown.modal["components"]
        for control in ([row["component"]] if row.get("component") else row.get("components") or [])
        if control["type"] == 4
    ]
    [token_input] = inputs
    return await actor.submit_modal(shown, {token_input["custom_id"]: token})


async def test_connect_in_a_modal_status_and_disconnect(env, world, fake_router, hub, discord_core):
    done = await connect(world.alice, world.channel, TOKEN)
    assert done.ephemeral and "Connected to Hugging Face as **alice-hf**" in done.response.content
    assert TOKEN not in repr(env.http_requests)  # the bot never sends it back to Discord, anywhere
    status = await world.alice.slash(world.channel, "account", action="status")
    assert status.ephemeral and "alice-hf" in status.response.content
    fake_router.queue(text_script("Hi Alice"))
    await world.alice.slash(world.channel, "chat", prompt="hello")
    assert fake_router.requests[-1]["_headers"]["authorization"] == f"Bearer {TOKEN}"
    gone = await world.alice.slash(world.channel, "account", action="disconnect")
    assert gone.ephemeral and "Disconnected" in gone.response.content
    assert await discord_core.store.get_account("discord", str(world.alice.id)) is None


async def test_a_revoked_token_in_the_modal_is_told_with_the_way_back(env, world, hub, discord_core):
    refused = await connect(world.alice, world.channel, "hf_revoked_0123456789")
    assert (
        refused.ephemeral and "revoked" in refused.response.content and "/account connect" in refused.response.content
    )
    assert await discord_core.store.get_account("discord", str(world.alice.id)) is None


async def test_without_the_servers_token_the_bot_asks_to_connect_and_answers_after(env, world, fake_router, hub):
    denied = await world.alice.slash(world.channel, "account", action="shared", value="off")
    assert denied.ephemeral and "Only admins" in denied.response.content
    await world.mod.slash(world.channel, "account", action="shared", value="off")
    asked = await world.alice.slash(world.channel, "chat", prompt="What is 2+2?")
    [told] = asked.followups  # the thread with the question is open; only she reads why it waits
    assert told.ephemeral and "/account connect" in told.content and "answer your question" in told.content
    assert fake_router.requests == []
    fake_router.queue(text_script("4."))
    done = await connect(world.alice, world.channel, TOKEN)
    assert "answering the question you asked before" in done.response.content
    await env.settle()
    [thread] = world.channel.threads
    assert thread.last_message.content == "4."
    assert fake_router.requests[-1]["_headers"]["authorization"] == f"Bearer {TOKEN}"


async def test_delete_all_erases_the_token(env, world, hub, discord_core):
    await connect(world.alice, world.channel, CANARY)
    sealed = (await discord_core.store.get_account("discord", str(world.alice.id))).token
    assert await database_holds(discord_core.store, sealed) == [sealed]
    shown = await world.alice.slash(world.channel, "delete", all=True)
    await world.alice.click(shown.response.message, label="Erase everything")
    assert await discord_core.store.get_account("discord", str(world.alice.id)) is None
    assert await database_holds(discord_core.store, CANARY, sealed) == []

"""Each person's own Hugging Face account, in the core: connecting (checked with the fake Hub's whoami), whose token
each request carries (the fake router records it), refused tokens, the workspace's rules, and erasure."""

from __future__ import annotations

import pytest

from core.accounts import AccountNeeded, TokenRefused
from core.config import ConfigError, load_settings
from core.errors import NotAllowed
from core.replies.attachments import Attachment
from core.router.client import TOKEN_REFUSED
from tests.fakes.fake_hub import FakeHub, HubUser
from tests.fakes.fake_router import text_script
from tests.support.accounts import CANARY, accounts_settings, database_holds
from tests.support.audio import make_audio
from tests.support.chat import ADMIN, ALICE, BOB, KEY, ask, sink

ALICE_TOKEN = "hf_alice_0123456789abcdef"


@pytest.fixture
async def hub():
    async with FakeHub() as hub:
        hub.add_token(ALICE_TOKEN, HubUser("alice-hf", "Alice Liddell", orgs=["wonderland"], token_name="bot"))
        hub.add_token(CANARY, HubUser("canary"))
        yield hub


@pytest.fixture
async def core(core_factory, fake_router, hub, backend_settings):
    return await core_factory(fake_router.url, **accounts_settings(hub.url), **backend_settings)


def auth_of(request: dict) -> str:
    return request["_headers"].get("authorization", "")


async def test_connected_person_answers_with_their_token_others_with_the_workspaces(core, fake_router, hub):
    connected = await core.chat.accounts.connect(ALICE, f"  {ALICE_TOKEN}\n")  # as pasted
    assert connected.identity.name == "alice-hf" and hub.whoami_calls == [ALICE_TOKEN] and not connected.resumed
    status = await core.chat.accounts.status(ALICE, KEY)
    assert "alice-hf" in status.text and "Alice Liddell" in status.text
    await ask(core, "hi", actor=ALICE)
    assert auth_of(fake_router.requests[-1]) == f"Bearer {ALICE_TOKEN}"
    await ask(core, "hi", actor=BOB)
    assert auth_of(fake_router.requests[-1]) == "Bearer hf_test_token"  # HF_TOKEN
    assert "Not connected" in (await core.chat.accounts.status(BOB, KEY)).text


async def test_a_revoked_token_is_refused_at_connect_and_nothing_is_kept(core, hub):
    with pytest.raises(TokenRefused) as refused:
        await core.chat.accounts.connect(ALICE, "hf_revoked_0123456789")
    assert "401" in str(refused.value) and "/account connect" in str(refused.value)
    assert await core.store.get_account("test", "alice") is None
    with pytest.raises(TokenRefused):
        await core.chat.accounts.connect(ALICE, "not a token")  # never sent to the Hub
    assert hub.whoami_calls == ["hf_revoked_0123456789"]


async def test_a_token_revoked_later_is_told_with_the_way_back_and_erased(core, fake_router, hub):
    await core.chat.accounts.connect(ALICE, ALICE_TOKEN)
    fake_router.refused_tokens.add(ALICE_TOKEN)  # revoked on the Hub since: the router answers 401
    _, outcome, out = await ask(core, "hi", actor=ALICE)
    assert outcome.state.error.kind == "account_refused"
    assert TOKEN_REFUSED in out.full_text() and "HF_TOKEN" not in out.full_text()
    assert await core.store.get_account("test", "alice") is None
    fake_router.queue(text_script("back on the workspace's token"))
    await ask(core, "again", actor=ALICE)
    assert auth_of(fake_router.requests[-1]) == "Bearer hf_test_token"


async def test_status_asks_the_hub_so_a_revoked_token_shows(core, hub):
    await core.chat.accounts.connect(ALICE, ALICE_TOKEN)
    hub.revoke(ALICE_TOKEN)
    status = await core.chat.accounts.status(ALICE, KEY)
    assert status.identity is None and status.refused
    assert "revoked" in status.text and "/account connect" in status.text
    assert await core.store.get_account("test", "alice") is None


async def test_admins_bill_an_organization_for_the_workspace(core, fake_router):
    with pytest.raises(NotAllowed):
        await core.chat.accounts.set_bill_to(ALICE, KEY, "wonderland")
    await core.chat.accounts.set_bill_to(ADMIN, KEY, "wonderland")
    await ask(core, "hi", actor=BOB)
    assert fake_router.requests[-1]["_headers"]["x-hf-bill-to"] == "wonderland"
    assert "wonderland" in (await core.chat.accounts.status(BOB, KEY)).text
    await core.chat.accounts.set_bill_to(ADMIN, KEY, None)
    await ask(core, "hi", actor=BOB)
    assert "x-hf-bill-to" not in fake_router.requests[-1]["_headers"]


async def test_without_the_workspace_token_the_question_waits_for_the_connection(core, fake_router):
    with pytest.raises(NotAllowed):
        await core.chat.accounts.set_shared_token(ALICE, KEY, False)
    await core.chat.accounts.set_shared_token(ADMIN, KEY, False)
    with pytest.raises(AccountNeeded) as needed:
        await ask(core, "What is the capital of France?", actor=ALICE)
    assert "/account connect" in str(needed.value)
    assert fake_router.requests == [] and await core.store.get_conversation(KEY) is None  # nothing sent, nothing kept
    fake_router.queue(text_script("Paris."))
    assert (await core.chat.accounts.connect(ALICE, ALICE_TOKEN)).resumed
    await core.chat.replies.wait_idle()
    assert fake_router.requests[-1]["messages"][-1]["content"] == "What is the capital of France?"
    assert auth_of(fake_router.requests[-1]) == f"Bearer {ALICE_TOKEN}"
    conversation = await core.store.get_conversation(KEY)
    assert [m.content for m in await core.store.recent_messages(conversation.id, 10)] == [
        "What is the capital of France?",
        "Paris.",
    ]


async def test_the_canary_token_is_never_in_the_database_or_a_log(core, fake_router, debug_logs):
    accounts = core.chat.accounts
    await accounts.connect(ALICE, CANARY)
    await ask(core, "hi", actor=ALICE)
    assert auth_of(fake_router.requests[-1]) == f"Bearer {CANARY}"
    sealed = (await core.store.get_account("test", "alice")).token
    assert await database_holds(core.store, CANARY, sealed) == [sealed]  # encrypted at rest
    assert await accounts.disconnect(ALICE)
    assert await database_holds(core.store, CANARY, sealed) == []

    await accounts.connect(ALICE, CANARY)
    sealed = (await core.store.get_account("test", "alice")).token
    await core.chat.delete_user_data(ALICE)  # "delete all my data"
    assert await core.store.get_account("test", "alice") is None
    assert await database_holds(core.store, CANARY, sealed) == []

    fake_router.refused_tokens.add(CANARY)  # a refusal's path writes logs too
    await accounts.connect(ALICE, CANARY)
    await ask(core, "hi", actor=ALICE)
    assert debug_logs.records and not [t for t in debug_logs.texts() if CANARY in t]
    assert not [r for r in debug_logs.records if CANARY in repr(r.args)]


def test_a_bad_key_stops_start_up_naming_the_variable_not_the_value():
    with pytest.raises(ConfigError) as error:
        load_settings(accounts_key="not-a-fernet-key-secret", _env_file=None)
    assert "ACCOUNTS_KEY" in str(error.value) and "not-a-fernet-key-secret" not in str(error.value)


async def test_without_a_key_connecting_is_off(core_factory, fake_router, hub):
    core = await core_factory(fake_router.url, hf_hub_url=hub.url)
    with pytest.raises(Exception, match="ACCOUNTS_KEY"):
        await core.chat.accounts.connect(ALICE, ALICE_TOKEN)
    for action in ("status", "connect", "disconnect"):
        assert "not set up on this bot" in await core.chat.account(ALICE, KEY, action)
    assert hub.whoami_calls == []


async def test_the_account_command_in_words(core, fake_router):
    chat = core.chat
    assert "Not connected" in await chat.account(ALICE, KEY, "")
    assert "private form" in await chat.account(ALICE, KEY, "connect hf_typed_in_the_open")
    assert "Connected to Hugging Face as **alice-hf**" in (await chat.accounts.connect(ALICE, ALICE_TOKEN)).text
    assert "alice-hf" in await chat.account(ALICE, KEY, "status")
    with pytest.raises(NotAllowed):
        await chat.account(ALICE, KEY, "shared off")
    assert "own Hugging Face account" in await chat.account(ADMIN, KEY, "shared off")
    assert "**wonderland**" in await chat.account(ADMIN, KEY, "bill wonderland")
    assert "no longer billed" in await chat.account(ADMIN, KEY, "bill off")
    assert "Disconnected" in await chat.account(ALICE, KEY, "disconnect")
    assert "No Hugging Face account" in await chat.account(ALICE, KEY, "disconnect")
    with pytest.raises(Exception, match="not something I know"):
        await chat.account(ALICE, KEY, "frobnicate")


def test_signing_in_needs_its_three_settings_and_the_key():
    with pytest.raises(ConfigError, match="HF_OAUTH_CLIENT_SECRET, HF_OAUTH_REDIRECT_URL"):
        load_settings(hf_oauth_client_id="client", _env_file=None)
    with pytest.raises(ConfigError, match="ACCOUNTS_KEY"):
        load_settings(
            hf_oauth_client_id="client",
            hf_oauth_client_secret="secret",
            hf_oauth_redirect_url="https://bot.example.com/hf/oauth/callback",
            _env_file=None,
        )


async def test_the_title_request_after_an_answer_carries_the_askers_token(core_factory, fake_router, hub):
    core = await core_factory(fake_router.url, auto_titles=True, **accounts_settings(hub.url))
    await core.chat.accounts.connect(ALICE, ALICE_TOKEN)
    await core.chat.accounts.set_bill_to(ADMIN, KEY, "wonderland")
    fake_router.queue(text_script("Paris."))
    fake_router.queue(text_script("Capital of France"))
    await ask(core, "What is the capital of France?", actor=ALICE)
    await core.chat.replies.titler.wait()
    answer, title = fake_router.requests
    assert title["messages"][0]["content"].startswith("You name conversations")
    for request in (answer, title):
        assert request["_headers"] == {"authorization": f"Bearer {ALICE_TOKEN}", "x-hf-bill-to": "wonderland"}


async def test_a_voice_message_is_heard_with_the_speakers_token(core, fake_router):
    fake_router.speech.token = None  # the fake accepts any token: which one came is what is checked
    await core.chat.accounts.connect(ALICE, ALICE_TOKEN)
    await core.chat.accounts.set_bill_to(ADMIN, KEY, "wonderland")
    audio = make_audio("ogg", seconds=2.0)
    fake_router.speech.says(audio, "What is the capital of France?")
    submitted = await core.chat.submit(
        KEY, ALICE, "", sink(), attachments=[Attachment("v.ogg", "audio/ogg", audio, voice=True)]
    )
    await submitted.reply
    assert fake_router.speech.requests[-1].authorization == f"Bearer {ALICE_TOKEN}"
    assert fake_router.requests[-1]["_headers"]["authorization"] == f"Bearer {ALICE_TOKEN}"


async def test_compare_asks_each_model_with_the_askers_own_token(core, fake_router):
    await core.chat.accounts.connect(ALICE, ALICE_TOKEN)
    models = ["meta-llama/Llama-3.3-70B-Instruct", "Qwen/Qwen3-32B"]
    await core.chat.comparer.compare(KEY, ALICE, "Tea or coffee?", models, lambda model: sink())
    assert [auth_of(r) for r in fake_router.requests] == [f"Bearer {ALICE_TOKEN}"] * 2

"""Generation settings, system prompts and provider preference, end to end against the scripted router."""

import io

import pytest
from rich.console import Console

from bots.console.app import ConsoleApp
from core.errors import InvalidSetting, NotAllowed
from core.keys import Actor, ConversationKey
from core.records import Scope
from core.settings.options import apply_provider, parse_option
from tests.support.chat import ADMIN, ALICE, BOB, KEY, ask

LLAMA = "meta-llama/Llama-3.3-70B-Instruct"


async def test_generation_settings_resolve_like_the_model(core, fake_router):
    chat = core.chat
    await chat.preferences.set_option(ADMIN, KEY, Scope.WORKSPACE, "temperature", "0.9")
    await ask(core, "one")
    assert fake_router.requests[-1]["temperature"] == 0.9
    await chat.preferences.set_option(ADMIN, KEY, Scope.CHANNEL, "temperature", "0.7")
    await ask(core, "two")
    assert fake_router.requests[-1]["temperature"] == 0.7
    await chat.preferences.set_option(ALICE, KEY, Scope.USER, "temperature", "0.5")
    await ask(core, "three")
    assert fake_router.requests[-1]["temperature"] == 0.5
    await ask(core, "bob's turn", BOB)  # Bob has no personal value: the channel's applies
    assert fake_router.requests[-1]["temperature"] == 0.7
    await chat.preferences.set_option(ALICE, KEY, Scope.CONVERSATION, "temperature", "0.3")
    await ask(core, "four")
    assert fake_router.requests[-1]["temperature"] == 0.3
    await chat.preferences.set_option(ALICE, KEY, Scope.CONVERSATION, "temperature", "default")  # clears
    await ask(core, "five")
    assert fake_router.requests[-1]["temperature"] == 0.5


async def test_top_p_max_tokens_and_reasoning_effort_are_sent(core, fake_router):
    await ask(core, "plain")
    plain = fake_router.requests[-1]
    assert plain["max_tokens"] == core.settings.max_tokens  # always sent, the configured default
    assert "reasoning_effort" not in plain and "temperature" not in plain and "top_p" not in plain
    await core.chat.preferences.set_option(ALICE, KEY, Scope.USER, "top_p", "0.8")
    await core.chat.preferences.set_option(ALICE, KEY, Scope.USER, "max_tokens", "300")
    await core.chat.preferences.set_option(ALICE, KEY, Scope.USER, "reasoning_effort", "HIGH")
    await ask(core, "tuned")
    tuned = fake_router.requests[-1]
    assert tuned["top_p"] == 0.8 and tuned["max_tokens"] == 300 and tuned["reasoning_effort"] == "high"


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("temperature", "2.5", "out of range"),
        ("temperature", "-0.1", "out of range"),
        ("temperature", "hot", "takes a number"),
        ("temperature", "nan", "out of range"),
        ("top_p", "0", "above 0"),
        ("top_p", "1.2", "out of range"),
        ("max_tokens", "8", "out of range"),
        ("max_tokens", "12.5", "whole number"),
        ("reasoning_effort", "extreme", "one of"),
        ("provider", "no such provider!", "not a provider"),
        ("provider", "grok", "Did you mean `groq`"),
        ("volume", "11", "no setting"),
        ("system_prompt", "x" * 9000, "limit"),
    ],
)
async def test_invalid_values_are_refused_with_a_clear_message(core, name, value, words):
    with pytest.raises(InvalidSetting) as error:
        await core.chat.preferences.set_option(ALICE, KEY, Scope.USER, name, value)
    assert words in str(error.value)


async def test_bounds_and_scopes(core):
    catalog = core.catalog
    assert parse_option("temperature", "0", catalog) == "0.0"
    assert parse_option("temperature", "2", catalog) == "2.0"
    assert parse_option("top_p", "1", catalog) == "1.0"
    assert parse_option("reasoning_effort", "none", catalog) == "none"
    assert parse_option("temperature", "reset", catalog) is None
    for scope in (Scope.CHANNEL, Scope.WORKSPACE):
        with pytest.raises(NotAllowed):
            await core.chat.preferences.set_option(ALICE, KEY, scope, "temperature", "1")
    with pytest.raises(InvalidSetting):  # the provider is a person's or a place's choice, not a conversation's
        await core.chat.preferences.set_option(ALICE, KEY, Scope.CONVERSATION, "provider", "cheapest")
    await ask(core, "mine")
    with pytest.raises(NotAllowed):  # someone else's conversation
        await core.chat.preferences.set_option(BOB, KEY, Scope.CONVERSATION, "temperature", "1")


async def test_system_prompt_per_conversation_and_channel(core_factory, fake_router):
    core = await core_factory(fake_router.url, system_prompt="Global rules.")
    await core.chat.preferences.set_option(ADMIN, KEY, Scope.CHANNEL, "system_prompt", "Channel rules.")
    await ask(core, "hi")
    assert fake_router.requests[-1]["messages"][0] == {"role": "system", "content": "Global rules.\n\nChannel rules."}
    await core.chat.preferences.set_option(ALICE, KEY, Scope.CONVERSATION, "system_prompt", "Answer in French.")
    await ask(core, "again")
    assert fake_router.requests[-1]["messages"][0]["content"] == "Global rules.\n\nAnswer in French."
    other = ConversationKey("test", "W1", "C1", "T2")  # the channel's other conversations keep the channel's
    await ask(core, "elsewhere", key=other)
    assert fake_router.requests[-1]["messages"][0]["content"] == "Global rules.\n\nChannel rules."


async def test_provider_preference_becomes_the_suffix(core, fake_router):
    chat = core.chat
    await chat.preferences.set_option(ADMIN, KEY, Scope.WORKSPACE, "provider", "cheapest")
    await ask(core, "one")
    assert fake_router.requests[-1]["model"] == f"{LLAMA}:cheapest"
    await chat.preferences.set_option(ALICE, KEY, Scope.USER, "provider", "auto")
    await ask(core, "two")
    assert fake_router.requests[-1]["model"] == f"{LLAMA}:fastest"
    await chat.preferences.set_option(ALICE, KEY, Scope.USER, "provider", "groq")
    _, _, out = await ask(core, "three")
    assert fake_router.requests[-1]["model"] == f"{LLAMA}:groq"
    assert out.calls[-1].view.provider == "fake-provider"  # "via <provider>" comes from the router's header
    await chat.preferences.set_model(
        ALICE, KEY, Scope.CONVERSATION, "Qwen/Qwen3-32B"
    )  # not served by groq: router decides
    await ask(core, "four")
    assert fake_router.requests[-1]["model"] == "Qwen/Qwen3-32B"
    await chat.preferences.set_model(ALICE, KEY, Scope.CONVERSATION, "Qwen/Qwen3-32B:cerebras")  # a chosen suffix wins
    await ask(core, "five")
    assert fake_router.requests[-1]["model"] == "Qwen/Qwen3-32B:cerebras"


def test_apply_provider_rules(core):
    catalog = core.catalog
    assert apply_provider("a/b", None, catalog) == "a/b"
    assert apply_provider("a/b", "preferred", catalog) == "a/b:preferred"
    assert apply_provider("a/b:groq", "cheapest", catalog) == "a/b:groq"
    assert apply_provider("a/b", "together", catalog) == "a/b:together"  # unknown model: trust the choice
    assert apply_provider("omni", "cheapest", catalog) == "omni"


async def test_settings_listing_says_where_each_value_comes_from(core):
    await core.chat.preferences.set_option(ADMIN, KEY, Scope.CHANNEL, "top_p", "0.9")
    await core.chat.preferences.set_option(ALICE, KEY, Scope.USER, "temperature", "0.2")
    rows = {name: (value, where) for name, value, where in await core.chat.preferences.describe(KEY, "alice")}
    assert rows["model"] == (LLAMA, "default")
    assert rows["temperature"] == ("0.2", "user")
    assert rows["top_p"] == ("0.9", "channel")
    assert rows["max_tokens"] == (str(core.settings.max_tokens), "default")
    assert rows["reasoning_effort"] == (None, "")


async def test_console_set_and_system(core, fake_router):
    out = io.StringIO()
    app = ConsoleApp(core, Console(file=out, width=200, color_system=None), user="carol")
    await app.start()
    await app.handle_line("/set temperature 0.3")
    await app.handle_line("/set here top_p 0.5")
    await app.handle_line("/system Be terse.")
    await app.handle_line("/set temperature 9")
    await app.handle_line("hello")
    sent = fake_router.requests[-1]
    assert sent["temperature"] == 0.3 and sent["top_p"] == 0.5
    assert sent["messages"][0] == {"role": "system", "content": "Be terse."}
    await app.handle_line("/set")
    text = out.getvalue()
    assert "temperature is now 0.3 for your default" in text
    assert "out of range" in text  # the bad value was refused in the chat, not raised
    assert "top_p" in text and "conversation" in text and "via fake-provider" in text
    carol = Actor("console", "carol", workspace="local")
    rows = {n: v for n, v, _ in await core.chat.preferences.describe(app.key, carol.user_id)}
    assert rows["system_prompt"] == "Be terse."

"""Assistants: the store contract on both backends, the core's rules, and the console commands."""

import io

import pytest
from rich.console import Console

from bots.console.app import ConsoleApp
from core.errors import InvalidSetting, NotAllowed, NotFound
from core.keys import Actor, ConversationKey
from core.records import Assistant, Scope
from core.settings.assistants import parse_fields
from tests.fakes.fake_router import text_script
from tests.support.chat import ADMIN, ALICE, BOB, KEY, ask
from tests.support.stores import store_key

QWEN = "Qwen/Qwen3-32B"
OTHER_WS = ConversationKey("test", "W2", "C9", "T1")


# the store contract


async def test_store_assistant_round_trip(store):
    created = await store.create_assistant(
        Assistant(
            platform="discord",
            workspace="guild1",
            owner_id="u1",
            name="Pirate",
            instructions="Talk like a pirate. 🏴‍☠️",
            model=QWEN,
            options={"temperature": "0.9"},
            starters=["Ahoy?", "Tell a tale"],
            web_search=True,
        )
    )
    assert created.id is not None and created.created_at > 0
    loaded = await store.get_assistant(created.id)
    assert loaded == created
    loaded.name, loaded.shared, loaded.options = "Pirate captain", True, {}
    await store.update_assistant(loaded)
    again = await store.get_assistant(created.id)
    assert (again.name, again.shared, again.options, again.starters) == ("Pirate captain", True, {}, loaded.starters)
    assert await store.get_assistant(created.id + 999) is None


async def test_store_lists_personal_everywhere_and_shared_in_their_workspace(store):
    def make(name, owner, workspace="guild1", shared=False, platform="discord"):
        return Assistant(platform=platform, workspace=workspace, owner_id=owner, name=name, shared=shared)

    mine = await store.create_assistant(make("b-mine", "u1", workspace="guild2"))
    shared = await store.create_assistant(make("a-shared", "u2", shared=True))
    await store.create_assistant(make("c-theirs", "u2"))
    await store.create_assistant(make("d-shared-elsewhere", "u2", workspace="guild2", shared=True))
    await store.create_assistant(make("e-slack", "u1", platform="slack"))
    listed = await store.list_assistants("discord", "guild1", "u1")
    assert [a.id for a in listed] == [shared.id, mine.id]
    assert [a.name for a in await store.list_assistants("discord", "guild2", "u2")] == [
        "c-theirs",
        "d-shared-elsewhere",
    ]
    with pytest.raises(Exception):  # noqa: B017 - a backend's unique violation
        await store.create_assistant(make("B-MINE", "u1"))  # names are unique among one's own, any case
    await store.create_assistant(make("b-mine", "u1", shared=True))  # a shared one may share the name


async def test_store_delete_assistant_and_user_data(store):
    personal = await store.create_assistant(Assistant("discord", "guild1", "u1", "Mine"))
    shared = await store.create_assistant(Assistant("discord", "guild1", "u1", "Ours", shared=True))
    await store.set_setting("discord", "", Scope.USER, "u1", "assistant", str(personal.id))
    await store.set_setting("discord", "guild1", Scope.CHANNEL, "c1", "assistant", str(shared.id))
    await store.delete_assistant(shared.id)
    assert await store.get_assistant(shared.id) is None
    assert await store.get_setting("discord", "guild1", Scope.CHANNEL, "c1", "assistant") is None
    assert await store.get_setting("discord", "", Scope.USER, "u1", "assistant") == str(personal.id)
    kept = await store.create_assistant(Assistant("discord", "guild1", "u1", "Team", shared=True))
    conversation = await store.create_conversation(store_key("c1"), "u1")
    await store.delete_user_data("discord", "u1")
    assert await store.get_assistant(personal.id) is None  # personal data goes
    assert await store.get_assistant(kept.id) is not None  # the workspace's shared assistant stays
    assert await store.get_conversation_by_id(conversation.id) is None


# the core's rules


async def test_create_list_edit_delete(core):
    assistants = core.chat.assistants
    pirate = await assistants.create(
        ALICE, KEY, "  Pirate ", instructions="Arr.", model="qwen/qwen3-32b", options={"temperature": "1.1"}
    )
    assert (pirate.name, pirate.model, pirate.options) == ("Pirate", QWEN, {"temperature": "1.1"})
    with pytest.raises(InvalidSetting, match="already"):
        await assistants.create(ALICE, KEY, "pirate")
    with pytest.raises(InvalidSetting, match="out of range"):
        await assistants.create(ALICE, KEY, "Hot", options={"temperature": "5"})
    with pytest.raises(InvalidSetting):
        await assistants.create(ALICE, KEY, "Too many", starters=["a", "b", "c", "d", "e"])
    assert [a.name for a in await assistants.list(ALICE, KEY)] == ["Pirate"]
    assert await assistants.list(BOB, KEY) == []  # personal: Bob does not see it
    assert [a.name for a in await assistants.list(ALICE, OTHER_WS)] == ["Pirate"]  # follows Alice everywhere
    edited = await assistants.edit(ALICE, KEY, "pirate", options={"top_p": "0.5"}, web_search=True)
    assert edited.options == {"temperature": "1.1", "top_p": "0.5"} and edited.web_search
    edited = await assistants.edit(ALICE, KEY, "Pirate", options={"temperature": None})
    assert edited.options == {"top_p": "0.5"}
    with pytest.raises(NotFound, match="Did you mean"):
        await assistants.find(ALICE, KEY, "pirat")
    with pytest.raises(NotFound):
        await assistants.delete(BOB, KEY, "Pirate")
    await assistants.delete(ALICE, KEY, "Pirate")
    assert await assistants.list(ALICE, KEY) == []


async def test_shared_assistants_need_an_admin_unless_allowed(core):
    assistants = core.chat.assistants
    with pytest.raises(NotAllowed):
        await assistants.create(ALICE, KEY, "Team bot", shared=True)
    team = await assistants.create(ADMIN, KEY, "Team bot", shared=True)
    assert [a.name for a in await assistants.list(BOB, KEY)] == ["Team bot"]
    assert await assistants.list(BOB, OTHER_WS) == []  # shared within its workspace only
    with pytest.raises(NotAllowed):
        await assistants.edit(BOB, KEY, "Team bot", instructions="mine now")
    with pytest.raises(NotAllowed):
        await assistants.allow_members_to_share(ALICE, KEY, True)
    await assistants.allow_members_to_share(ADMIN, KEY, True)
    await assistants.create(ALICE, KEY, "Alice's team bot", shared=True)
    await assistants.edit(ADMIN, KEY, "Alice's team bot", instructions="an admin may fix it")
    await assistants.delete(ADMIN, KEY, team.name)


async def test_conversation_uses_and_keeps_its_assistant(core, fake_router):
    assistants = core.chat.assistants
    await assistants.create(
        ALICE, KEY, "Pirate", instructions="Talk like a pirate.", model=QWEN, options={"temperature": "1.2"}
    )
    await assistants.use(ALICE, KEY, "Pirate")
    assert (await core.chat.preferences.model_choice(KEY, "alice")).model == QWEN  # what a new conversation would use
    submitted, _, _ = await ask(core, "hello")
    sent = fake_router.requests[-1]
    assert sent["model"] == QWEN and sent["temperature"] == 1.2
    assert sent["messages"][0] == {"role": "system", "content": "Talk like a pirate."}
    # a setting of the conversation beats the assistant's; the person's own default does not
    await core.chat.preferences.set_option(ALICE, KEY, Scope.USER, "temperature", "0.1")
    await core.chat.preferences.set_option(ALICE, KEY, Scope.CONVERSATION, "temperature", "0.4")
    await ask(core, "again")
    assert fake_router.requests[-1]["temperature"] == 0.4
    # switching assistants later does not move a conversation that started with another
    await assistants.create(ALICE, KEY, "Poet", instructions="Rhyme.")
    await assistants.use(ALICE, KEY, "Poet")
    await ask(core, "third")
    assert fake_router.requests[-1]["messages"][0]["content"] == "Talk like a pirate."
    new_key = ConversationKey("test", "W1", "C1", "T-new")
    await ask(core, "new conversation", key=new_key)
    assert fake_router.requests[-1]["messages"][0]["content"] == "Rhyme."
    assert fake_router.requests[-1]["model"] == "meta-llama/Llama-3.3-70B-Instruct"  # Poet has no model
    await assistants.use(ALICE, KEY, None)
    await ask(core, "plain", key=ConversationKey("test", "W1", "C1", "T-plain"))
    assert fake_router.requests[-1]["messages"][0]["role"] == "user"
    # deleting the assistant leaves its conversations without one (and their messages intact)
    await assistants.delete(ALICE, KEY, "Pirate")
    await ask(core, "after delete")
    assert fake_router.requests[-1]["messages"][0]["role"] == "user"
    assert await core.store.count_messages(submitted.conversation.id) == 8


async def test_channel_default_assistant(core, fake_router):
    assistants = core.chat.assistants
    await assistants.create(ALICE, KEY, "Private")
    with pytest.raises(NotAllowed):
        await assistants.set_channel_default(ALICE, KEY, "Private")
    with pytest.raises(NotAllowed, match="shared"):
        await assistants.set_channel_default(Actor("test", "alice", workspace="W1", is_admin=True), KEY, "Private")
    await assistants.create(ADMIN, KEY, "Helpdesk", instructions="You are the helpdesk.", shared=True)
    await assistants.set_channel_default(ADMIN, KEY, "Helpdesk")
    await ask(core, "printer broken", BOB)
    assert fake_router.requests[-1]["messages"][0]["content"] == "You are the helpdesk."
    # a person's own choice wins over the channel's
    await assistants.create(BOB, KEY, "Bob's", instructions="Bob's way.")
    await assistants.use(BOB, KEY, "Bob's")
    await ask(core, "hi", BOB, key=ConversationKey("test", "W1", "C1", "T-bob"))
    assert fake_router.requests[-1]["messages"][0]["content"] == "Bob's way."


def test_parse_fields():
    assert parse_fields(["instructions=Be nice", "model=a/b", "web=yes", "starter=Hi|Bye", "temperature=0.5"]) == {
        "instructions": "Be nice",
        "model": "a/b",
        "web_search": True,
        "starters": ["Hi", "Bye"],
        "options": {"temperature": "0.5"},
    }
    with pytest.raises(InvalidSetting):
        parse_fields(["colour=red"])
    with pytest.raises(InvalidSetting):
        parse_fields(["web=maybe"])


async def test_console_assistant_commands(core, fake_router):
    out = io.StringIO()
    app = ConsoleApp(core, Console(file=out, width=200, color_system=None), user="carol")
    await app.start()
    await app.handle_line(
        '/assistant new "Chef" instructions="You are a chef." temperature=0.6 starter="What can I cook?" shared=yes'
    )
    await app.handle_line("/assistant list")
    first_thread = app.thread
    await app.handle_line("/assistant use chef")
    assert app.thread != first_thread
    fake_router.queue(text_script("Pasta."))
    await app.handle_line("dinner?")
    sent = fake_router.requests[-1]
    assert sent["messages"][0]["content"] == "You are a chef." and sent["temperature"] == 0.6
    await app.handle_line("/assistant edit Chef model=nope/missing")
    await app.handle_line("/assistant delete Chef")
    await app.handle_line("/assistant show Chef")
    text = out.getvalue()
    assert "**Chef** (shared)" in text and "1. Chef (shared)" in text
    assert "try 1: What can I cook?" in text
    assert "not a model the router serves" in text
    assert "Deleted the assistant Chef." in text and "No assistant called “Chef”" in text

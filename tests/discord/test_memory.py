"""Memory on Discord (issue 16): the `/memory` command group (list, on, off, clear), every answer only for its person;
the list's delete buttons and Delete all; "remember that …" kept only when on; the model's "Remember this?" with Keep /
Don't, which only its person may press; nobody else's router request carries it."""

from __future__ import annotations

from core.keys import Actor, ConversationKey
from core.tools.remember import NAME
from tests.fakes.discord import FLAG_EPHEMERAL, FakeDiscord, running_client
from tests.fakes.fake_router import text_script, tool_calls_script
from tests.support.discord import make_bot, open_threads

CANARY = "canary-discord-3b8f-plays-oboe"
USAGE_TAIL = "Yours alone, in this server."


def system_prompt(request: dict) -> str:
    return "\n".join(m["content"] for m in request["messages"] if m["role"] == "system")


def custom_ids(message) -> dict[str, str]:
    return {
        item["label"]: item["custom_id"]
        for row in message.data.get("components") or []
        for item in row.get("components") or []
    }


async def memory(fake, user, sub: str, channel=None):
    """`/memory SUB`: the interaction, once answered."""
    channel = channel or fake.default_channel["id"]
    interaction = await fake.slash_command(channel, user, "memory", [{"name": sub, "type": 1, "options": []}])
    await fake.wait_until(lambda: interaction.acknowledged)
    return interaction


def said(interaction) -> str:
    return str(interaction.callbacks[0].data.get("content", ""))


async def facts(core, fake, user=None) -> list[str]:
    user = user or fake.default_user
    return [m.fact for m in await core.store.list_memories("discord", fake.default_guild["id"], user["id"])]


async def test_off_by_default_then_kept_on_request_and_used_only_for_its_person(discord_core, fake_router):
    async with FakeDiscord() as fake:
        alice, bob = fake.default_user, fake.add_user("bob")
        fake.add_member(fake.default_guild, bob)
        thread, elsewhere = await open_threads(fake, discord_core, 2)
        async with running_client(fake, make_bot(discord_core)):
            fake_router.queue(text_script("Noted."))
            await fake.message_create(thread["id"], alice, f"remember that {CANARY}")
            await fake.wait_until(lambda: len(fake_router.requests) == 1)
            await discord_core.chat.replies.wait_idle()
            assert await facts(discord_core, fake) == []
            answers = [m.content for m in fake.channel_messages(thread["id"]) if m.author_id == fake.bot_user["id"]]
            assert any("Memory is off for you here" in text and "/memory on" in text for text in answers)

            turned_on = await memory(fake, alice, "on")
            assert "Memory is **on**" in said(turned_on)
            assert turned_on.callbacks[0].data["flags"] & FLAG_EPHEMERAL
            fake_router.queue(text_script("Noted."))
            await fake.message_create(thread["id"], alice, f"remember that {CANARY}")
            await fake.wait_until(lambda: len(fake_router.requests) == 2)
            await discord_core.chat.replies.wait_idle()
            assert await facts(discord_core, fake) == [CANARY]

            await memory(fake, bob, "on")
            fake_router.queue(text_script("Hi Bob."))
            await fake.message_create(elsewhere["id"], bob, "What do you know about me?")  # another thread here
            await fake.wait_until(lambda: len(fake_router.requests) == 3)
            assert CANARY not in str(fake_router.requests[-1])
            await discord_core.chat.replies.wait_idle()
            fake_router.queue(text_script("You play the oboe."))
            await fake.message_create(thread["id"], alice, "What do I play?")
            await fake.wait_until(lambda: len(fake_router.requests) == 4)
            assert CANARY in system_prompt(fake_router.requests[-1])
            await discord_core.chat.replies.wait_idle()
        fake.assert_clean()


async def test_the_list_deletes_one_by_its_button_and_all(discord_core, fake_router):
    async with FakeDiscord() as fake:
        alice, bob = fake.default_user, fake.add_user("bob")
        fake.add_member(fake.default_guild, bob)
        async with running_client(fake, make_bot(discord_core)):
            await memory(fake, alice, "on")
            actor = Actor("discord", alice["id"], "alice", fake.default_guild["id"])
            key = ConversationKey("discord", fake.default_guild["id"], fake.default_channel["id"], "")
            for fact in ("one", "two", CANARY):
                await discord_core.chat.memory.keep(actor, key, fact)
            listed = await memory(fake, alice, "list")
            shown = fake.original_response(listed)
            assert shown.data["flags"] & FLAG_EPHEMERAL  # nobody else sees the list
            assert "1. one\n2. two\n3. " in shown.content
            ids = custom_ids(shown)
            assert list(ids) == ["🗑 1", "🗑 2", "🗑 3", "Delete all"]

            click = await fake.component_click(fake.default_channel["id"], alice, shown.id, ids["🗑 2"])
            await fake.wait_until(lambda: click.acknowledged)
            assert click.response_type == 7  # the list, shown again without it
            assert await facts(discord_core, fake) == ["one", CANARY]
            assert "two" not in fake.message(fake.default_channel["id"], shown.id).content
            assert list(custom_ids(fake.message(fake.default_channel["id"], shown.id))) == ["🗑 1", "🗑 2", "Delete all"]

            bobs = await memory(fake, bob, "list")  # Bob's own list: nothing of Alice's
            assert CANARY not in fake.original_response(bobs).content

            click = await fake.component_click(fake.default_channel["id"], alice, shown.id, ids["Delete all"])
            await fake.wait_until(lambda: click.acknowledged)
            assert await facts(discord_core, fake) == []
            assert "Deleted all 2 facts" in fake.message(fake.default_channel["id"], shown.id).content

            await discord_core.chat.memory.keep(actor, key, "again")
            cleared = await memory(fake, alice, "clear")
            assert "Deleted all 1 fact" in said(cleared) and await facts(discord_core, fake) == []
            off = await memory(fake, alice, "off")
            assert "Memory is **off**" in said(off)
        fake.assert_clean()


async def test_a_suggestion_is_kept_only_when_its_person_presses_keep(discord_core, fake_router):
    async with FakeDiscord() as fake:
        alice, bob = fake.default_user, fake.add_user("bob")
        fake.add_member(fake.default_guild, bob)
        [thread] = await open_threads(fake, discord_core, 1)
        async with running_client(fake, make_bot(discord_core)):
            await memory(fake, alice, "on")
            fake_router.queue(tool_calls_script((NAME, {"fact": CANARY})))
            fake_router.queue(text_script("Here are some oboe reeds."))
            await fake.message_create(thread["id"], alice, "I play the oboe; which reeds?")

            def suggestions():
                return [m for m in fake.channel_messages(thread["id"]) if m.content.startswith("🧠 **Remember this?**")]

            await fake.wait_until(lambda: bool(suggestions()))
            await discord_core.chat.replies.wait_idle()
            [suggestion] = suggestions()
            ids = custom_ids(suggestion)
            assert list(ids) == ["Keep", "Don't"]
            assert await facts(discord_core, fake) == []  # nothing before the yes

            refused = await fake.component_click(thread["id"], bob, suggestion.id, ids["Keep"])
            await fake.wait_until(lambda: refused.acknowledged)
            assert "for the person it is about" in said(refused)
            assert await facts(discord_core, fake) == []
            kept = await fake.component_click(thread["id"], alice, suggestion.id, ids["Keep"])
            await fake.wait_until(lambda: kept.acknowledged)
            assert await facts(discord_core, fake) == [CANARY]
            shown = fake.message(thread["id"], suggestion.id)
            assert shown.content.startswith("🧠 Kept") and not shown.data["components"]
        fake.assert_clean()


async def test_dont_keeps_nothing(discord_core, fake_router):
    async with FakeDiscord() as fake:
        [thread] = await open_threads(fake, discord_core, 1)
        async with running_client(fake, make_bot(discord_core)):
            await memory(fake, fake.default_user, "on")
            fake_router.queue(tool_calls_script((NAME, {"fact": CANARY})))
            fake_router.queue(text_script("OK."))
            await fake.message_create(thread["id"], fake.default_user, "I play the oboe")
            await fake.wait_until(
                lambda: any(m.content.startswith("🧠 **Remember") for m in fake.channel_messages(thread["id"]))
            )
            await discord_core.chat.replies.wait_idle()
            [suggestion] = [m for m in fake.channel_messages(thread["id"]) if m.content.startswith("🧠 **Remember")]
            dropped = await fake.component_click(
                thread["id"], fake.default_user, suggestion.id, custom_ids(suggestion)["Don't"]
            )
            await fake.wait_until(lambda: dropped.acknowledged)
            assert await facts(discord_core, fake) == []
            assert fake.message(thread["id"], suggestion.id).content.startswith("🧠 Not kept")
        fake.assert_clean()


def test_a_full_list_of_long_facts_fits_one_message_with_a_button_each():
    from bots.discord.memory import listing_text, listing_view
    from core.memory import MAX_FACTS
    from core.memory.service import Listing
    from core.records import Memory

    facts = [Memory("discord", "g", "u", f"fact {n} " + "*" * 290, id=n + 1) for n in range(MAX_FACTS)]
    listing = Listing(True, facts)
    text, view = listing_text(listing, "Deleted."), listing_view(listing)
    assert len(text) <= 2000 and f"{MAX_FACTS}. fact {MAX_FACTS - 1}" in text and text.endswith(USAGE_TAIL)
    labels = [item.item.label for item in view.children]
    assert labels == [f"🗑 {n}" for n in range(1, MAX_FACTS + 1)] + ["Delete all"]
    assert len(view.children) <= 25  # Discord: 5 rows of 5

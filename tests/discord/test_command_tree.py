"""The command tree's sync-once hash reads the definitions, not the order they were registered in: the commands are
spread over modules by family, and moving one must not make every process sync again."""

from __future__ import annotations

from bots.discord.app import build_bot
from bots.discord.commands import FAMILIES


async def test_registering_the_families_in_another_order_is_not_a_change(discord_core):
    bot = build_bot(discord_core, print_invite=False)
    again = build_bot(discord_core, print_invite=False)
    again.tree.clear_commands(guild=None)
    for family in reversed(FAMILIES):
        family.register(again.tree)
    assert [c.name for c in again.tree.get_commands()] != [c.name for c in bot.tree.get_commands()]
    assert again.tree.definitions_hash() == bot.tree.definitions_hash()


async def test_a_changed_definition_is_a_change(discord_core):
    bot = build_bot(discord_core, print_invite=False)
    before = bot.tree.definitions_hash()
    bot.tree.get_command("about").description = "something else"
    assert bot.tree.definitions_hash() != before

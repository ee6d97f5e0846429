from __future__ import annotations

import pytest

from bots.discord.app import build_bot
from bots.discord.sink import DISCORD_LIMITS
from core.errors import UserFacingError

# the same shape as production, faster: the cadence is tested against the loopback fake Discord
FAST_LIMITS = DISCORD_LIMITS.__class__(max_chars=2000, edit_interval=0.02, bucket_rate=None, file_after_messages=4)


@pytest.fixture
async def discord_core(core_factory, fake_router):
    return await core_factory(fake_router.url)


@pytest.fixture
def simcord_bot(discord_core):
    return build_bot(discord_core, limits=FAST_LIMITS, print_invite=False)


@pytest.fixture
def env(simcord_env):
    # SimCord counts everything that reaches CommandTree.on_error as a bug of the bot. A refusal the core raised
    # (UserFacingError) goes there on purpose: the tree's on_error is where the bot tells the person. Those are
    # not recorded; anything else still fails the test.
    record = simcord_env._record_error

    def record_unexpected(error: BaseException) -> None:
        if not isinstance(getattr(error, "original", error), UserFacingError):
            record(error)

    simcord_env._record_error = record_unexpected
    return simcord_env


@pytest.fixture
def world(env):
    """A guild with #general, alice (a member) and mod (Manage Server)."""
    import discord

    guild = env.create_guild()
    channel = guild.create_text_channel("general")
    alice = guild.add_member(env.create_user("alice"))
    bob = guild.add_member(env.create_user("bob"))
    mods = guild.create_role("mods", permissions=discord.Permissions(manage_guild=True))
    mod = guild.add_member(env.create_user("mod"), roles=[mods])
    return type("World", (), {"guild": guild, "channel": channel, "alice": alice, "bob": bob, "mod": mod})

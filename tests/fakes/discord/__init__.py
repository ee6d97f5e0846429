"""A loopback fake of Discord's REST API and gateway, for tests.

It is an aiohttp server on 127.0.0.1 (random port) that a *real* ``discord.Client``
(discord.py 2.7) can log in to, connect to and talk to::

    async with FakeDiscord() as fake:
        client = discord.Client(intents=intents, guild_ready_timeout=0.05)
        async with running_client(fake, client):          # patches discord.py, waits for on_ready
            await fake.message_create(fake.default_channel["id"], fake.default_user, "hi bot")
            await fake.wait_for_request("POST", "/channels/{channel_id}/messages")
            assert fake.channel_messages(fake.default_channel["id"])[-1].content == "hello!"
        fake.assert_clean()                                # no spec violations, no unknown routes

What it models, and why:

* Gateway: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats, RESUME with replay of the
  events missed while disconnected, op 8 member chunks, intent checks (4014 for privileged
  intents the "application" may not use) and intent-based filtering of events, including
  blanking message content without MESSAGE_CONTENT, as Discord does. Sharding: GET /gateway/bot's
  shard count, IDENTIFY's [shard_id, shard_count], each guild's events to its shard only, DMs to shard 0.
* REST: the routes a chat bot uses (messages, threads, DMs, interactions, webhooks,
  application commands, typing, reactions) with realistic payloads and Discord's error codes.
* Rate limits with Discord's headers, so discord.py's own bucket handling is exercised.
* Every JSON body is checked against Discord's official OpenAPI spec.
* Everything is recorded (requests, messages with edit history, interactions, gateway frames).
* User installs: group DMs and servers the bot is not in (`add_group_dm`, `add_guild(with_bot=False)`): no event
  reaches the bot there and its token gets Missing Access, while a user-installed command (`user_install=True`,
  offered only where its `contexts` and `integration_types` say) answers through its interaction, with at most 5
  follow-ups (40094 after) and a token that lives 15 minutes (401 50027 after). Message context-menu commands
  (`message_command`), modals (`submit_modal`) and forwarded messages (`message_create(forward=...)`, with
  `message_snapshots`).

State builders (``add_guild``, ``add_text_channel``, ``add_thread``...) change state silently:
call them before the client connects, or dispatch the matching event yourself.

Where each part lives: server.py (FakeDiscord: lifecycle, HTTP entry point, queries), gateway.py,
rest.py (REST routes), interactions.py (interactions, webhooks, application commands), ratelimits.py
(buckets, the global limit, injected faults), world.py (state builders and payloads), spec.py (OpenAPI
checking), protocol.py (intents, permissions, flags, error codes), records.py, http.py and client.py
(discord.py glue: patched_discord, running_client).
"""

from tests.fakes.discord.client import patched_discord, running_client
from tests.fakes.discord.gateway import guild_id_for_shard, shard_for
from tests.fakes.discord.protocol import (
    API_PREFIX,
    CDN_ROUTE,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    USER_INSTALL_FOLLOWUPS,
    ChannelType,
    Context,
    DiscordHTTPError,
    Install,
    Intents,
    Perm,
)
from tests.fakes.discord.ratelimits import DEFAULT_RATE_LIMITS, GLOBAL_WINDOWS, RateLimitRule
from tests.fakes.discord.records import (
    FakeInteraction,
    GatewayConnection,
    GatewayFrame,
    InteractionCallback,
    MessageRevision,
    RecordedRequest,
    SpecViolation,
    StoredMessage,
    UploadedFile,
)
from tests.fakes.discord.server import FakeDiscord
from tests.fakes.discord.spec import OpenAPISpec, default_spec_path

__all__ = [
    "API_PREFIX",
    "CDN_ROUTE",
    "DEFAULT_RATE_LIMITS",
    "FLAG_EPHEMERAL",
    "FLAG_LOADING",
    "GLOBAL_WINDOWS",
    "USER_INSTALL_FOLLOWUPS",
    "ChannelType",
    "Context",
    "DiscordHTTPError",
    "FakeDiscord",
    "FakeInteraction",
    "GatewayConnection",
    "GatewayFrame",
    "Install",
    "Intents",
    "InteractionCallback",
    "MessageRevision",
    "OpenAPISpec",
    "Perm",
    "RateLimitRule",
    "RecordedRequest",
    "SpecViolation",
    "StoredMessage",
    "UploadedFile",
    "default_spec_path",
    "guild_id_for_shard",
    "patched_discord",
    "running_client",
    "shard_for",
]

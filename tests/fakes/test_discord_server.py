"""Tests of the fake Discord server, driven by a real discord.py client where it matters."""

from __future__ import annotations

import asyncio
import io
import time

import aiohttp
import discord
import pytest
from discord import app_commands

from tests.fakes.discord import FakeDiscord, Perm, guild_id_for_shard, running_client, shard_for

EDIT_ROUTE = "/channels/{channel_id}/messages/{message_id}"
CREATE_ROUTE = "/channels/{channel_id}/messages"


def make_client(*, message_content: bool = True) -> discord.Client:
    intents = discord.Intents.default()
    intents.message_content = message_content
    # guild_ready_timeout: discord.py waits this long after the last GUILD_CREATE before on_ready.
    return discord.Client(intents=intents, guild_ready_timeout=0.05)


def events(client: discord.Client, name: str) -> asyncio.Queue:
    """Collect a discord.py event's arguments in a queue."""
    queue: asyncio.Queue = asyncio.Queue()

    async def listener(*args):
        await queue.put(args[0] if len(args) == 1 else args)

    listener.__name__ = f"on_{name}"  # Client.event registers by function name
    client.event(listener)
    return queue


async def next_event(queue: asyncio.Queue, within: float = 2.0):
    return await asyncio.wait_for(queue.get(), within)


@pytest.mark.asyncio
async def test_login_ready_guild_create_and_on_message():
    async with FakeDiscord() as fake:
        client = make_client()
        messages: asyncio.Queue = asyncio.Queue()

        @client.event
        async def on_message(message: discord.Message):
            await messages.put(message)
            if message.content == "ping" and not message.author.bot:
                await message.reply("pong")

        async with running_client(fake, client):
            assert client.user.id == int(fake.bot_user["id"])
            assert client.application_id == int(fake.application_id)
            guild = client.get_guild(int(fake.default_guild["id"]))
            assert guild is not None and guild.me is not None
            channel = guild.get_channel(int(fake.default_channel["id"]))
            assert channel.name == "general"
            assert channel.permissions_for(guild.me).send_messages
            assert not channel.permissions_for(guild.me).manage_guild

            conn = fake.gateway_connections[0]
            assert conn.path == "/gateway" and conn.query["v"] == "10" and conn.query["encoding"] == "json"
            assert fake.identify_count == 1
            assert [f.op for f in fake.gateway_received][:2] == [1, 2]  # heartbeat right after HELLO, then IDENTIFY

            sent = await fake.message_create(channel.id, fake.default_user, "hello bot")
            message = await next_event(messages)
            assert message.id == int(sent["id"])
            assert message.content == "hello bot"
            assert isinstance(message.author, discord.Member)
            assert message.author.name == "alice"
            assert message.channel == channel

            ping = await fake.message_create(channel.id, fake.default_user, "ping")
            reply = await fake.wait_for_request("POST", CREATE_ROUTE)
            assert reply.status == 200 and reply.json["content"] == "pong"
            [stored_reply] = [m for m in fake.channel_messages(channel.id) if m.content == "pong"]
            assert stored_reply.data["type"] == 19  # REPLY
            assert stored_reply.data["referenced_message"]["id"] == ping["id"]
        fake.assert_clean()


@pytest.mark.asyncio
async def test_send_and_edit_message_are_stored_and_spec_clean():
    async with FakeDiscord() as fake:
        client = make_client()
        own_messages = events(client, "message")
        async with running_client(fake, client):
            channel = client.get_channel(int(fake.default_channel["id"]))
            message = await channel.send("first draft")
            echoed = await next_event(own_messages)  # Discord echoes the bot's own messages
            assert echoed.id == message.id and echoed.author == client.user
            await message.edit(content="final answer")

            stored = fake.message(channel.id, message.id)
            assert stored.content == "final answer"
            assert [rev.content for rev in stored.history] == ["first draft", "final answer"]
            assert stored.history[0].at <= stored.history[1].at
            assert stored.data["edited_timestamp"] is not None
            assert message.created_at.year >= 2024  # a real snowflake/timestamp
            assert len(fake.requests_for("PATCH", EDIT_ROUTE)) == 1
            assert fake.requests_for("POST", CREATE_ROUTE)[0].json["content"] == "first draft"

            upload = await channel.send("report", file=discord.File(io.BytesIO(b"data!"), "report.txt"))
            assert fake.requests_for("POST", CREATE_ROUTE)[-1].files[0].data == b"data!"
            assert await upload.attachments[0].read() == b"data!"

            with pytest.raises(discord.HTTPException) as too_long:
                await channel.send("x" * 2001)
            assert too_long.value.code == 50035
        assert fake.spec_violations == []
        fake.assert_clean()


@pytest.mark.asyncio
async def test_edit_burst_is_throttled_by_discord_py_using_the_fakes_headers():
    # A 1 s window instead of Discord's 5 s keeps the test fast; the mechanism is the same.
    async with FakeDiscord(rate_limits={("PATCH", EDIT_ROUTE): (5, 1.0)}) as fake:
        client = make_client()
        async with running_client(fake, client):
            channel = client.get_channel(int(fake.default_channel["id"]))
            message = await channel.send("0")
            started = time.monotonic()
            for i in range(1, 8):
                await message.edit(content=str(i))
            elapsed = time.monotonic() - started

        patches = fake.requests_for("PATCH", EDIT_ROUTE)
        assert len(patches) == 7
        assert fake.rate_limit_hits == 0  # discord.py waited on the bucket instead of hitting 429
        assert elapsed >= 0.9
        first_window = [r for r in patches if r.time - patches[0].time < 1.0]
        assert len(first_window) <= 5
        assert fake.message(channel.id, message.id).content == "7"


@pytest.mark.asyncio
async def test_forced_429_is_retried_and_5xx_surfaces():
    async with FakeDiscord() as fake:
        client = make_client()
        async with running_client(fake, client):
            channel = client.get_channel(int(fake.default_channel["id"]))
            message = await channel.send("hi")
            fake.inject_429("PATCH", EDIT_ROUTE, retry_after=0.2)
            await message.edit(content="after 429")
            attempts = fake.requests_for("PATCH", EDIT_ROUTE)
            assert [r.status for r in attempts] == [429, 200]
            assert attempts[0].response == {
                "message": "You are being rate limited.",
                "retry_after": 0.2,
                "global": False,
            }
            assert attempts[1].time - attempts[0].time >= 0.2
            assert fake.rate_limit_hits == 1
            assert fake.message(channel.id, message.id).content == "after 429"

            # discord.py retries 500/502/504/524 (after >= 1 s); other 5xx surface at once.
            fake.inject_error("POST", CREATE_ROUTE, status=503)
            with pytest.raises(discord.DiscordServerError):
                await channel.send("boom")


@pytest.mark.asyncio
async def test_spec_violations_unknown_routes_and_auth():
    async with FakeDiscord() as lenient, FakeDiscord(strict=True) as strict:
        for fake in (lenient, strict):
            cid = fake.default_channel["id"]
            headers = {"Authorization": f"Bot {fake.token}"}
            async with aiohttp.ClientSession(headers=headers) as http:
                async with http.post(f"{fake.api_base}/channels/{cid}/messages", json={"content": "ok"}) as resp:
                    assert resp.status == 200
                    assert resp.headers["X-RateLimit-Limit"] == "5"
                    assert resp.headers["X-RateLimit-Remaining"] == "4"
                    assert float(resp.headers["X-RateLimit-Reset-After"]) > 0
                    mid = (await resp.json())["id"]
                async with http.patch(f"{fake.api_base}/channels/{cid}/messages/{mid}", json={"content": 123}) as resp:
                    status, body = resp.status, await resp.json()
                async with http.get(f"{fake.api_base}/channels/{cid}/nonsense") as resp:
                    assert resp.status == 404 and (await resp.json())["code"] == 0
            async with aiohttp.ClientSession() as anonymous:
                async with anonymous.get(f"{fake.api_base}/users/@me") as resp:
                    assert resp.status == 401

            [violation] = fake.spec_violations
            assert (violation.method, violation.route, violation.location) == ("PATCH", EDIT_ROUTE, "content")
            assert "123" in violation.message
            assert [r.path for r in fake.unhandled_requests] == [f"/channels/{cid}/nonsense"]
            with pytest.raises(AssertionError):
                fake.assert_clean()
            if fake.strict:
                assert status == 400 and body["code"] == 50035 and "content" in body["errors"]
                assert fake.message(cid, mid).content == "ok"
            else:
                assert status == 200


@pytest.mark.asyncio
async def test_threads_from_message_and_without_message():
    async with FakeDiscord() as fake:
        client = make_client()
        created = events(client, "thread_create")
        updated = events(client, "thread_update")
        deleted = events(client, "thread_delete")
        messages = events(client, "message")
        async with running_client(fake, client):
            channel = client.get_channel(int(fake.default_channel["id"]))
            question = await channel.send("question")
            thread = await question.create_thread(name="Chat about it")
            assert thread.id == question.id  # Discord reuses the starter message's id
            assert thread.type is discord.ChannelType.public_thread
            assert (await next_event(created)).id == thread.id
            assert fake.channels[str(thread.id)]["parent_id"] == str(channel.id)

            await fake.message_create(thread.id, fake.default_user, "follow-up in thread")
            while (msg := await next_event(messages)).author.bot:
                pass
            assert isinstance(msg.channel, discord.Thread) and msg.channel.id == thread.id

            await thread.send("bot reply in thread")
            assert fake.channel_messages(thread.id)[-1].content == "bot reply in thread"

            await thread.edit(name="Renamed", archived=True)
            _before, after = await next_event(updated)
            assert after.name == "Renamed" and after.archived
            assert fake.channels[str(thread.id)]["thread_metadata"]["archived"] is True

            private = await channel.create_thread(name="secret", type=discord.ChannelType.private_thread)
            assert private.type is discord.ChannelType.private_thread
            assert fake.channels[str(private.id)]["type"] == 12
            await private.delete()
            assert (await next_event(deleted)).id == private.id
            assert str(private.id) not in fake.channels
        fake.assert_clean()


@pytest.mark.asyncio
async def test_interactions_commands_autocomplete_components_in_guild_thread_and_dm():
    async with FakeDiscord() as fake:
        client = make_client()
        tree = app_commands.CommandTree(client)

        @tree.command(name="ask", description="Ask the model")
        async def ask(interaction: discord.Interaction, prompt: str):
            await interaction.response.defer(thinking=True)
            await interaction.followup.send(f"thinking about {prompt}")
            await interaction.edit_original_response(content=f"answer to {prompt}")

        @ask.autocomplete("prompt")
        async def ask_complete(interaction: discord.Interaction, current: str):
            return [app_commands.Choice(name=f"{current}!", value=f"{current}!")]

        @tree.command(name="reset", description="Reset the conversation")
        async def reset(interaction: discord.Interaction):
            allowed = interaction.permissions.manage_guild or interaction.permissions.manage_threads
            await interaction.response.send_message("reset" if allowed else "not allowed", ephemeral=True)

        @tree.command(name="export", description="Export the conversation")
        async def export(interaction: discord.Interaction):
            await interaction.response.send_message("here", file=discord.File(io.BytesIO(b"log"), "chat.txt"))

        class Buttons(discord.ui.View):
            @discord.ui.button(label="Retry", custom_id="retry")
            async def retry(self, interaction: discord.Interaction, button: discord.ui.Button):
                await interaction.response.edit_message(content="retried", view=None)

        async with running_client(fake, client):
            await tree.sync()
            assert fake.command_put_count == 1
            assert {c["name"] for c in fake.commands()} == {"ask", "reset", "export"}
            cid = int(fake.default_channel["id"])

            ask_it = await fake.slash_command(cid, fake.default_user, "ask", {"prompt": "tea"})
            await fake.wait_until(lambda: (m := fake.original_response(ask_it)) is not None and m.edits == 2)
            original = fake.original_response(ask_it)
            assert ask_it.response_type == 5
            assert [r.content for r in original.history] == ["", "thinking about tea", "answer to tea"]
            assert original.data["interaction_metadata"]["user"]["id"] == fake.default_user["id"]

            complete = await fake.autocomplete(cid, fake.default_user, "ask", {"prompt": "te"}, focused="prompt")
            await fake.wait_until(lambda: complete.autocomplete_choices is not None)
            assert complete.autocomplete_choices == [{"name": "te!", "value": "te!"}]

            denied = await fake.slash_command(cid, fake.default_user, "reset")
            granted = await fake.slash_command(cid, fake.default_user, "reset", permissions=Perm.MANAGE_GUILD)
            await fake.wait_until(lambda: denied.acknowledged and granted.acknowledged)
            assert fake.original_response(denied).content == "not allowed"
            assert fake.original_response(denied).data["flags"] & 64  # ephemeral
            assert fake.original_response(granted).content == "reset"

            thread = fake.add_thread(fake.default_channel, "existing", owner=fake.default_user)
            await fake.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
            in_thread = await fake.slash_command(thread["id"], fake.guild_owner, "reset")
            dm = fake.add_dm_channel(fake.default_user)
            in_dm = await fake.slash_command(dm["id"], fake.default_user, "ask", {"prompt": "dm"})
            await fake.wait_until(
                lambda: in_thread.acknowledged and (m := fake.original_response(in_dm)) is not None and m.edits == 2
            )
            assert fake.channel_messages(thread["id"])[-1].content == "reset"  # owner: all permissions
            assert fake.original_response(in_dm).content == "answer to dm"
            assert "member" not in in_dm.payload and in_dm.payload["user"]["id"] == fake.default_user["id"]

            exported = await fake.slash_command(cid, fake.default_user, "export")
            await fake.wait_until(lambda: exported.acknowledged)
            assert exported.callbacks[0].files[0].data == b"log"  # multipart callback: payload_json + files[0]
            assert fake.original_response(exported).data["attachments"][0]["filename"] == "chat.txt"

            with_buttons = await client.get_channel(cid).send("pick", view=Buttons(timeout=None))
            click = await fake.component_click(cid, fake.default_user, with_buttons.id, "retry")
            await fake.wait_until(lambda: click.acknowledged)
            assert click.response_type == 7
            assert fake.message(cid, with_buttons.id).content == "retried"
            assert fake.message(cid, with_buttons.id).data["components"] == []

            # Discord allows one initial response per interaction.
            async with aiohttp.ClientSession() as http:
                url = f"{fake.api_base}/interactions/{click.id}/{click.token}/callback"
                async with http.post(url, json={"type": 6}) as resp:
                    assert resp.status == 400 and (await resp.json())["code"] == 40060
        assert fake.spec_violations == []
        assert fake.unhandled_requests == []


@pytest.mark.asyncio
async def test_resume_after_dropped_connections_replays_missed_events():
    async with FakeDiscord() as fake:
        client = make_client()

        async def identify_now(shard_id, *, initial=False):
            pass  # discord.py sleeps 5 s before every re-IDENTIFY by default

        client.before_identify_hook = identify_now
        messages = events(client, "message")
        resumed = events(client, "resumed")
        ready = events(client, "ready")
        async with running_client(fake, client):
            await next_event(ready)
            channel_id = fake.default_channel["id"]
            for abrupt in (False, True):
                await fake.drop_connections(abrupt=abrupt)
                # Dispatched while the client is away: buffered and replayed on RESUME.
                await fake.message_create(channel_id, fake.default_user, f"missed (abrupt={abrupt})")
                await next_event(resumed)
                assert (await next_event(messages)).content == f"missed (abrupt={abrupt})"

            assert fake.identify_count == 1 and fake.resume_count == 2
            assert [c.path for c in fake.gateway_connections] == ["/gateway", "/gateway/resume", "/gateway/resume"]
            assert fake.gateway_connections[0].close_code == 4000
            assert all(c.resumed for c in fake.gateway_connections[1:])
            # The connection still works after resuming.
            await fake.message_create(channel_id, fake.default_user, "live again")
            assert (await next_event(messages)).content == "live again"

            await fake.send_reconnect()  # op 7: reconnect and resume
            await next_event(resumed)
            await fake.invalidate_sessions()  # op 9 false: the client must IDENTIFY again
            await next_event(ready)
            assert fake.identify_count == 2 and fake.resume_count == 3


@pytest.mark.asyncio
async def test_members_intent_guild_create_and_member_chunk_requests():
    async with FakeDiscord() as fake:
        intents = discord.Intents.default()
        intents.members = True
        client = discord.Client(intents=intents, guild_ready_timeout=0.05)
        async with running_client(fake, client):
            guild = client.get_guild(int(fake.default_guild["id"]))
            assert guild.chunked and {m.name for m in guild.members} == {"TestBot", "owner", "alice"}
            assert guild.owner.name == "owner"
            found = await guild.query_members("al")  # op 8 REQUEST_GUILD_MEMBERS -> GUILD_MEMBERS_CHUNK
            assert [m.name for m in found] == ["alice"]
            assert [f.d["query"] for f in fake.gateway_received if f.op == 8] == ["al"]


@pytest.mark.asyncio
async def test_privileged_intents_and_message_content_filtering():
    async with FakeDiscord(privileged_intents=0) as fake:
        with pytest.raises(discord.PrivilegedIntentsRequired):
            async with running_client(fake, make_client(message_content=True)):
                pass
        assert fake.gateway_connections[-1].close_code == 4014

        client = make_client(message_content=False)
        messages = events(client, "message")
        async with running_client(fake, client):
            cid = fake.default_channel["id"]
            await fake.message_create(cid, fake.default_user, "secret words")
            assert (await next_event(messages)).content == ""  # no MESSAGE_CONTENT intent
            await fake.message_create(cid, fake.default_user, f"<@{fake.bot_user['id']}> hello")
            mentioned = await next_event(messages)
            assert mentioned.content.endswith("hello") and client.user in mentioned.mentions
        assert fake.channel_messages(cid)[0].content == "secret words"  # the fake keeps the truth


async def _identify_now(shard_id, *, initial=False):
    pass  # discord.py waits 5 s between two shards' IDENTIFYs (Discord's max_concurrency 1)


@pytest.mark.asyncio
async def test_shards_get_their_own_guilds_and_events_and_dms_go_to_shard_zero():
    async with FakeDiscord(shard_count=2) as fake:
        channels = {}
        for shard in (0, 1):
            guild = fake.add_guild(f"guild on shard {shard}", guild_id=guild_id_for_shard(shard, 2))
            fake.add_member(guild, fake.default_user)
            channels[shard] = fake.add_text_channel(guild, "general")
        dm = fake.add_dm_channel(fake.default_user)
        # no shard count given: discord.py asks GET /gateway/bot and runs the shards it recommends
        client = discord.AutoShardedClient(
            intents=discord.Intents(guilds=True, guild_messages=True, dm_messages=True, message_content=True),
            guild_ready_timeout=0.05,
        )
        client.before_identify_hook = _identify_now
        messages = events(client, "message")
        async with running_client(fake, client):
            assert client.shard_count == 2
            sessions = {s.shard[0]: s for s in fake.sessions.values()}
            assert sorted(s.shard for s in sessions.values()) == [[0, 2], [1, 2]]
            for shard, session in sessions.items():
                ready = session.buffer[0]
                assert ready["t"] == "READY" and ready["d"]["shard"] == [shard, 2]
                mine = [gid for gid in fake.guilds if shard_for(gid, 2) == shard]
                assert [g["id"] for g in ready["d"]["guilds"]] == mine
                assert [p["d"]["id"] for p in session.buffer if p["t"] == "GUILD_CREATE"] == mine
            assert {g.id: g.shard_id for g in client.guilds} == {int(g): shard_for(g, 2) for g in fake.guilds}

            for shard in (0, 1):
                sent = await fake.message_create(channels[shard]["id"], fake.default_user, f"to shard {shard}")
                got = await next_event(messages)
                assert got.id == int(sent["id"]) and got.guild.shard_id == shard
            await fake.message_create(dm["id"], fake.default_user, "a DM")
            assert (await next_event(messages)).guild is None

            contents = {
                shard: [p["d"]["content"] for p in session.buffer if p["t"] == "MESSAGE_CREATE"]
                for shard, session in sessions.items()
            }
            assert contents == {0: ["to shard 0", "a DM"], 1: ["to shard 1"]}

        async with aiohttp.ClientSession() as http, http.ws_connect(f"{fake.gateway_url}?v=10&encoding=json") as ws:
            assert (await ws.receive_json())["op"] == 10
            identify = {"token": fake.token, "intents": 513, "properties": {}, "shard": [2, 2]}
            await ws.send_json({"op": 2, "d": identify})
            await ws.receive()
            assert ws.close_code == 4010  # a shard id must be below the shard count


@pytest.mark.asyncio
async def test_two_sessions_on_one_shard_held_dispatches_and_replays_on_resume():
    async with FakeDiscord(shard_count=2) as fake:
        guild = fake.add_guild("shard 0", guild_id=guild_id_for_shard(0, 2))
        fake.add_member(guild, fake.default_user)
        channel = fake.add_text_channel(guild, "general")
        clients = [
            discord.AutoShardedClient(
                intents=discord.Intents(guilds=True, guild_messages=True, dm_messages=True, message_content=True),
                shard_count=2,
                shard_ids=[0],
                guild_ready_timeout=0.05,
            )
            for _ in "ab"
        ]
        queues = [events(client, "message") for client in clients]
        async with running_client(fake, clients[0]), running_client(fake, clients[1]):
            first, second = fake.shard_sessions(0)
            # a misconfiguration Discord allows: both sessions get the shard's events
            await fake.message_create(channel["id"], fake.default_user, "to both")
            assert [(await next_event(q)).content for q in queues] == ["to both", "to both"]

            # a slow connection: held dispatches arrive later, in order
            fake.hold_dispatches(second)
            for n in range(3):
                await fake.message_create(channel["id"], fake.default_user, f"held {n}")
            assert [(await next_event(queues[0])).content for _ in range(3)] == ["held 0", "held 1", "held 2"]
            assert queues[1].empty()
            await fake.release_dispatches(second)
            assert [(await next_event(queues[1])).content for _ in range(3)] == ["held 0", "held 1", "held 2"]

            # a RESUME that replays an event the client already had
            again = next(p["s"] for p in first.buffer if p["t"] == "MESSAGE_CREATE" and p["d"]["content"] == "held 2")
            fake.replay_on_resume(first, again)
            for client in clients:
                client.before_identify_hook = _identify_now
            await fake.drop_connections()
            assert (await next_event(queues[0])).content == "held 2"
            assert [p["d"]["content"] for p in fake.replayed_again if p["t"] == "MESSAGE_CREATE"] == ["held 2"]
            await fake.wait_until(lambda: fake.resume_count == 2)
            assert queues[1].empty()  # only the first session replayed what it had seen


@pytest.mark.asyncio
async def test_global_rate_limit_answers_like_discord():
    # 3 requests a second for the whole bot instead of 50 keeps the test small; the answer is Discord's
    async with FakeDiscord(global_rate_limit=(3, 1.0)) as fake:
        headers = {"Authorization": f"Bot {fake.token}", "Content-Type": "application/json"}
        url = f"{fake.api_base}/channels/{fake.default_channel['id']}/messages"
        async with aiohttp.ClientSession() as session:
            statuses = []
            for i in range(4):  # a different route each time would count too: the limit is the bot's
                async with session.post(url, headers=headers, json={"content": str(i)}) as response:
                    statuses.append(response.status)
                    body, answer_headers = await response.json(), response.headers
        assert statuses == [200, 200, 200, 429]
        assert body["global"] is True and 0 < body["retry_after"] <= 1.0
        assert answer_headers["X-RateLimit-Global"] == "true"
        assert answer_headers["X-RateLimit-Scope"] == "global"
        assert answer_headers["Retry-After"] == "1" and answer_headers["Via"]
        assert fake.rate_limit_hits == 1
        assert len(fake.channel_messages(fake.default_channel["id"])) == 3  # the refused one was not posted


# ---------------------------------------------------------------- user installs, message commands, forwards


async def _webhook_posts(fake: FakeDiscord, interaction, count: int) -> list[tuple[int, int]]:
    """Acknowledge `interaction` (deferred), then send `count` follow-ups: their (status, error code)."""
    url = f"{fake.api_base}/webhooks/{fake.application_id}/{interaction.token}"
    statuses = []
    async with aiohttp.ClientSession() as session:
        callback = f"{fake.api_base}/interactions/{interaction.id}/{interaction.token}/callback"
        async with session.post(callback, json={"type": 5}) as response:
            assert response.status == 204
        for i in range(count):
            async with session.post(url, json={"content": f"part {i}"}) as response:
                code = (await response.json()).get("code") if response.status >= 400 else 0
                statuses.append((response.status, code))
    return statuses


class _Clock:
    """The fake's clock for its global limit, moved by hand: which window a request falls in is exact."""

    def __init__(self, now: float = 100.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


async def _global_statuses(fake: FakeDiscord, clock: _Clock, times: list[float]) -> list[int]:
    """POST a message at each of `times` (the fake's clock) and return the statuses, in order."""
    headers = {"Authorization": f"Bot {fake.token}", "Content-Type": "application/json"}
    url = f"{fake.api_base}/channels/{fake.default_channel['id']}/messages"
    statuses = []
    async with aiohttp.ClientSession() as session:
        for i, at in enumerate(times):
            clock.now = at
            async with session.post(url, headers=headers, json={"content": str(i)}) as response:
                statuses.append(response.status)
    return statuses


@pytest.mark.asyncio
async def test_a_user_install_where_the_bot_is_not_present_gets_five_follow_ups():
    from tests.fakes.discord import USER_INSTALL_FOLLOWUPS

    async with FakeDiscord() as fake:
        group = fake.add_group_dm(fake.default_user, fake.add_user("bob"))
        used = await fake.interaction_create(2, group["id"], fake.default_user, name="ask", user_install=True)
        assert used.payload["context"] == 2 and used.payload["authorizing_integration_owners"] == {
            "1": fake.default_user["id"]
        }
        assert await _webhook_posts(fake, used, USER_INSTALL_FOLLOWUPS + 1) == [(204, 0)] * USER_INSTALL_FOLLOWUPS + [
            (400, 40094)
        ]
        # where the bot is present follow-ups are not capped
        here = await fake.interaction_create(2, fake.default_channel["id"], fake.default_user, name="ask")
        assert set(await _webhook_posts(fake, here, USER_INSTALL_FOLLOWUPS + 2)) == {(204, 0)}


@pytest.mark.asyncio
async def test_an_interaction_token_dies_after_its_lifetime():
    async with FakeDiscord(interaction_token_seconds=0.3) as fake:
        used = await fake.interaction_create(2, fake.default_channel["id"], fake.default_user, name="ask")
        assert await _webhook_posts(fake, used, 1) == [(204, 0)]
        await asyncio.sleep(0.4)
        async with aiohttp.ClientSession() as session:
            url = f"{fake.api_base}/webhooks/{fake.application_id}/{used.token}"
            async with session.post(url, json={"content": "late"}) as response:
                assert response.status == 401 and (await response.json())["code"] == 50027


@pytest.mark.asyncio
async def test_where_the_bot_is_not_present_it_gets_no_events_and_its_token_gets_missing_access():
    async with FakeDiscord() as fake:
        group = fake.add_group_dm(fake.default_user, fake.add_user("bob"))
        elsewhere = fake.add_guild("Elsewhere", owner=fake.default_user, with_bot=False)
        lounge = fake.add_text_channel(elsewhere, "lounge")
        client = make_client()
        created = events(client, "message")
        async with running_client(fake, client):
            assert client.get_guild(int(elsewhere["id"])) is None  # not in READY either
            await fake.message_create(group["id"], fake.default_user, "private words")
            await fake.message_create(lounge["id"], fake.default_user, "other words")
            with pytest.raises(asyncio.TimeoutError):
                await next_event(created, 0.3)
            with pytest.raises(discord.Forbidden) as refused:
                await client.get_partial_messageable(int(group["id"])).send("hello?")
            assert refused.value.code == 50001
        with pytest.raises(ValueError, match="only a user-installed app"):
            await fake.interaction_create(2, group["id"], fake.default_user, name="ask")
        fake._commands[None] = [{"id": "1", "name": "model", "type": 1, "contexts": None, "integration_types": [0]}]
        with pytest.raises(ValueError, match="not offered"):
            await fake.interaction_create(2, group["id"], fake.default_user, name="model", user_install=True)


@pytest.mark.asyncio
async def test_message_commands_and_forwards_carry_what_discord_sends():
    async with FakeDiscord() as fake:
        source = await fake.message_create(
            fake.default_channel["id"], fake.default_user, "original", attachments=[("a.txt", b"hi", "text/plain")]
        )
        forward = await fake.message_create(fake.default_channel["id"], fake.default_user, "", forward=source)
        assert forward["message_reference"]["type"] == 1
        [snapshot] = forward["message_snapshots"]
        assert (
            snapshot["message"]["content"] == "original"
            and snapshot["message"]["attachments"][0]["filename"] == "a.txt"
        )
        assert "author" not in snapshot["message"] and "id" not in snapshot["message"]
        used = await fake.message_command(fake.default_channel["id"], fake.default_user, "Translate", source)
        data = used.payload["data"]
        assert data["type"] == 3 and data["target_id"] == source["id"]
        assert data["resolved"]["messages"][source["id"]]["content"] == "original"


async def test_global_limit_in_fixed_windows_counts_afresh_at_each_second():
    # 3 a second for the whole bot; the per-channel limit lifted so only the global one speaks
    limits = {("POST", CREATE_ROUTE): (100, 1.0)}
    async with FakeDiscord(global_rate_limit=(3, 1.0), global_window="fixed", rate_limits=limits) as fake:
        fake.clock = clock = _Clock()
        # three at the end of one window and three at the start of the next all go; a fourth in a window does not
        statuses = await _global_statuses(fake, clock, [100.7, 100.8, 100.9, 101.0, 101.1, 101.2, 101.95, 102.0])
        assert statuses == [200, 200, 200, 200, 200, 200, 429, 200]
        assert fake.rate_limited_requests[-1].response["retry_after"] == pytest.approx(0.05, abs=0.002)


@pytest.mark.asyncio
async def test_global_limit_in_a_sliding_window_refuses_what_a_fixed_window_lets_through():
    limits = {("POST", CREATE_ROUTE): (100, 1.0)}
    async with FakeDiscord(global_rate_limit=(3, 1.0), rate_limits=limits) as fake:
        assert fake.global_window == "sliding"  # the default: the strictest reading
        fake.clock = clock = _Clock()
        # the same requests: across the boundary the sliding window still holds the three before it
        statuses = await _global_statuses(fake, clock, [100.7, 100.8, 100.9, 101.0, 101.1, 101.2, 101.75, 101.95])
        assert statuses == [200, 200, 200, 429, 429, 429, 200, 200]
        # refused at 101.0 until the oldest of the three (100.7) is a second old
        assert fake.rate_limited_requests[0].response["retry_after"] == pytest.approx(0.7, abs=0.002)
        assert fake.global_counted == [100.7, 100.8, 100.9, 101.75, 101.95]


def test_global_window_must_be_known():
    with pytest.raises(ValueError):
        FakeDiscord(global_window="leaky")

"""REST routes of gateway, users, applications, guilds, channels, messages, reactions, threads and DMs."""

from __future__ import annotations

import copy
import time

from aiohttp import web

from tests.fakes.discord.http import _Ctx, _iso, _json, _route
from tests.fakes.discord.protocol import (
    CANNOT_DM,
    CANNOT_EDIT_OTHERS,
    FLAG_EPHEMERAL,
    MISSING_PERMISSIONS,
    THREAD_EXISTS,
    UNKNOWN_MEMBER,
    WRONG_CHANNEL_TYPE,
    ChannelType,
    DiscordHTTPError,
    Perm,
    _form_error,
)
from tests.fakes.discord.records import StoredMessage


class RestMixin:
    """Handlers registered with @_route; FakeDiscord._process finds them by name."""

    # ------------------------------------------------------------------ REST: gateway, users, apps, guilds

    @_route("GET", "/gateway")
    async def _h_gateway(self, ctx: _Ctx) -> web.Response:
        return _json({"url": self.gateway_url})

    @_route("GET", "/gateway/bot")
    async def _h_gateway_bot(self, ctx: _Ctx) -> web.Response:
        return _json(
            {
                "url": self.gateway_url,
                "shards": self.shard_count,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000 - self.identify_count,
                    "reset_after": 86400000,
                    "max_concurrency": 1,
                },
            }
        )

    @_route("GET", "/users/@me")
    async def _h_me(self, ctx: _Ctx) -> web.Response:
        return _json({**self.bot_user, "verified": True, "mfa_enabled": False, "locale": "en-US", "email": None})

    @_route("GET", "/users/{user_id}")
    async def _h_user(self, ctx: _Ctx) -> web.Response:
        return _json(self._user(ctx.params["user_id"]))

    @_route("GET", "/oauth2/applications/@me")
    @_route("GET", "/applications/@me")
    async def _h_application(self, ctx: _Ctx) -> web.Response:
        return _json(
            {
                "id": self.application_id,
                "name": self.bot_user["username"],
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "hook": True,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": self.verify_key,
                "owner": self.guild_owner or self.bot_user,
                "team": None,
                "flags": self._application_flags(),
                "bot": self.bot_user,
                "interactions_endpoint_url": None,
                "redirect_uris": [],
                "tags": [],
                "approximate_guild_count": len(self.guilds),
                "integration_types_config": {"0": {}},
            }
        )

    @_route("GET", "/guilds/{guild_id}")
    async def _h_guild(self, ctx: _Ctx) -> web.Response:
        return _json(self._guild(ctx.params["guild_id"]))

    @_route("GET", "/guilds/{guild_id}/channels")
    async def _h_guild_channels(self, ctx: _Ctx) -> web.Response:
        gid = self._guild(ctx.params["guild_id"])["id"]
        return _json(
            [c for c in self.channels.values() if c.get("guild_id") == gid and c["type"] not in ChannelType.THREADS]
        )

    @_route("GET", "/guilds/{guild_id}/members/{user_id}")
    async def _h_member(self, ctx: _Ctx) -> web.Response:
        member = self.members.get(self._guild(ctx.params["guild_id"])["id"], {}).get(ctx.params["user_id"])
        if member is None:
            raise UNKNOWN_MEMBER()
        return _json(member)

    @_route("GET", "/guilds/{guild_id}/roles")
    async def _h_roles(self, ctx: _Ctx) -> web.Response:
        return _json(self._guild(ctx.params["guild_id"])["roles"])

    # ------------------------------------------------------------------ REST: channels and messages

    def _require(self, channel: dict, needed: int) -> None:
        self._visible(channel)  # no token of the bot works where it is not present
        if "guild_id" in channel and self.permissions_for(self.bot_user, channel) & needed != needed:
            raise MISSING_PERMISSIONS()

    @_route("GET", "/channels/{channel_id}")
    async def _h_get_channel(self, ctx: _Ctx) -> web.Response:
        return _json(self._visible(self._channel(ctx.params["channel_id"])))

    @_route("PATCH", "/channels/{channel_id}")
    async def _h_edit_channel(self, ctx: _Ctx) -> web.Response:
        channel = self._visible(self._channel(ctx.params["channel_id"]))
        body = ctx.json or {}
        if channel["type"] in ChannelType.THREADS:
            # A thread's owner may rename/archive it; anything else needs Manage Threads.
            owner_allowed = set(body) <= {"name", "archived", "auto_archive_duration", "applied_tags"}
            if channel["owner_id"] != self.bot_user["id"] or not owner_allowed:
                self._require(channel, Perm.MANAGE_THREADS)
            meta = channel["thread_metadata"]
            for key in ("archived", "locked", "invitable", "auto_archive_duration"):
                if body.get(key) is not None:
                    if key == "archived" and body[key] != meta["archived"]:
                        meta["archive_timestamp"] = _iso()
                    meta[key] = body[key]
            for key in ("name", "rate_limit_per_user", "flags", "applied_tags"):
                if body.get(key) is not None:
                    channel[key] = body[key]
            await self.dispatch("THREAD_UPDATE", channel)
        elif channel["type"] == ChannelType.DM:
            raise WRONG_CHANNEL_TYPE()
        else:
            self._require(channel, Perm.MANAGE_CHANNELS)
            for key in (
                "name",
                "topic",
                "nsfw",
                "rate_limit_per_user",
                "parent_id",
                "position",
                "permission_overwrites",
                "default_auto_archive_duration",
            ):
                if key in body:
                    channel[key] = body[key]
            await self.dispatch("CHANNEL_UPDATE", channel)
        return _json(channel)

    @_route("DELETE", "/channels/{channel_id}")
    async def _h_delete_channel(self, ctx: _Ctx) -> web.Response:
        channel = self._channel(ctx.params["channel_id"])
        if channel["type"] in ChannelType.THREADS:
            self._require(channel, Perm.MANAGE_THREADS)
            del self.channels[channel["id"]]
            await self.dispatch("THREAD_DELETE", {k: channel[k] for k in ("id", "guild_id", "parent_id", "type")})
        elif channel["type"] == ChannelType.DM:
            pass  # "closing" a DM keeps it; Discord answers with the channel
        else:
            self._require(channel, Perm.MANAGE_CHANNELS)
            del self.channels[channel["id"]]
            await self.dispatch("CHANNEL_DELETE", channel)
        return _json(channel)

    @_route("GET", "/channels/{channel_id}/messages")
    async def _h_list_messages(self, ctx: _Ctx) -> web.Response:
        channel = self._channel(ctx.params["channel_id"])
        self._require(channel, Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY)
        limit = max(1, min(100, int(ctx.query.get("limit", 50))))
        msgs = sorted((m.data for m in self.channel_messages(channel["id"])), key=lambda m: int(m["id"]), reverse=True)
        if "before" in ctx.query:
            msgs = [m for m in msgs if int(m["id"]) < int(ctx.query["before"])]
        elif "after" in ctx.query:
            msgs = [m for m in msgs if int(m["id"]) > int(ctx.query["after"])][-limit:]
        elif "around" in ctx.query:
            around = int(ctx.query["around"])
            msgs.sort(key=lambda m: abs(int(m["id"]) - around))
            msgs = sorted(msgs[:limit], key=lambda m: int(m["id"]), reverse=True)
        return _json(msgs[:limit])

    @_route("GET", "/channels/{channel_id}/messages/{message_id}")
    async def _h_get_message(self, ctx: _Ctx) -> web.Response:
        channel = self._channel(ctx.params["channel_id"])
        self._require(channel, Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY)
        return _json(self._stored(channel["id"], ctx.params["message_id"]).data)

    @_route("POST", "/channels/{channel_id}/messages")
    async def _h_create_message(self, ctx: _Ctx) -> web.Response:
        channel = self._channel(ctx.params["channel_id"])
        body = ctx.json or {}
        is_thread = channel["type"] in ChannelType.THREADS
        needed = Perm.VIEW_CHANNEL | (Perm.SEND_MESSAGES_IN_THREADS if is_thread else Perm.SEND_MESSAGES)
        self._require(channel, needed | (Perm.ATTACH_FILES if ctx.files else 0))
        if channel["type"] == ChannelType.DM and channel["recipients"][0]["id"] in self.dms_closed:
            raise CANNOT_DM()
        self._check_message_body(body, ctx.files, creating=True)
        if is_thread and channel["thread_metadata"]["archived"]:
            if channel["thread_metadata"]["locked"]:
                self._require(channel, Perm.MANAGE_THREADS)
            channel["thread_metadata"].update(archived=False, archive_timestamp=_iso())  # sending unarchives
            await self.dispatch("THREAD_UPDATE", channel)
        msg = self._build_message(
            channel, copy.deepcopy(self.bot_user), body, ctx.files, flags=(body.get("flags") or 0) & ~FLAG_EPHEMERAL
        )  # ephemeral: interactions only
        self._store(msg)
        await self._dispatch_message("MESSAGE_CREATE", msg)
        return _json(msg)

    @_route("PATCH", "/channels/{channel_id}/messages/{message_id}")
    async def _h_edit_message(self, ctx: _Ctx) -> web.Response:
        channel = self._visible(self._channel(ctx.params["channel_id"]))
        stored = self._stored(channel["id"], ctx.params["message_id"])
        body = ctx.json or {}
        if stored.author_id != self.bot_user["id"]:
            if set(body) - {"flags"}:
                raise CANNOT_EDIT_OTHERS()
            self._require(channel, Perm.MANAGE_MESSAGES)
        self._check_message_body(body, ctx.files, creating=False)
        msg = self._apply_edit(stored, body, ctx.files)
        await self._dispatch_message("MESSAGE_UPDATE", msg)
        return _json(msg)

    @_route("DELETE", "/channels/{channel_id}/messages/{message_id}")
    async def _h_delete_message(self, ctx: _Ctx) -> web.Response:
        channel = self._visible(self._channel(ctx.params["channel_id"]))
        stored = self._stored(channel["id"], ctx.params["message_id"])
        if stored.author_id != self.bot_user["id"]:
            if channel["type"] == ChannelType.DM:
                raise DiscordHTTPError(403, 50003, "Cannot execute action on a DM channel")
            self._require(channel, Perm.MANAGE_MESSAGES)
        await self._delete_message(stored)
        return web.Response(status=204)

    async def _delete_message(self, stored: StoredMessage) -> None:
        stored.deleted, stored.deleted_at = True, time.monotonic()
        data = {"id": stored.id, "channel_id": stored.channel_id}
        if "guild_id" in stored.data:
            data["guild_id"] = stored.data["guild_id"]
        if not stored.data["flags"] & FLAG_EPHEMERAL and self.bot_sees(stored.channel_id):
            await self.dispatch("MESSAGE_DELETE", data)

    @_route("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me")
    async def _h_add_reaction(self, ctx: _Ctx) -> web.Response:
        channel = self._channel(ctx.params["channel_id"])
        self._require(channel, Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY | Perm.ADD_REACTIONS)
        stored = self._stored(channel["id"], ctx.params["message_id"])
        emoji = self._emoji(ctx.params["emoji_name"])
        reactions = stored.data.setdefault("reactions", [])
        existing = next((r for r in reactions if r["emoji"] == emoji), None)
        if existing is None:
            reactions.append(
                {
                    "emoji": emoji,
                    "count": 1,
                    "me": True,
                    "me_burst": False,
                    "burst_colors": [],
                    "count_details": {"burst": 0, "normal": 1},
                }
            )
        elif not existing["me"]:
            existing.update(me=True, count=existing["count"] + 1)
        else:
            return web.Response(status=204)
        event = {
            "user_id": self.bot_user["id"],
            "channel_id": channel["id"],
            "message_id": stored.id,
            "emoji": emoji,
            "burst": False,
            "type": 0,
        }
        if "guild_id" in channel:
            event.update(guild_id=channel["guild_id"], member=self.members[channel["guild_id"]][self.bot_user["id"]])
        await self.dispatch("MESSAGE_REACTION_ADD", event)
        return web.Response(status=204)

    @_route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me")
    async def _h_remove_reaction(self, ctx: _Ctx) -> web.Response:
        stored = self._stored(self._channel(ctx.params["channel_id"])["id"], ctx.params["message_id"])
        emoji = self._emoji(ctx.params["emoji_name"])
        for r in stored.data.get("reactions", []):
            if r["emoji"] == emoji and r["me"]:
                r.update(me=False, count=r["count"] - 1)
        stored.data["reactions"] = [r for r in stored.data.get("reactions", []) if r["count"] > 0]
        return web.Response(status=204)

    @staticmethod
    def _emoji(raw: str) -> dict:
        name, _, emoji_id = raw.partition(":")
        return {"id": emoji_id or None, "name": name}

    @_route("POST", "/channels/{channel_id}/typing")
    async def _h_typing(self, ctx: _Ctx) -> web.Response:
        self._require(self._channel(ctx.params["channel_id"]), Perm.VIEW_CHANNEL)
        return web.Response(status=204)

    @_route("POST", "/channels/{channel_id}/messages/{message_id}/threads")
    async def _h_thread_from_message(self, ctx: _Ctx) -> web.Response:
        channel = self._channel(ctx.params["channel_id"])
        if channel["type"] != ChannelType.GUILD_TEXT:
            raise WRONG_CHANNEL_TYPE()
        self._require(channel, Perm.VIEW_CHANNEL | Perm.CREATE_PUBLIC_THREADS)
        stored = self._stored(channel["id"], ctx.params["message_id"])
        if stored.id in self.channels:
            raise THREAD_EXISTS()
        body = ctx.json or {}
        # A thread started from a message shares the message's id.
        thread = self.add_thread(channel, body.get("name") or "thread", thread_id=stored.id)
        self._thread_options(thread, body)
        stored.data["thread"] = thread
        return await self._announce_thread(thread)

    @_route("POST", "/channels/{channel_id}/threads")
    async def _h_thread_without_message(self, ctx: _Ctx) -> web.Response:
        channel = self._channel(ctx.params["channel_id"])
        if channel["type"] != ChannelType.GUILD_TEXT:
            raise WRONG_CHANNEL_TYPE()
        body = ctx.json or {}
        private = body.get("type", ChannelType.PRIVATE_THREAD) == ChannelType.PRIVATE_THREAD
        needed = Perm.CREATE_PRIVATE_THREADS if private else Perm.CREATE_PUBLIC_THREADS
        self._require(channel, Perm.VIEW_CHANNEL | needed)
        thread = self.add_thread(channel, body.get("name") or "thread", private=private)
        if private and body.get("invitable") is not None:
            thread["thread_metadata"]["invitable"] = body["invitable"]
        self._thread_options(thread, body)
        return await self._announce_thread(thread)

    @staticmethod
    def _thread_options(thread: dict, body: dict) -> None:
        if body.get("auto_archive_duration"):
            thread["thread_metadata"]["auto_archive_duration"] = body["auto_archive_duration"]
        if body.get("rate_limit_per_user") is not None:
            thread["rate_limit_per_user"] = body["rate_limit_per_user"]

    async def _announce_thread(self, thread: dict) -> web.Response:
        me = {"id": thread["id"], "user_id": self.bot_user["id"], "join_timestamp": _iso(), "flags": 0}
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True, "member": me})
        return _json({**thread, "member": me}, status=201)

    @_route("PUT", "/channels/{channel_id}/thread-members/@me")
    @_route("DELETE", "/channels/{channel_id}/thread-members/@me")
    async def _h_thread_membership(self, ctx: _Ctx) -> web.Response:
        if self._channel(ctx.params["channel_id"])["type"] not in ChannelType.THREADS:
            raise WRONG_CHANNEL_TYPE()
        return web.Response(status=204)

    @_route("POST", "/users/@me/channels")
    async def _h_open_dm(self, ctx: _Ctx) -> web.Response:
        recipient = (ctx.json or {}).get("recipient_id")
        if recipient is None:
            raise _form_error("recipient_id", "BASE_TYPE_REQUIRED", "This field is required")
        return _json(self.add_dm_channel(recipient))

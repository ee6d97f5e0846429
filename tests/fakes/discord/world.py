"""The fake's world: users, guilds, roles, members, channels, threads and DMs, and the payloads built from them."""

from __future__ import annotations

import copy
import mimetypes
import re
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from tests.fakes.discord.http import _iso, _sid, _text
from tests.fakes.discord.protocol import (
    EMPTY_MESSAGE,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    MISSING_ACCESS,
    UNKNOWN_CHANNEL,
    UNKNOWN_GUILD,
    UNKNOWN_MESSAGE,
    UNKNOWN_USER,
    ChannelType,
    Perm,
    _form_error,
)
from tests.fakes.discord.records import MessageRevision, StoredMessage, UploadedFile


class WorldMixin:
    """State builders (silent: call them before the client connects) and the payloads Discord sends."""

    def add_user(
        self, username: str, *, bot: bool = False, global_name: str | None = None, user_id: int | str | None = None
    ) -> dict:
        uid = str(user_id) if user_id is not None else self._ids.next()
        user = {
            "id": uid,
            "username": username,
            "discriminator": "0",
            "global_name": global_name,
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
        }
        if bot:
            user["bot"] = True
        self.users[uid] = user
        return user

    def add_guild(
        self, name: str, *, owner: Any = None, guild_id: int | str | None = None, with_bot: bool = True
    ) -> dict:
        """with_bot=False: a server the bot is not in (its people may still use a user-installed app there)."""
        gid = str(guild_id) if guild_id is not None else self._ids.next()
        owner_id = _sid(owner) if owner is not None else self.bot_user["id"]
        guild = {
            "id": gid,
            "name": name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "owner_id": owner_id,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_members": 500000,
            "vanity_url_code": None,
            "description": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
        }
        self.guilds[gid] = guild
        self.members[gid] = {}
        self.add_role(gid, "@everyone", permissions=Perm.DEFAULT_EVERYONE, role_id=gid)
        if with_bot:
            bot_role = self.add_role(gid, self.bot_user["username"], permissions=self.bot_permissions)
            bot_role.update(managed=True, tags={"bot_id": self.bot_user["id"]})
            self.add_member(gid, self.bot_user, roles=[bot_role])
        if owner_id != self.bot_user["id"]:
            self.add_member(gid, owner_id)
        return guild

    def add_role(self, guild: Any, name: str, *, permissions: int = 0, role_id: int | str | None = None) -> dict:
        g = self._guild(guild)
        role = {
            "id": str(role_id) if role_id is not None else self._ids.next(),
            "name": name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": len(g["roles"]),
            "permissions": str(permissions),
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        g["roles"].append(role)
        return role

    def add_member(self, guild: Any, user: Any, *, roles: Iterable[Any] = (), nick: str | None = None) -> dict:
        gid, u = _sid(guild), self._user(user)
        member = {
            "user": u,
            "nick": nick,
            "avatar": None,
            "banner": None,
            "roles": [_sid(r) for r in roles],
            "joined_at": _iso(),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        self.members[gid][u["id"]] = member
        return member

    def add_text_channel(
        self,
        guild: Any,
        name: str,
        *,
        topic: str | None = None,
        parent_id: Any = None,
        permission_overwrites: Iterable[dict] = (),
        channel_id: int | str | None = None,
    ) -> dict:
        gid = _sid(guild)
        self._guild(gid)
        channel = {
            "id": str(channel_id) if channel_id is not None else self._ids.next(),
            "type": ChannelType.GUILD_TEXT,
            "guild_id": gid,
            "name": name,
            "position": sum(1 for c in self.channels.values() if c.get("guild_id") == gid),
            "permission_overwrites": list(permission_overwrites),
            "parent_id": _sid(parent_id) if parent_id is not None else None,
            "topic": topic,
            "nsfw": False,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "default_auto_archive_duration": 1440,
            "flags": 0,
        }
        self.channels[channel["id"]] = channel
        return channel

    def add_thread(
        self,
        parent: Any,
        name: str,
        *,
        private: bool = False,
        owner: Any = None,
        archived: bool = False,
        locked: bool = False,
        thread_id: int | str | None = None,
    ) -> dict:
        parent_ch = self._channel(parent)
        owner_id = _sid(owner) if owner is not None else self.bot_user["id"]
        now = _iso()
        thread = {
            "id": str(thread_id) if thread_id is not None else self._ids.next(),
            "type": ChannelType.PRIVATE_THREAD if private else ChannelType.PUBLIC_THREAD,
            "guild_id": parent_ch["guild_id"],
            "parent_id": parent_ch["id"],
            "owner_id": owner_id,
            "name": name,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "flags": 0,
            "applied_tags": [],
            "thread_metadata": {
                "archived": archived,
                "auto_archive_duration": 1440,
                "archive_timestamp": now,
                "locked": locked,
                "create_timestamp": now,
            },
        }
        if private:
            thread["thread_metadata"]["invitable"] = True
        self.channels[thread["id"]] = thread
        return thread

    def add_dm_channel(self, user: Any) -> dict:
        u = self._user(user)
        for ch in self.channels.values():
            if ch["type"] == ChannelType.DM and len(ch["recipients"]) == 1 and ch["recipients"][0]["id"] == u["id"]:
                return ch
        channel = {
            "id": self._ids.next(),
            "type": ChannelType.DM,
            "last_message_id": None,
            "flags": 0,
            "recipients": [u],
        }
        self.channels[channel["id"]] = channel
        return channel

    def add_group_dm(self, *users: Any, name: str | None = None) -> dict:
        """A group DM of these people; the bot is not in it (a user-installed app can still be used there)."""
        members = [self._user(u) for u in users]
        channel = {
            "id": self._ids.next(),
            "type": ChannelType.GROUP_DM,
            "last_message_id": None,
            "flags": 0,
            "name": name,
            "icon": None,
            "owner_id": members[0]["id"],
            "recipients": members,
        }
        self.channels[channel["id"]] = channel
        return channel

    def add_dm_between(self, user: Any, other: Any) -> dict:
        """A DM between two people (not with the bot): like a group DM, a user-installed app works there."""
        channel = {
            "id": self._ids.next(),
            "type": ChannelType.DM,
            "last_message_id": None,
            "flags": 0,
            "recipients": [self._user(user), self._user(other)],
        }
        self.channels[channel["id"]] = channel
        return channel

    def bot_sees(self, channel: Any) -> bool:
        """Whether the bot is present where `channel` is: its own DMs, a group DM it is in, a server it is in."""
        ch = self._channel(channel)
        if ch["type"] == ChannelType.DM:
            return len(ch["recipients"]) == 1 or any(u["id"] == self.bot_user["id"] for u in ch["recipients"])
        if ch["type"] == ChannelType.GROUP_DM:
            return any(u["id"] == self.bot_user["id"] for u in ch["recipients"])
        return self.bot_user["id"] in self.members.get(ch.get("guild_id") or "", {})

    def close_dms(self, user: Any) -> None:
        """The user accepts no DM from the bot (privacy settings, or no server in common): the bot's posts in
        their DM channel get 403 50007, as on Discord; interaction responses there still work."""
        self.dms_closed.add(self._user(user)["id"])

    def permissions_for(self, user: Any, channel: Any = None, *, guild: Any = None) -> int:
        """Computed permissions of a member, in a channel if given (Discord's overwrite algorithm)."""
        uid = _sid(user)
        ch = self._channel(channel) if channel is not None else None
        if ch is not None and ch["type"] in ChannelType.THREADS:
            ch = self._channel(ch["parent_id"])
        if ch is not None and "guild_id" not in ch:
            return Perm.ALL & ~(Perm.ADMINISTRATOR | Perm.MANAGE_GUILD)  # DMs: no guild permission model
        g = self._guild(guild if guild is not None else ch["guild_id"])  # type: ignore[index]
        if g["owner_id"] == uid:
            return Perm.ALL
        member = self.members[g["id"]].get(uid)
        role_ids = set(member["roles"]) if member else set()
        roles = {r["id"]: r for r in g["roles"]}
        perms = int(roles[g["id"]]["permissions"])
        for rid in role_ids:
            if rid in roles:
                perms |= int(roles[rid]["permissions"])
        if perms & Perm.ADMINISTRATOR:
            return Perm.ALL
        if ch is None:
            return perms
        overwrites = {o["id"]: o for o in ch.get("permission_overwrites", [])}
        if g["id"] in overwrites:
            perms = perms & ~int(overwrites[g["id"]]["deny"]) | int(overwrites[g["id"]]["allow"])
        allow = deny = 0
        for rid in role_ids:
            if rid in overwrites:
                allow |= int(overwrites[rid]["allow"])
                deny |= int(overwrites[rid]["deny"])
        perms = perms & ~deny | allow
        if uid in overwrites:
            perms = perms & ~int(overwrites[uid]["deny"]) | int(overwrites[uid]["allow"])
        return perms

    # ------------------------------------------------------------------ payload building

    def _user(self, user: Any) -> dict:
        uid = _sid(user)
        if uid not in self.users:
            raise UNKNOWN_USER()
        return self.users[uid]

    def _guild(self, guild: Any) -> dict:
        gid = _sid(guild)
        if gid not in self.guilds:
            raise UNKNOWN_GUILD()
        return self.guilds[gid]

    def _channel(self, channel: Any) -> dict:
        cid = _sid(channel)
        if cid not in self.channels:
            raise UNKNOWN_CHANNEL()
        return self.channels[cid]

    def _visible(self, channel: dict) -> dict:
        """The channel, if the bot may act there with its token; Missing Access where it is not present."""
        if not self.bot_sees(channel["id"]):
            raise MISSING_ACCESS()
        return channel

    def _snapshot(self, source: dict) -> dict:
        """A forwarded message's copy of its source, as Discord's message_snapshots carry it (no author, no id)."""
        keys = ("type", "content", "embeds", "attachments", "timestamp", "edited_timestamp", "flags", "mentions",
                "mention_roles", "components")  # fmt: skip
        return {"message": {k: copy.deepcopy(source[k]) for k in keys if k in source}}

    def _stored(self, channel_id: str, message_id: str) -> StoredMessage:
        stored = self._messages.get(channel_id, {}).get(message_id)
        if stored is None or stored.deleted:
            raise UNKNOWN_MESSAGE()
        return stored

    def _partial_member(self, guild_id: str, user_id: str) -> dict | None:
        member = self.members.get(guild_id, {}).get(user_id)
        return {k: v for k, v in member.items() if k != "user"} if member else None

    def _mentions(self, content: str, guild_id: str | None) -> tuple[list[dict], list[str]]:
        users = []
        for uid in dict.fromkeys(re.findall(r"<@!?(\d+)>", content)):
            if uid in self.users:
                user = copy.deepcopy(self.users[uid])
                member = self._partial_member(guild_id, uid) if guild_id else None
                if member:
                    user["member"] = member
                users.append(user)
        return users, list(dict.fromkeys(re.findall(r"<@&(\d+)>", content)))

    def _attachments(
        self, channel_id: str, body: dict, files: list[UploadedFile], existing: list[dict] | None = None
    ) -> list[dict]:
        """New attachments from files[n] (described by body.attachments[id=n]) plus kept existing ones."""
        described = {str(a.get("id")): a for a in body.get("attachments") or [] if isinstance(a, dict)}
        kept = [a for a in existing or [] if "attachments" not in body or a["id"] in described]
        for f in files:
            index = f.field[len("files[") : -1] if f.field.startswith("files[") else f.field
            meta = described.get(index, {})
            filename = meta.get("filename") or f.filename
            aid = self._ids.next()
            url_path = f"/attachments/{channel_id}/{aid}/{quote(filename)}"
            ctype = f.content_type
            if ctype == "application/octet-stream":
                ctype = mimetypes.guess_type(filename)[0] or ctype
            self._cdn[url_path] = (f.data, ctype)
            att = {
                "id": aid,
                "filename": filename,
                "size": len(f.data),
                "url": self.base_url + url_path,
                "proxy_url": self.base_url + url_path,
                "content_type": ctype,
            }
            if meta.get("description"):
                att["description"] = meta["description"]
            kept.append(att)
        return kept

    def _check_message_body(self, body: dict, files: list[UploadedFile], *, creating: bool) -> None:
        content = body.get("content")
        if isinstance(content, str) and len(content) > self.max_content_length:
            limit = self.max_content_length
            raise _form_error("content", "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
        if creating and not (
            content
            or body.get("embeds")
            or files
            or body.get("components")
            or body.get("sticker_ids")
            or body.get("poll")
        ):
            raise EMPTY_MESSAGE()

    def _build_message(
        self,
        channel: dict,
        author: dict,
        body: dict,
        files: list[UploadedFile],
        *,
        type_: int = 0,
        flags: int = 0,
        extra: dict | None = None,
    ) -> dict:
        cid, gid = channel["id"], channel.get("guild_id")
        content = _text(body.get("content"))
        mentions, mention_roles = self._mentions(content, gid)
        msg: dict[str, Any] = {
            "id": self._ids.next(),
            "channel_id": cid,
            "type": type_,
            "content": content,
            "author": author,
            "timestamp": _iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            "mention_everyone": False,
            "mentions": mentions,
            "mention_roles": mention_roles,
            "attachments": self._attachments(cid, body, files),
            "embeds": body.get("embeds") or [],
            "pinned": False,
            "flags": flags,
            "components": body.get("components") or [],
        }
        if gid:
            msg["guild_id"] = gid
            member = self._partial_member(gid, author["id"])
            if member and not (extra or {}).get("webhook_id"):
                msg["member"] = member
        if body.get("nonce") is not None:
            msg["nonce"] = body["nonce"]
        ref = body.get("message_reference")
        if ref and ref.get("message_id") is not None:
            ref_cid = str(ref.get("channel_id") or cid)
            ref_msg = self._messages.get(ref_cid, {}).get(str(ref["message_id"]))
            if ref_msg is None and ref.get("fail_if_not_exists", True):
                raise _form_error("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
            msg["type"] = 19 if type_ == 0 else type_
            msg["message_reference"] = {"type": 0, "message_id": str(ref["message_id"]), "channel_id": ref_cid}
            if gid:
                msg["message_reference"]["guild_id"] = gid
            msg["referenced_message"] = (
                {k: v for k, v in ref_msg.data.items() if k != "referenced_message"} if ref_msg else None
            )
        forward = body.get("_forward")  # set by the fake's simulated users only
        if forward is not None:
            source = self._stored(forward[0], forward[1]).data
            msg["message_reference"] = {"type": 1, "channel_id": forward[0], "message_id": forward[1]}
            if source.get("guild_id"):
                msg["message_reference"]["guild_id"] = source["guild_id"]
            msg["message_snapshots"] = [self._snapshot(source)]
        if channel["type"] in ChannelType.THREADS:
            msg["position"] = channel["total_message_sent"]
        msg.update(extra or {})
        return msg

    def _store(self, msg: dict) -> StoredMessage:
        stored = StoredMessage(msg["channel_id"], msg["id"], msg)
        stored.history.append(MessageRevision(time.monotonic(), msg["timestamp"], msg["content"], copy.deepcopy(msg)))
        self._messages.setdefault(msg["channel_id"], {})[msg["id"]] = stored
        channel = self.channels.get(msg["channel_id"])
        if channel is not None:
            channel["last_message_id"] = msg["id"]
            if channel["type"] in ChannelType.THREADS:
                channel["message_count"] += 1
                channel["total_message_sent"] += 1
        return stored

    def _apply_edit(self, stored: StoredMessage, body: dict, files: list[UploadedFile]) -> dict:
        msg = stored.data
        if "content" in body:
            msg["content"] = _text(body["content"])
            msg["mentions"], msg["mention_roles"] = self._mentions(msg["content"], msg.get("guild_id"))
        for key in ("embeds", "components"):
            if key in body:
                msg[key] = body[key] or []
        if body.get("flags") is not None:
            msg["flags"] = body["flags"] | (msg["flags"] & FLAG_EPHEMERAL)
        if "attachments" in body or files:
            msg["attachments"] = self._attachments(stored.channel_id, body, files, msg["attachments"])
        msg["flags"] &= ~FLAG_LOADING
        msg["edited_timestamp"] = _iso()
        stored.history.append(
            MessageRevision(time.monotonic(), msg["edited_timestamp"], msg["content"], copy.deepcopy(msg))
        )
        return msg

    async def _dispatch_message(self, event: str, msg: dict) -> None:
        # ephemeral messages never reach the gateway, nor anything where the bot is not present
        if not msg["flags"] & FLAG_EPHEMERAL and self.bot_sees(msg["channel_id"]):
            await self.dispatch(event, msg)

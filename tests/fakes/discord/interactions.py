"""Interactions: simulated slash commands, autocomplete and clicks, their callbacks, webhooks and followups, and
the application commands the bot registers."""

from __future__ import annotations

import copy
import secrets
import time
from typing import Any

from aiohttp import web

from tests.fakes.discord.http import _Ctx, _json, _route, _sid
from tests.fakes.discord.protocol import (
    ALREADY_ACKNOWLEDGED,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    INVALID_WEBHOOK_TOKEN,
    MAX_FOLLOWUPS,
    MISSING_ACCESS,
    PRIVATE_APP_PERMISSIONS,
    UNKNOWN_COMMAND,
    UNKNOWN_INTERACTION,
    UNKNOWN_MESSAGE,
    UNKNOWN_WEBHOOK,
    USER_INSTALL_FOLLOWUPS,
    ChannelType,
    Context,
    Install,
    _form_error,
)
from tests.fakes.discord.records import FakeInteraction, InteractionCallback, StoredMessage, UploadedFile


class InteractionsMixin:
    """INTERACTION_CREATE as a user causes it, and the REST routes that answer it."""

    async def interaction_create(
        self,
        type: int,
        channel_id: Any,
        user: Any,
        *,
        name: str | None = None,
        options: dict[str, Any] | list[dict] | None = None,
        focused: str | None = None,
        command_type: int = 1,
        custom_id: str | None = None,
        component_type: int = 2,
        values: list[str] | None = None,
        message_id: Any = None,
        permissions: int | None = None,
        locale: str = "en-US",
        target: Any = None,
        components: list[dict] | None = None,
        user_install: bool = False,
    ) -> FakeInteraction:
        """Dispatch INTERACTION_CREATE: type 2 (command; `command_type` 3 is a message command on `target`),
        4 (autocomplete, `focused` option), 3 (component) or 5 (modal submit: `custom_id`, `components`).

        options: {name: value} (types inferred) or raw option dicts (for subcommands).
        permissions: override the member's permission bitfield (default: computed for the channel).
        user_install: the person installed the app to their account (`authorizing_integration_owners` "1"). Where
            the bot is not present (a group DM, a server it is not in) only a user install can be used, for commands
            that declare it (`integration_types` 1 and the place's context); there the interaction gets at most
            USER_INSTALL_FOLLOWUPS follow-ups, as on Discord.
        """
        channel, u = self._channel(channel_id), self._user(user)
        gid = channel.get("guild_id")
        present = self.bot_sees(channel["id"])
        if channel["type"] == ChannelType.DM and present:
            context = Context.BOT_DM
        elif channel["type"] in (ChannelType.DM, ChannelType.GROUP_DM):
            context = Context.PRIVATE_CHANNEL
        else:
            context = Context.GUILD
        if not present and not user_install:
            raise ValueError("where the bot is not present only a user-installed app can be used (user_install=True)")
        owners: dict[str, str] = {}
        if present and context == Context.GUILD:
            owners[str(Install.GUILD)] = gid
        elif present:
            owners[str(Install.GUILD)] = "0"
        if user_install:
            owners[str(Install.USER)] = u["id"]
        source: StoredMessage | None = None
        if type in (2, 4):
            if name is None:
                raise ValueError("application command interactions need a name")
            data: dict[str, Any] = {"name": name, "type": command_type}
            if command_type == 1:
                data["options"] = self._options(options, focused)
            command = self._find_command(name, command_type, gid if present else None)
            if command is not None:
                self._check_usable(command, context, owners)
            data["id"] = command["id"] if command else self._ids.next()
            if command and command.get("guild_id"):
                data["guild_id"] = command["guild_id"]
            if command_type == 3:
                if target is None:
                    raise ValueError("message commands need a target message")
                picked = self._stored(channel["id"], _sid(target))
                data["target_id"] = picked.id
                data["resolved"] = {"messages": {picked.id: copy.deepcopy(picked.data)}}
            self._resolve_channel_options(data, u)
        elif type == 3:
            if custom_id is None or message_id is None:
                raise ValueError("component interactions need custom_id and message_id")
            source = self._stored(channel["id"], _sid(message_id))
            data = {"custom_id": custom_id, "component_type": component_type}
            if values is not None:
                data["values"] = values
        elif type == 5:
            if custom_id is None:
                raise ValueError("modal submits need the modal's custom_id")
            data = {"custom_id": custom_id, "components": components or []}
            if message_id is not None:
                source = self._stored(channel["id"], _sid(message_id))
        else:
            raise ValueError(f"unsupported interaction type {type}")
        iid, token = self._ids.next(), "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(120)
        private = context != Context.GUILD
        payload: dict[str, Any] = {
            "id": iid,
            "application_id": self.application_id,
            "type": type,
            "data": data,
            "token": token,
            "version": 1,
            "channel_id": channel["id"],
            "channel": copy.deepcopy(channel),
            "locale": locale,
            "app_permissions": str(
                self.permissions_for(self.bot_user, channel) if present and not private else PRIVATE_APP_PERMISSIONS
            ),
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
            "context": context,
            "authorizing_integration_owners": owners,
        }
        if gid:
            member = self.members[gid].get(u["id"])
            if member is None:
                raise ValueError(f"user {u['id']} is not a member of guild {gid}")
            perms = permissions if permissions is not None else self.permissions_for(u, channel)
            payload.update(
                guild_id=gid,
                guild={"id": gid, "locale": "en-US", "features": []},
                guild_locale="en-US",
                member={**copy.deepcopy(member), "permissions": str(perms)},
            )
        else:
            payload.update(user=copy.deepcopy(u))
        if source is not None:
            payload["message"] = copy.deepcopy(source.data)
        inter = FakeInteraction(
            iid,
            token,
            type,
            channel["id"],
            gid,
            u["id"],
            payload,
            time.monotonic(),
            source_message_id=source.id if source else None,
            bot_present=present,
            followup_limit=None if present else USER_INSTALL_FOLLOWUPS,
            context=context,
        )
        self.interactions[iid] = self._interactions_by_token[token] = inter
        await self.dispatch("INTERACTION_CREATE", payload)
        return inter

    @staticmethod
    def _check_usable(command: dict, context: int, owners: dict[str, str]) -> None:
        """What Discord's client allows: a command shows only in the contexts it declares, and for the installs it
        declares (null: servers and the bot's DMs, server installs only)."""
        contexts = command.get("contexts")
        if contexts is None:
            contexts = [Context.GUILD] + ([Context.BOT_DM] if command.get("dm_permission", True) else [])
        if context not in contexts:
            raise ValueError(f"/{command['name']} is not offered in context {context} (contexts {contexts})")
        installs = {int(k) for k in owners}
        if not installs & set(command.get("integration_types") or [Install.GUILD]):
            raise ValueError(f"/{command['name']} is not offered to installs {sorted(installs)}")

    async def message_command(self, channel_id: Any, user: Any, name: str, target: Any, **kw: Any) -> FakeInteraction:
        """A person picks a message's context-menu command `name`."""
        return await self.interaction_create(2, channel_id, user, name=name, command_type=3, target=target, **kw)

    async def submit_modal(self, shown: FakeInteraction, values: dict[str, Any], **kw: Any) -> FakeInteraction:
        """The person fills the modal the bot showed in answer to `shown` and submits it: {custom_id: value} (a
        select takes a list of values)."""
        modal = shown.modal
        if modal is None:
            raise ValueError("the bot showed no modal")
        rows = []
        for row in modal.get("components") or []:
            children = [row["component"]] if row.get("type") == 18 else row.get("components") or []
            submitted = []
            for child in children:
                if child.get("custom_id") not in values:
                    continue
                value = values[child["custom_id"]]
                entry = {"type": child["type"], "custom_id": child["custom_id"]}
                entry.update({"values": list(value)} if child["type"] == 3 else {"value": value})
                submitted.append(entry)
            if row.get("type") == 18:
                rows += [{"type": 18, "id": row.get("id", 0), "component": item} for item in submitted]
            elif submitted:
                rows.append({"type": 1, "components": submitted})
        user = shown.user_id
        kw.setdefault("user_install", Install.USER_KEY in shown.payload["authorizing_integration_owners"])
        kw.setdefault("message_id", shown.source_message_id)
        return await self.interaction_create(
            5, shown.channel_id, user, custom_id=modal["custom_id"], components=rows, **kw
        )

    async def slash_command(
        self, channel_id: Any, user: Any, name: str, options: Any = None, **kw: Any
    ) -> FakeInteraction:
        return await self.interaction_create(2, channel_id, user, name=name, options=options, **kw)

    async def autocomplete(
        self, channel_id: Any, user: Any, name: str, options: Any, focused: str, **kw: Any
    ) -> FakeInteraction:
        return await self.interaction_create(4, channel_id, user, name=name, options=options, focused=focused, **kw)

    async def component_click(
        self, channel_id: Any, user: Any, message_id: Any, custom_id: str, **kw: Any
    ) -> FakeInteraction:
        return await self.interaction_create(3, channel_id, user, message_id=message_id, custom_id=custom_id, **kw)

    @staticmethod
    def _options(options: dict[str, Any] | list[dict] | None, focused: str | None) -> list[dict]:
        if options is None:
            return []
        if isinstance(options, list):
            return copy.deepcopy(options)
        out = []
        for key, value in options.items():
            # BOOLEAN 5, INTEGER 4, NUMBER 10, else STRING 3 (bool first: it is an int subclass)
            kind = next((k for t, k in ((bool, 5), (int, 4), (float, 10)) if isinstance(value, t)), 3)
            opt: dict[str, Any] = {"name": key, "type": kind, "value": value}
            if key == focused:
                opt["focused"] = True
            out.append(opt)
        return out

    def _resolve_channel_options(self, data: dict, user: dict) -> None:
        """Channel options (type 7) come with the channel resolved, its `permissions` being those of the person who
        invoked the command in that channel, as Discord computes them (overwrites included)."""
        for option in data.get("options") or []:
            if option.get("type") != 7:
                continue
            channel = self._channel(option["value"])
            partial = {
                k: channel[k]
                for k in ("id", "name", "type", "parent_id", "thread_metadata", "owner_id", "member_count",
                          "message_count", "last_message_id", "rate_limit_per_user", "flags")
                if k in channel
            }  # fmt: skip
            partial["permissions"] = str(self.permissions_for(user, channel))
            data.setdefault("resolved", {}).setdefault("channels", {})[channel["id"]] = partial


    def _find_command(self, name: str, command_type: int, guild_id: str | None) -> dict | None:
        for scope in ([guild_id] if guild_id else []) + [None]:
            for cmd in self._commands.get(scope, []):
                if cmd["name"] == name and cmd["type"] == command_type:
                    return cmd
        return None

    # ------------------------------------------------------------------ REST: interactions and webhooks

    @_route("POST", "/interactions/{interaction_id}/{interaction_token}/callback")
    async def _h_interaction_callback(self, ctx: _Ctx) -> web.Response:
        inter = self.interactions.get(ctx.params["interaction_id"])
        if inter is None or inter.token != ctx.params["interaction_token"]:
            raise UNKNOWN_INTERACTION()
        if inter.acknowledged:
            raise ALREADY_ACKNOWLEDGED()
        if time.monotonic() - inter.created_at > self.interaction_response_timeout:
            raise UNKNOWN_INTERACTION()  # what Discord answers after the 3 s window
        body = ctx.json or {}
        ctype, data = body.get("type"), body.get("data") or {}
        allowed = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}[inter.type]
        if ctype not in allowed:
            raise _form_error("type", "INTERACTION_RESPONSE_TYPE_INVALID", f"Response type {ctype} is not valid here")
        channel = self._channel(inter.channel_id)
        msg = None
        if ctype in (4, 5):
            self._check_message_body(data, ctx.files, creating=ctype == 4)
            flags = (data.get("flags") or 0) | (FLAG_LOADING if ctype == 5 else 0)
            content_body = data if ctype == 4 else {"flags": data.get("flags")}
            msg = self._interaction_message(inter, channel, content_body, ctx.files, flags)
            inter.original_message_id = msg["id"]
        elif ctype in (6, 7):
            inter.original_message_id = inter.source_message_id
            if ctype == 7 and inter.source_message_id is not None:
                self._check_message_body(data, ctx.files, creating=False)
                stored = self._stored(inter.channel_id, inter.source_message_id)
                msg = self._apply_edit(stored, data, ctx.files)
                await self._dispatch_message("MESSAGE_UPDATE", msg)
        inter.callbacks.append(InteractionCallback(ctype, data, ctx.files, time.monotonic()))
        if msg is not None and ctype in (4, 5):
            await self._dispatch_message("MESSAGE_CREATE", msg)
        if ctx.query.get("with_response", "").lower() not in ("1", "true"):
            return web.Response(status=204)
        result: dict[str, Any] = {
            "interaction": {
                "id": inter.id,
                "type": inter.type,
                "response_message_loading": ctype == 5,
                "response_message_ephemeral": bool(msg and msg["flags"] & FLAG_EPHEMERAL),
            }
        }
        if inter.original_message_id:
            result["interaction"]["response_message_id"] = inter.original_message_id
        result["resource"] = {"type": ctype}
        if msg is not None:
            result["resource"]["message"] = msg
        return _json(result)

    def _interaction_message(
        self, inter: FakeInteraction, channel: dict, body: dict, files: list[UploadedFile], flags: int
    ) -> dict:
        user = self.users[inter.user_id]
        metadata: dict[str, Any] = {
            "id": inter.id,
            "type": inter.type,
            "user": user,
            "authorizing_integration_owners": inter.payload["authorizing_integration_owners"],
        }
        extra: dict[str, Any] = {
            "webhook_id": self.application_id,
            "application_id": self.application_id,
            "interaction_metadata": metadata,
        }
        if inter.type == 2:
            metadata["name"] = inter.payload["data"]["name"]
            metadata["command_type"] = inter.payload["data"]["type"]
            extra["interaction"] = {"id": inter.id, "type": 2, "name": metadata["name"], "user": user}
        msg = self._build_message(
            channel,
            copy.deepcopy(self.bot_user),
            body,
            files,
            type_=20 if inter.type == 2 else 0,
            flags=flags,
            extra=extra,
        )
        self._store(msg)
        return msg

    def _webhook_interaction(self, ctx: _Ctx) -> FakeInteraction:
        inter = self._interactions_by_token.get(ctx.params["webhook_token"])
        if inter is None or ctx.params["webhook_id"] != self.application_id:
            raise UNKNOWN_WEBHOOK()
        if time.monotonic() - inter.created_at > self.interaction_token_seconds:
            raise INVALID_WEBHOOK_TOKEN()
        return inter

    def _interaction_message_id(self, inter: FakeInteraction, raw_id: str) -> str:
        mid = inter.original_message_id if raw_id == "@original" else raw_id
        if mid is None or (mid != inter.original_message_id and mid not in inter.followup_message_ids):
            raise UNKNOWN_MESSAGE()
        return mid

    @_route("POST", "/webhooks/{webhook_id}/{webhook_token}")
    async def _h_followup(self, ctx: _Ctx) -> web.Response:
        inter = self._webhook_interaction(ctx)
        if not inter.acknowledged:
            raise UNKNOWN_WEBHOOK()  # follow-ups need an initial response first
        body = ctx.json or {}
        self._check_message_body(body, ctx.files, creating=True)
        if inter.followup_limit is not None and inter.followups_sent >= inter.followup_limit:
            raise MAX_FOLLOWUPS()
        inter.followups_sent += 1
        original = self.original_response(inter)
        if original is not None and not original.deleted and original.data["flags"] & FLAG_LOADING:
            # The first follow-up after a deferred ("thinking") response replaces that message.
            msg = self._apply_edit(original, body, ctx.files)
            await self._dispatch_message("MESSAGE_UPDATE", msg)
        else:
            msg = self._interaction_message(
                inter, self._channel(inter.channel_id), body, ctx.files, body.get("flags") or 0
            )
            inter.followup_message_ids.append(msg["id"])
            await self._dispatch_message("MESSAGE_CREATE", msg)
        if ctx.query.get("wait", "").lower() in ("1", "true"):
            return _json(msg)
        return web.Response(status=204)

    @_route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/@original")
    @_route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
    async def _h_webhook_get(self, ctx: _Ctx) -> web.Response:
        inter = self._webhook_interaction(ctx)
        mid = self._interaction_message_id(inter, ctx.params.get("message_id", "@original"))
        return _json(self._stored(inter.channel_id, mid).data)

    @_route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original")
    @_route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
    async def _h_webhook_edit(self, ctx: _Ctx) -> web.Response:
        inter = self._webhook_interaction(ctx)
        mid = self._interaction_message_id(inter, ctx.params.get("message_id", "@original"))
        self._check_message_body(ctx.json or {}, ctx.files, creating=False)
        msg = self._apply_edit(self._stored(inter.channel_id, mid), ctx.json or {}, ctx.files)
        await self._dispatch_message("MESSAGE_UPDATE", msg)
        return _json(msg)

    @_route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/@original")
    @_route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
    async def _h_webhook_delete(self, ctx: _Ctx) -> web.Response:
        inter = self._webhook_interaction(ctx)
        mid = self._interaction_message_id(inter, ctx.params.get("message_id", "@original"))
        await self._delete_message(self._stored(inter.channel_id, mid))
        return web.Response(status=204)

    # ------------------------------------------------------------------ REST: application commands

    def _scope(self, ctx: _Ctx) -> str | None:
        if ctx.params["application_id"] != self.application_id:
            raise MISSING_ACCESS()
        gid = ctx.params.get("guild_id")
        if gid is not None:
            self._guild(gid)
        return gid

    def _command(self, scope: str | None, body: dict, existing: dict | None) -> dict:
        cmd = {
            "id": existing["id"] if existing else self._ids.next(),
            "application_id": self.application_id,
            "version": self._ids.next(),
            "type": body.get("type") or 1,
            "name": body["name"],
            "name_localizations": body.get("name_localizations"),
            "description": body.get("description") or "",
            "description_localizations": body.get("description_localizations"),
            "options": body.get("options") or [],
            "nsfw": bool(body.get("nsfw")),
            "default_member_permissions": (
                None if body.get("default_member_permissions") is None else str(body["default_member_permissions"])
            ),
            "contexts": body.get("contexts"),
            "integration_types": body.get("integration_types") or [0],
        }
        if scope is None:
            cmd["dm_permission"] = body.get("dm_permission", True)
        else:
            cmd["guild_id"] = scope
        return cmd

    @_route("GET", "/applications/{application_id}/commands")
    @_route("GET", "/applications/{application_id}/guilds/{guild_id}/commands")
    async def _h_list_commands(self, ctx: _Ctx) -> web.Response:
        return _json(self._commands.get(self._scope(ctx), []))

    @_route("PUT", "/applications/{application_id}/commands")
    @_route("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
    async def _h_bulk_overwrite_commands(self, ctx: _Ctx) -> web.Response:
        scope = self._scope(ctx)
        self.command_put_calls.append((scope, time.monotonic(), ctx.json))
        old = {(c["name"], c["type"]): c for c in self._commands.get(scope, [])}
        new = [self._command(scope, b, old.get((b.get("name"), b.get("type") or 1))) for b in ctx.json or []]
        self._commands[scope] = new
        return _json(new)

    @_route("POST", "/applications/{application_id}/commands")
    @_route("POST", "/applications/{application_id}/guilds/{guild_id}/commands")
    async def _h_upsert_command(self, ctx: _Ctx) -> web.Response:
        scope, body = self._scope(ctx), ctx.json or {}
        commands = self._commands.setdefault(scope, [])
        old = next((c for c in commands if (c["name"], c["type"]) == (body.get("name"), body.get("type") or 1)), None)
        cmd = self._command(scope, body, old)
        commands[:] = [c for c in commands if c is not old] + [cmd]
        return _json(cmd, status=200 if old else 201)

    @_route("DELETE", "/applications/{application_id}/commands/{command_id}")
    @_route("DELETE", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
    async def _h_delete_command(self, ctx: _Ctx) -> web.Response:
        commands = self._commands.get(self._scope(ctx), [])
        if not any(c["id"] == ctx.params["command_id"] for c in commands):
            raise UNKNOWN_COMMAND()
        commands[:] = [c for c in commands if c["id"] != ctx.params["command_id"]]
        return web.Response(status=204)

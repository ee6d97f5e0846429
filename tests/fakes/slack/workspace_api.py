"""Web API methods: assistant threads, conversations, users, views, files and reactions."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

from tests.fakes.slack.protocol import _ApiError, _flag
from tests.fakes.slack.records import Channel


class WorkspaceApiMixin:
    """Handlers of the Web API's assistant, conversations, users, views, files and reactions methods."""

    # ----- assistant threads

    def _assistant(self, channel_id: str, thread_ts: str) -> dict:
        return self.assistant_threads.setdefault(
            (channel_id, thread_ts),
            {
                "status": "",
                "status_history": [],
                "loading_messages": None,
                "prompts": None,
                "prompts_title": None,
                "title": None,
            },
        )

    def _clear_assistant_status(self, channel_id: str, thread_ts: str, method: str) -> None:
        th = self.assistant_threads.get((channel_id, thread_ts))
        if th and th["status"]:
            th["status"] = ""
            th["status_history"].append({"status": "", "at": time.monotonic(), "cleared_by": method})

    def _assistant_set_status(self, p: dict) -> dict:
        ch = self._channel(p.get("channel_id"))
        if not p.get("thread_ts") or "status" not in p:
            raise _ApiError("invalid_arguments")
        th = self._assistant(ch.id, p["thread_ts"])
        th["status"], th["loading_messages"] = p["status"], p.get("loading_messages")
        th["status_history"].append({"status": p["status"], "at": time.monotonic()})
        return {}

    def _assistant_set_prompts(self, p: dict) -> dict:
        ch = self._channel(p.get("channel_id"))
        if not isinstance(p.get("prompts"), list):
            raise _ApiError("invalid_arguments")
        th = self._assistant(ch.id, p.get("thread_ts") or "")
        th["prompts"], th["prompts_title"] = p["prompts"], p.get("title")
        return {}

    def _assistant_set_title(self, p: dict) -> dict:
        ch = self._channel(p.get("channel_id"))
        if not p.get("thread_ts") or not p.get("title"):
            raise _ApiError("invalid_arguments")
        self._assistant(ch.id, p["thread_ts"])["title"] = p["title"]
        return {}

    # ----- conversations & users

    @staticmethod
    def _page(items: list, p: dict) -> dict:
        limit = int(p.get("limit") or 100)
        cursor = p.get("cursor")
        start = int(base64.b64decode(cursor).decode().split(":")[1]) if cursor else 0
        page = items[start : start + limit]
        more = start + limit < len(items)
        nxt = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        return {"messages": page, "has_more": more, "response_metadata": {"next_cursor": nxt}}

    @staticmethod
    def _in_range(ts: str, p: dict) -> bool:
        inclusive = _flag(p.get("inclusive"))
        oldest, latest = p.get("oldest"), p.get("latest")
        if oldest and (float(ts) < float(oldest) or (not inclusive and float(ts) == float(oldest))):
            return False
        if latest and (float(ts) > float(latest) or (not inclusive and float(ts) == float(latest))):
            return False
        return True

    def _history_page(self, p: dict) -> dict:
        """The request's `limit` as Slack applies it: default 100 (replies: 1000), at most `history_max_items`."""
        asked = int(p.get("limit") or 100)
        return {**p, "limit": max(1, min(asked, self.history_max_items))}

    def _check_reader(self, ch: Channel) -> None:
        if ch.members is not None and self.bot_user_id not in ch.members:
            raise _ApiError("not_in_channel")

    def _conversations_members(self, p: dict) -> dict:
        ch = self._channel(p.get("channel"))
        members = ch.members if ch.members is not None else [u for u in self.users if not u.startswith("B")]
        if ch.type == "im":
            members = [self.bot_user_id, ch.user]
        limit = int(p.get("limit") or 100)
        cursor = p.get("cursor")
        start = int(base64.b64decode(cursor).decode().split(":")[1]) if cursor else 0
        page = members[start : start + limit]
        more = start + limit < len(members)
        nxt = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        return {"members": page, "response_metadata": {"next_cursor": nxt}}

    def _conversations_replies(self, p: dict) -> dict:
        ch = self._channel(p.get("channel"))
        self._check_reader(ch)
        p = self._history_page(p)
        ts = p.get("ts")
        msgs = [m for m in self._thread_messages(ch, ts) if not m.deleted]
        if not msgs and (ch.id, ts) not in self.assistant_threads:
            raise _ApiError("thread_not_found")
        meta = _flag(p.get("include_all_metadata"))
        # The parent always comes first, whatever oldest/latest say.
        out = [self._api_message(m, with_metadata=meta) for m in msgs if m.ts == ts]
        out += [self._api_message(m, with_metadata=meta) for m in msgs if m.ts != ts and self._in_range(m.ts, p)]
        return self._page(out, p)

    def _conversations_history(self, p: dict) -> dict:
        ch = self._channel(p.get("channel"))
        self._check_reader(ch)
        p = self._history_page(p)
        top = [m for m in ch.messages.values() if not m.deleted and (not m.is_reply or m.broadcast)]
        top = [m for m in sorted(top, key=lambda m: m.ts, reverse=True) if self._in_range(m.ts, p)]
        meta = _flag(p.get("include_all_metadata"))
        return self._page([self._api_message(m, with_metadata=meta) for m in top], p)

    def _channel_info(self, ch: Channel) -> dict:
        d = {
            "id": ch.id,
            "created": 1700000000,
            "is_archived": False,
            "is_channel": ch.type in ("channel", "private"),
            "is_group": False,
            "is_im": ch.type == "im",
            "is_mpim": ch.type == "mpim",
            "is_private": ch.type != "channel",
            "context_team_id": self.team_id,
        }
        if ch.type == "im":
            d.update(user=ch.user, is_open=True, is_user_deleted=False)
        else:
            member = ch.members is None or self.bot_user_id in ch.members
            d.update(name=ch.name, is_member=member, is_general=ch.id == self.default_channel_id)
        return d

    def _conversations_info(self, p: dict) -> dict:
        return {"channel": self._channel_info(self._channel(p.get("channel")))}

    def _conversations_open(self, p: dict) -> dict:
        if p.get("channel"):
            return {"channel": self._channel_info(self._channel(p["channel"]))}
        users = [u for u in str(p.get("users") or "").split(",") if u]
        if not users:
            raise _ApiError("users_list_not_supplied")
        for u in users:
            self._user(u)
        if len(users) == 1:
            ch = next((c for c in self.channels.values() if c.type == "im" and c.user == users[0]), None)
            ch = ch or self.add_channel(self._new_id("D"), "im", user=users[0])
        else:
            ch = self.add_channel(self._new_id("G"), "mpim", name="mpdm-" + "--".join(users))
        full = _flag(p.get("return_im"))
        return {"channel": self._channel_info(ch) if full else {"id": ch.id}}

    def _user(self, user_id: Any) -> dict:
        user = self.users.get(user_id)
        if user is None and self.auto_create and isinstance(user_id, str) and user_id[:1] in "UW":
            user = self.add_user(user_id, user_id.lower())
        if user is None:
            raise _ApiError("user_not_found")
        return user

    def _users_info(self, p: dict) -> dict:
        return {"user": self._user(p.get("user"))}

    def _apps_user_connection_update(self, p: dict) -> dict:
        """Per-user account connection (specs: apps.user.connection.update): user_id and status are required,
        status is connected or disconnected; the user must exist."""
        status = p.get("status")
        if not p.get("user_id") or not status:
            raise _ApiError("invalid_arguments")
        if status not in ("connected", "disconnected"):
            raise _ApiError("invalid_arguments")
        self._user(p["user_id"])
        self.user_connections[p["user_id"]] = status
        return {}

    # ----- views

    def _store_view(self, view: Any, *, view_id: str | None = None, **extra: Any) -> dict:
        if not isinstance(view, dict) or "type" not in view:
            raise _ApiError("invalid_arguments")
        view_id = view_id or self._new_id("V")
        stored = {
            "id": view_id,
            "team_id": self.team_id,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
            "app_installed_team_id": self.team_id,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "root_view_id": view_id,
            "previous_view_id": None,
            "clear_on_close": False,
            "notify_on_close": False,
            **view,
            **extra,
        }
        self.views[view_id] = stored
        return stored

    def _views_publish(self, p: dict) -> dict:
        user = self._user(p.get("user_id"))
        old = self.views.get(self.home_views.get(user["id"], ""))
        if old and p.get("hash") and p["hash"] != old["hash"]:
            raise _ApiError("hash_conflict")
        view = self._store_view(p.get("view"), view_id=old["id"] if old else None)
        self.home_views[user["id"]] = view["id"]
        return {"view": view}

    def _views_open(self, p: dict) -> dict:
        trigger = p.get("trigger_id") or p.get("interactivity_pointer")
        if trigger not in self._triggers:
            raise _ApiError("invalid_trigger_id")
        issued = self._triggers[trigger]
        if issued is None:
            raise _ApiError("trigger_exchanged")
        if time.monotonic() - issued > self.trigger_ttl:
            raise _ApiError("expired_trigger_id")
        self._triggers[trigger] = None
        return {"view": self._store_view(p.get("view"))}

    def _views_update(self, p: dict) -> dict:
        view_id = p.get("view_id")
        if not view_id and p.get("external_id"):
            view_id = next((v["id"] for v in self.views.values() if v.get("external_id") == p["external_id"]), None)
        old = self.views.get(view_id or "")
        if old is None:
            raise _ApiError("not_found")
        if p.get("hash") and p["hash"] != old["hash"]:
            raise _ApiError("hash_conflict")
        return {"view": self._store_view(p.get("view"), view_id=old["id"], previous_view_id=old["id"])}

    # ----- files (files_upload_v2 = getUploadURLExternal + POST bytes + completeUploadExternal)

    def _files_get_upload_url(self, p: dict) -> dict:
        if not p.get("filename") or not str(p.get("length", "")).isdigit():
            raise _ApiError("invalid_arguments")
        file_id = self._new_id("F")
        self.files[file_id] = {"id": file_id, "name": p["filename"], "length": int(p["length"]), "content": None}
        return {"upload_url": f"{self.base_url}/upload/v1/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, p: dict) -> dict:
        entries = p.get("files")
        if not isinstance(entries, list) or not entries:
            raise _ApiError("invalid_arguments")
        done = []
        for entry in entries:
            f = self.files.get(entry.get("id"))
            if f is None:
                raise _ApiError("file_not_found")
            if f["content"] is None:
                raise _ApiError("file_upload_not_completed")
            f["title"] = entry.get("title") or f["name"]
            done.append(
                {
                    "id": f["id"],
                    "name": f["name"],
                    "title": f["title"],
                    "size": len(f["content"]),
                    "mimetype": "text/plain",
                    "url_private": f"{self.base_url}/files/{f['id']}",
                    "permalink": f"https://{self.team_domain}.slack.com/files/{self.bot_user_id}/{f['id']}",
                }
            )
        channel_id = p.get("channel_id") or (str(p.get("channels") or "").split(",")[0] or None)
        if channel_id:
            ch = self._channel(channel_id)
            msg = self._bot_post(
                ch,
                "files.completeUploadExternal",
                thread_ts=p.get("thread_ts"),
                text=p.get("initial_comment") or "",
                files=done,
            )
            for f in done:
                self.files[f["id"]].update(channel=ch.id, ts=msg.ts, thread_ts=msg.thread_ts)
        return {"files": done}

    # ----- reactions

    def _reactions_add(self, p: dict) -> dict:
        msg = self._get_message(self._channel(p.get("channel")), p.get("timestamp"))
        users = msg.reactions.setdefault(str(p.get("name")), [])
        if self.bot_user_id in users:
            raise _ApiError("already_reacted")
        users.append(self.bot_user_id)
        return {}

    def _reactions_remove(self, p: dict) -> dict:
        msg = self._get_message(self._channel(p.get("channel")), p.get("timestamp"))
        users = msg.reactions.get(str(p.get("name")), [])
        if self.bot_user_id not in users:
            raise _ApiError("no_reaction")
        users.remove(self.bot_user_id)
        if not users:
            del msg.reactions[str(p.get("name"))]
        return {}

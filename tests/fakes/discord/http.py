"""HTTP plumbing: JSON answers as discord.py expects them, ids, snowflakes, and the route table."""

from __future__ import annotations

import datetime
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from tests.fakes.discord.protocol import DISCORD_EPOCH_MS
from tests.fakes.discord.records import UploadedFile

# --------------------------------------------------------------------------- helpers


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly "application/json": discord.py compares the header verbatim and would treat
    # aiohttp's "application/json; charset=utf-8" as plain text.
    return web.Response(body=json.dumps(body).encode(), status=status, headers=headers, content_type="application/json")


def _text(value: Any) -> str:
    """Message content as Discord stores it (a spec-violating non-string still gets stored, visibly)."""
    return "" if value is None else value if isinstance(value, str) else json.dumps(value)


def _iso(ts: float | None = None) -> str:
    return datetime.datetime.fromtimestamp(time.time() if ts is None else ts, datetime.UTC).isoformat()


def _sid(obj: Any) -> str:
    """Accept an id as int/str, a payload dict or a discord.py object; return Discord's string form."""
    if isinstance(obj, dict):
        obj = obj["id"]
    elif hasattr(obj, "id"):
        obj = obj.id
    return str(int(obj))


class _Snowflakes:
    """Real-looking snowflakes: timestamp since the Discord epoch, strictly increasing."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> str:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22 | 1 << 17
        self._last = max(candidate, self._last + 1)
        return str(self._last)


class _RouteMatcher:
    """Match concrete paths to templates; literal segments beat parameters (/users/@me > /users/{id})."""

    def __init__(self, templates: Iterable[str]):
        self._by_len: dict[int, list[tuple[str, re.Pattern[str]]]] = {}
        specificity = lambda t: [s.startswith("{") for s in t.strip("/").split("/")]  # noqa: E731
        for template in sorted(set(templates), key=specificity):
            segs = template.strip("/").split("/")
            rx = "/".join(f"(?P<{s[1:-1]}>[^/]+)" if s.startswith("{") else re.escape(s) for s in segs)
            self._by_len.setdefault(len(segs), []).append((template, re.compile(f"^{rx}$")))

    def match(self, path: str) -> tuple[str | None, dict[str, str]]:
        stripped = path.strip("/")
        for template, rx in self._by_len.get(len(stripped.split("/")), []):
            m = rx.match(stripped)
            if m:
                return template, {k: unquote(v) for k, v in m.groupdict().items()}
        return None, {}


_ROUTES: dict[tuple[str, str], str] = {}


def _route(method: str, template: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        _ROUTES[(method, template)] = fn.__name__
        return fn

    return deco


@dataclass
class _Ctx:
    method: str
    path: str
    route: str
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    files: list[UploadedFile]

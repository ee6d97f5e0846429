"""MCP servers as tool sources: admins list servers (stdio commands or streamable-HTTP URLs) in
MCP_SERVERS; their tools are offered to models that support tools, named `server__tool`.

Each server is held open by one task of its own, since the MCP SDK's transports are anyio contexts that
must close in the task that opened them; calls from answers go through that open session. A server that
fails to start or dies is retried at the next answer, at most once per `RETRY_SECONDS`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from core.tools.base import Tool, ToolError, ToolResult

log = logging.getLogger(__name__)

RETRY_SECONDS = 30.0
START_TIMEOUT = 20.0
_NAME = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class McpServerConfig:
    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    url: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


def parse_servers(text: str | None) -> list[McpServerConfig]:
    """MCP_SERVERS as configs; ValueError with a readable reason."""
    if not text or not text.strip():
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at character {exc.pos})") from None
    if isinstance(data, dict):
        data = [dict(entry, name=entry.get("name", name)) for name, entry in data.items() if isinstance(entry, dict)]
    if not isinstance(data, list):
        raise ValueError("expected a JSON list of servers")
    servers, names = [], set()
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise ValueError(f"server {index + 1} is not a JSON object")
        name = _NAME.sub("_", str(entry.get("name") or f"mcp{index + 1}"))[:24]
        if name in names:
            raise ValueError(f"two servers are called {name!r}")
        names.add(name)
        command, url = entry.get("command"), entry.get("url")
        if bool(command) == bool(url):
            raise ValueError(f"server {name!r} needs either a command (stdio) or a url (streamable HTTP)")
        if url and not str(url).startswith(("http://", "https://")):
            raise ValueError(f"server {name!r}: the url must start with http:// or https://")
        args, env, headers = entry.get("args", []), entry.get("env", {}), entry.get("headers", {})
        if not isinstance(args, list) or not isinstance(env, dict) or not isinstance(headers, dict):
            raise ValueError(f"server {name!r}: args is a list, env and headers are objects")
        servers.append(
            McpServerConfig(
                name=name,
                command=str(command) if command else None,
                args=tuple(str(a) for a in args),
                env=tuple((str(k), str(v)) for k, v in env.items()),
                url=str(url) if url else None,
                headers=tuple((str(k), str(v)) for k, v in headers.items()),
            )
        )
    return servers


def tool_name(server: str, tool: str) -> str:
    """A function name the OpenAI API accepts: ^[A-Za-z0-9_-]{1,64}$."""
    return _NAME.sub("_", f"{server}__{tool}")[:64]


@dataclass
class McpConnection:
    config: McpServerConfig
    tools: list[Any] = field(default_factory=list)  # mcp Tool objects as the server listed them
    error: str = ""
    failed_at: float = 0.0
    _client: Any = None
    _task: asyncio.Task | None = None
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    _closing: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def connected(self) -> bool:
        return self._client is not None and self._task is not None and not self._task.done()

    def _target(self):
        from mcp import StdioServerParameters

        if self.config.url:
            if self.config.headers:
                import httpx2
                from mcp.client.streamable_http import streamable_http_client

                client = httpx2.AsyncClient(headers=dict(self.config.headers))
                return streamable_http_client(self.config.url, http_client=client)
            return self.config.url
        return StdioServerParameters(
            command=self.config.command or "", args=list(self.config.args), env=dict(self.config.env) or None
        )

    async def start(self, wait: float = START_TIMEOUT) -> None:
        self._ready.clear()
        self._closing.clear()
        self._task = asyncio.create_task(self._hold(), name=f"mcp-{self.config.name}")
        try:
            await asyncio.wait_for(self._ready.wait(), wait)
        except TimeoutError:
            self.error = "did not start in time"
            await self.close()
        if not self.connected:
            self.failed_at = time.monotonic()
            log.warning("MCP server %s unavailable: %s", self.config.name, self.error or "stopped")

    async def _hold(self) -> None:
        from mcp import Client

        try:
            async with Client(self._target()) as client:
                tools, cursor = [], None
                for _page in range(20):
                    listed = await client.list_tools(cursor=cursor)
                    tools += listed.tools
                    cursor = listed.next_cursor
                    if not cursor:
                        break
                self.tools, self.error, self._client = tools, "", client
                log.info("MCP server %s: %d tools", self.config.name, len(tools))
                self._ready.set()
                await self._closing.wait()
        except Exception as exc:
            self.error = type(exc).__name__
        finally:
            self._client = None
            self._ready.set()

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        client = self._client
        if client is None:
            raise ToolError(f"The MCP server `{self.config.name}` is not connected.")
        result = await client.call_tool(name, arguments)
        parts = []
        for block in result.content or ():
            kind = getattr(block, "type", "")
            if kind == "text":
                parts.append(block.text)
            elif kind == "resource_link":
                parts.append(f"{getattr(block, 'name', '')} {getattr(block, 'uri', '')}".strip())
            else:
                parts.append(f"[{kind or 'content'} not shown]")
        if not parts and result.structured_content is not None:
            parts.append(json.dumps(result.structured_content, ensure_ascii=False, default=str))
        text = "\n".join(parts) or "(no output)"
        return ToolResult(f"Error: {text}" if result.is_error else text, is_error=bool(result.is_error))

    async def close(self) -> None:
        self._closing.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 5)
            except (TimeoutError, Exception):
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        self._client = None


class McpManager:
    """Every configured server; connected on first use, tools offered as `server__tool`."""

    def __init__(self, configs: list[McpServerConfig], start_timeout: float = START_TIMEOUT):
        self.connections = [McpConnection(config) for config in configs]
        self.start_timeout = start_timeout
        self._lock = asyncio.Lock()

    def __bool__(self) -> bool:
        return bool(self.connections)

    async def _ensure(self) -> None:
        async with self._lock:
            due = [
                c
                for c in self.connections
                if not c.connected and (not c.failed_at or time.monotonic() - c.failed_at >= RETRY_SECONDS)
            ]
            await asyncio.gather(*(c.start(self.start_timeout) for c in due))

    async def tools(self) -> list[Tool]:
        if not self.connections:
            return []
        await self._ensure()
        offered = []
        for connection in self.connections:
            if not connection.connected:
                continue
            for listed in connection.tools:
                offered.append(_as_tool(connection, listed))
        return offered

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.connections), return_exceptions=True)


def _as_tool(connection: McpConnection, listed) -> Tool:
    server, name = connection.config.name, listed.name
    schema = listed.input_schema if isinstance(listed.input_schema, dict) else {}
    schema = schema or {"type": "object", "properties": {}}

    async def handler(arguments: dict[str, Any]) -> ToolResult:
        return await connection.call(name, arguments)

    title = getattr(listed, "title", None) or name
    return Tool(
        name=tool_name(server, name),
        description=(listed.description or title)[:1024] + f" (from the {server} MCP server)",
        parameters=schema,
        handler=handler,
        progress=lambda _a: f"🛠️ *Using `{title}` ({server})…*",
    )

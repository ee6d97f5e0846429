"""A tool is a name, a JSON schema for its arguments, a handler, and a line saying what it is doing."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


class ToolError(Exception):
    """A failure the model should hear about (bad arguments, a refused URL, a search that failed)."""


@dataclass(frozen=True, slots=True)
class Source:
    title: str
    url: str


@dataclass(slots=True)
class ToolResult:
    text: str
    sources: list[Source] = field(default_factory=list)
    is_error: bool = False


class SourceBook:
    """The sources one answer has seen, numbered once across every tool call (by URL)."""

    def __init__(self) -> None:
        self.entries: list[Source] = []
        self._numbers: dict[str, int] = {}

    def add(self, title: str, url: str) -> int:
        number = self._numbers.get(url)
        if number is None:
            self.entries.append(Source(title or url, url))
            number = self._numbers[url] = len(self.entries)
        return number

    def __bool__(self) -> bool:
        return bool(self.entries)


Handler = Callable[[dict[str, Any]], Awaitable[ToolResult | str]]


@dataclass(slots=True)
class Tool:
    name: str
    description: str
    parameters: dict  # JSON schema of the arguments object
    handler: Handler
    progress: Callable[[dict[str, Any]], str] | None = None  # "🔎 Searching the web for …"
    time_limit: float | None = None  # its own limit instead of the call timeout (a question waits for a person)

    def spec(self) -> dict:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def describe(self, arguments: dict[str, Any]) -> str:
        if self.progress is not None:
            try:
                return self.progress(arguments)
            except Exception:
                pass
        return f"🛠️ *Using `{self.name}`…*"


def parse_arguments(raw: str) -> dict[str, Any]:
    """The arguments the model wrote; ToolError (fed back to it) when they are not a JSON object."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ToolError(f"The arguments are not valid JSON ({exc.msg}). Send a JSON object.") from None
    if not isinstance(value, dict):
        raise ToolError("The arguments must be a JSON object.")
    return value


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ToolRegistry:
    """The tools one answer may use, by name."""

    def __init__(self, tools: list[Tool] | None = None):
        self._tools: dict[str, Tool] = {}
        self.sources = SourceBook()
        for tool in tools or ():
            self.add(tool)

    def add(self, tool: Tool) -> None:
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return list(self._tools)

    def specs(self) -> list[dict]:
        return [tool.spec() for tool in self._tools.values()]

    def __bool__(self) -> bool:
        return bool(self._tools)

    def __len__(self) -> int:
        return len(self._tools)

    async def run(self, name: str, raw_arguments: str, time_limit: float) -> ToolResult:
        """Run one call; every failure becomes an error result the model can read and react to."""
        tool = self._tools.get(name)
        if tool is None:
            return ToolResult(f"Error: there is no tool `{name}`. Tools: {', '.join(self._tools)}.", is_error=True)
        time_limit = tool.time_limit or time_limit
        try:
            arguments = parse_arguments(raw_arguments)
            async with asyncio.timeout(time_limit):
                result = await tool.handler(arguments)
        except ToolError as exc:
            return ToolResult(f"Error: {exc}", is_error=True)
        except TimeoutError:
            log.info("tool %s timed out after %.1f s", name, time_limit)
            return ToolResult(f"Error: `{name}` did not finish within {time_limit:g} seconds.", is_error=True)
        except Exception as exc:
            log.warning("tool %s failed: %s", name, type(exc).__name__)
            return ToolResult(f"Error: `{name}` failed ({type(exc).__name__}).", is_error=True)
        return result if isinstance(result, ToolResult) else ToolResult(str(result))

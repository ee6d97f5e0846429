"""Which tools an answer gets, and the stream that runs them.

Web tools when the plan allows web search (the assistant may, or `web_search on`); MCP tools whenever
servers are configured; none at all for a model the catalog does not know to support tools, which
then answers normally.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from core.models.catalog import ModelCatalog
from core.models.omni import Failures
from core.router.client import ChatRequest, StreamEvent
from core.tools.base import ToolRegistry
from core.tools.fetch import SafeFetcher
from core.tools.loop import run_with_tools
from core.tools.mcp import McpManager, parse_servers
from core.tools.search import SearchProvider, provider_from_settings
from core.tools.web import fetch_url_tool, web_search_tool


class ToolService:
    def __init__(
        self,
        settings,
        *,
        search: SearchProvider | None = None,
        fetcher: SafeFetcher | None = None,
        mcp: McpManager | None = None,
    ):
        self.settings = settings
        self.fetcher = fetcher or SafeFetcher.from_settings(settings)
        self.search = search or provider_from_settings(settings)
        self.mcp = mcp if mcp is not None else McpManager(parse_servers(settings.mcp_servers))

    @staticmethod
    def model_supports_tools(catalog: ModelCatalog, model: str) -> bool:
        info = catalog.get(model)
        return bool(info and info.tools)

    async def registry_for(self, catalog: ModelCatalog, model: str, *, web_search: bool) -> ToolRegistry | None:
        """The tools for one answer by `model`, or None to answer without tools."""
        if not (web_search or self.mcp) or not self.model_supports_tools(catalog, model):
            return None
        registry = ToolRegistry()
        if web_search:
            settings = self.settings
            registry.add(
                web_search_tool(
                    self.search,
                    self.fetcher,
                    registry.sources,
                    results=settings.web_search_results,
                    read_pages=settings.web_fetch_pages,
                    page_chars=max(500, settings.tool_result_chars // max(1, settings.web_fetch_pages + 1)),
                )
            )
            registry.add(fetch_url_tool(self.fetcher, registry.sources, page_chars=settings.tool_result_chars))
        for tool in await self.mcp.tools():
            registry.add(tool)
        return registry or None

    def stream(
        self,
        router,
        request: ChatRequest,
        models: list[str],
        registry: ToolRegistry,
        on_failover: Callable[[Failures, str], None] | None = None,
        *,
        record: list[dict] | None = None,
    ) -> AsyncIterator[StreamEvent]:
        return run_with_tools(
            router,
            request,
            models,
            registry,
            max_rounds=self.settings.tool_max_rounds,
            call_timeout=self.settings.tool_call_timeout,
            result_chars=self.settings.tool_result_chars,
            on_failover=on_failover,
            record=record,
        )

    async def close(self) -> None:
        await self.mcp.close()

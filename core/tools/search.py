"""Web search providers behind one small interface: ddgs (no key), SearXNG, Tavily, Brave.

A provider returns hits (title, url, snippet). The admin-configured endpoints (a SearXNG instance,
the APIs) are trusted and reached directly; the pages of the results go through the SSRF-safe fetcher.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from core.tools.base import ToolError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SearchHit:
    title: str
    url: str
    snippet: str = ""


class SearchProvider(Protocol):
    name: str

    async def search(self, query: str, count: int) -> list[SearchHit]: ...


def _hits(items, title: str, url: str, snippet: str, count: int) -> list[SearchHit]:
    hits = []
    for item in items or ():
        if not isinstance(item, dict):
            continue
        link = str(item.get(url) or "")
        if link.startswith(("http://", "https://")):
            hits.append(SearchHit(str(item.get(title) or link), link, str(item.get(snippet) or "")))
        if len(hits) >= count:
            break
    return hits


class _HttpProvider:
    name = "http"

    def __init__(self, timeout: float = 10.0):
        self.timeout = timeout

    async def _json(self, method: str, url: str, **kwargs) -> dict:
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as session,
                session.request(method, url, **kwargs) as response,
            ):
                if response.status == 429:
                    raise ToolError(f"The {self.name} search is rate limited right now (429). Try again later.")
                if response.status in (401, 403):
                    raise ToolError(f"The {self.name} search refused the bot's key ({response.status}).")
                if response.status >= 400:
                    raise ToolError(f"The {self.name} search failed (HTTP {response.status}).")
                data = await response.json(content_type=None)
        except TimeoutError:
            raise ToolError(f"The {self.name} search did not answer in time.") from None
        except aiohttp.ClientError as exc:
            raise ToolError(f"The {self.name} search could not be reached ({type(exc).__name__}).") from None
        except ValueError:
            raise ToolError(f"The {self.name} search sent something that is not JSON.") from None
        if not isinstance(data, dict):
            raise ToolError(f"The {self.name} search sent an unexpected answer.")
        return data


class SearxngSearch(_HttpProvider):
    """A self-hosted SearXNG with `json` among its `search.formats`."""

    name = "SearXNG"

    def __init__(self, base_url: str, timeout: float = 10.0):
        super().__init__(timeout)
        self.base_url = base_url.rstrip("/")

    async def search(self, query: str, count: int) -> list[SearchHit]:
        data = await self._json(
            "GET", f"{self.base_url}/search", params={"q": query, "format": "json", "safesearch": "1"}
        )
        return _hits(data.get("results"), "title", "url", "content", count)


class TavilySearch(_HttpProvider):
    name = "Tavily"

    def __init__(self, api_key: str, base_url: str = "https://api.tavily.com", timeout: float = 10.0):
        super().__init__(timeout)
        self.api_key, self.base_url = api_key, base_url.rstrip("/")

    async def search(self, query: str, count: int) -> list[SearchHit]:
        data = await self._json(
            "POST",
            f"{self.base_url}/search",
            json={"query": query, "max_results": count, "search_depth": "basic"},
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        return _hits(data.get("results"), "title", "url", "content", count)


class BraveSearch(_HttpProvider):
    name = "Brave"

    def __init__(self, api_key: str, base_url: str = "https://api.search.brave.com/res/v1", timeout: float = 10.0):
        super().__init__(timeout)
        self.api_key, self.base_url = api_key, base_url.rstrip("/")

    async def search(self, query: str, count: int) -> list[SearchHit]:
        data = await self._json(
            "GET",
            f"{self.base_url}/web/search",
            params={"q": query, "count": str(count)},
            headers={"X-Subscription-Token": self.api_key, "Accept": "application/json"},
        )
        web = data.get("web") if isinstance(data.get("web"), dict) else {}
        return _hits(web.get("results"), "title", "url", "description", count)


class DdgsSearch:
    """The keyless default: the `ddgs` metasearch library (blocking, so it runs in a thread)."""

    name = "DDGS"

    def __init__(self, timeout: float = 10.0, backend: str = "auto", client=None):
        self.timeout = timeout
        self.backend = backend
        self._client = client  # a DDGS-like object, for tests

    def _search(self, query: str, count: int) -> list:
        client = self._client
        if client is None:
            from ddgs import DDGS

            client = DDGS(timeout=int(self.timeout))
        return client.text(query, max_results=count, backend=self.backend)

    async def search(self, query: str, count: int) -> list[SearchHit]:
        try:
            items = await asyncio.wait_for(asyncio.to_thread(self._search, query, count), self.timeout)
        except TimeoutError:
            raise ToolError("The web search did not answer in time.") from None
        except Exception as exc:  # ddgs raises its own exceptions for no results, rate limits, network errors
            if "No results" in str(exc):
                return []
            log.info("ddgs search failed: %s", type(exc).__name__)
            raise ToolError(f"The web search failed ({type(exc).__name__}).") from None
        return _hits(items, "title", "href", "body", count)


def provider_from_settings(settings) -> SearchProvider:
    """The provider WEB_SEARCH_PROVIDER names; a missing URL or key is a clear error at start."""
    name = settings.web_search_provider
    timeout = settings.web_fetch_timeout
    if name == "searxng":
        if not settings.searxng_url:
            raise ValueError("WEB_SEARCH_PROVIDER=searxng needs SEARXNG_URL")
        return SearxngSearch(settings.searxng_url, timeout)
    if name == "tavily":
        if settings.tavily_api_key is None:
            raise ValueError("WEB_SEARCH_PROVIDER=tavily needs TAVILY_API_KEY")
        return TavilySearch(settings.tavily_api_key.get_secret_value(), timeout=timeout)
    if name == "brave":
        if settings.brave_api_key is None:
            raise ValueError("WEB_SEARCH_PROVIDER=brave needs BRAVE_API_KEY")
        return BraveSearch(settings.brave_api_key.get_secret_value(), timeout=timeout)
    return DdgsSearch(timeout)

"""The web tools: `web_search` (search, then read the top pages) and `fetch_url` (read one link)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from yarl import URL

from core.tools.base import SourceBook, Tool, ToolError, ToolResult, clip
from core.tools.fetch import SafeFetcher, page_text, page_title
from core.tools.search import SearchHit, SearchProvider

log = logging.getLogger(__name__)

MAX_QUERY = 400
CITE = "Cite the sources you use as [n] with their links, e.g. [1](https://example.com)."


def _query(arguments: dict[str, Any]) -> str:
    query = arguments.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ToolError("`query` must be a non-empty string.")
    return " ".join(query.split())[:MAX_QUERY]


def _short(text: str, limit: int = 80) -> str:
    return clip(" ".join(str(text).split()).replace("*", "").replace("`", ""), limit)


def _host(url: str) -> str:
    try:
        return URL(url).host or url
    except ValueError:
        return url


def web_search_tool(
    provider: SearchProvider,
    fetcher: SafeFetcher,
    sources: SourceBook,
    *,
    results: int = 5,
    read_pages: int = 3,
    page_chars: int = 3000,
) -> Tool:
    async def handler(arguments: dict[str, Any]) -> ToolResult:
        query = _query(arguments)
        hits = await provider.search(query, results)
        if not hits:
            return ToolResult(f'No web results for "{query}". Try other words, or answer from what you know.')
        texts = await asyncio.gather(*(_read(fetcher, hit, page_chars) for hit in hits[:read_pages]))
        blocks, found = [f'Web results for "{query}":'], []
        for index, hit in enumerate(hits):
            number = sources.add(hit.title, hit.url)
            found.append(sources.entries[number - 1])
            body = texts[index] if index < len(texts) and texts[index] else hit.snippet
            blocks.append(f"[{number}] {hit.title}\nURL: {hit.url}\n{body}".rstrip())
        blocks.append(CITE)
        return ToolResult("\n\n".join(blocks), found)

    return Tool(
        name="web_search",
        description=(
            "Search the web for current information. Returns numbered results with their URLs and the "
            "text of the top pages. Use it for recent events, facts you are unsure of, or when asked to look "
            "something up; cite what you use as [n](url)."
        ),
        parameters={
            "type": "object",
            "properties": {"query": {"type": "string", "description": "what to search for, in a few words"}},
            "required": ["query"],
        },
        handler=handler,
        progress=lambda a: f"🔎 *Searching the web for “{_short(a.get('query', ''))}”…*",
    )


async def _read(fetcher: SafeFetcher, hit: SearchHit, limit: int) -> str:
    """A result's page text; its snippet stands in when the page cannot be read."""
    try:
        page = await fetcher.fetch(hit.url)
        return await page_text(page, limit)
    except ToolError:
        return ""
    except Exception as exc:
        log.info("reading a search result failed: %s", type(exc).__name__)
        return ""


def fetch_url_tool(fetcher: SafeFetcher, sources: SourceBook, *, page_chars: int = 8000) -> Tool:
    async def handler(arguments: dict[str, Any]) -> ToolResult:
        url = arguments.get("url")
        if not isinstance(url, str) or not url.strip():
            raise ToolError("`url` must be an http(s) link.")
        page = await fetcher.fetch(url.strip())
        text = await page_text(page, page_chars)
        title = page_title(page) or page.url
        number = sources.add(title, page.url)
        more = " (cut at the size limit)" if page.truncated else ""
        result = f"[{number}] {title}\nURL: {page.url}{more}\n\n{text or '(no readable text)'}\n\n{CITE}"
        return ToolResult(result, [sources.entries[number - 1]])

    return Tool(
        name="fetch_url",
        description="Read the text of one web page, e.g. a link the user shared. Public http(s) pages only.",
        parameters={
            "type": "object",
            "properties": {"url": {"type": "string", "description": "the http:// or https:// address"}},
            "required": ["url"],
        },
        handler=handler,
        progress=lambda a: f"📄 *Reading {_short(_host(str(a.get('url', ''))), 60)}…*",
    )

"""A loopback web for the search and fetch tools: search engines' APIs and a few pages."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

ARTICLE = """<html><head><title>{title}</title><script>var tracking = "NOISE";</script></head><body>
<nav>Home | About | NAVIGATION</nav>
<article><h1>{title}</h1><p>{body}</p><p>More about the topic, written at length for the reader.</p></article>
<footer>Copyright FOOTER</footer></body></html>"""


class Web:
    """A loopback web: SearXNG /search, Tavily /search (POST), Brave /web/search and some pages."""

    def __init__(self):
        self.searches: list[dict] = []
        self.headers: list[dict] = []
        self.base = ""
        self.release = asyncio.Event()  # the slow page answers only at teardown

    def results(self):
        return [
            {"title": "Paris facts", "url": f"{self.base}/paris", "content": "Paris snippet"},
            {"title": "Slow page", "url": f"{self.base}/slow", "content": "Slow snippet"},
            {"title": "Ftp thing", "url": "ftp://example.com/x", "content": "skipped"},
        ]

    async def searxng(self, request):
        self.searches.append(dict(request.query))
        if request.query.get("q") == "nothing":
            return web.json_response({"results": []})
        return web.json_response({"query": request.query["q"], "results": self.results()})

    async def tavily(self, request):
        self.headers.append(dict(request.headers))
        self.searches.append(await request.json())
        return web.json_response({"results": self.results()[:1]})

    async def brave(self, request):
        self.headers.append(dict(request.headers))
        self.searches.append(dict(request.query))
        if request.headers.get("X-Subscription-Token") != "brave-key":
            return web.json_response({}, status=401)
        items = [{"title": r["title"], "url": r["url"], "description": r["content"]} for r in self.results()]
        return web.json_response({"web": {"results": items}})

    async def paris(self, request):
        body = "Paris is the capital of France and has about 2.1 million inhabitants."
        return web.Response(text=ARTICLE.format(title="Paris facts", body=body), content_type="text/html")

    async def slow(self, request):
        await self.release.wait()
        return web.Response(text="late")

    async def huge(self, request):
        return web.Response(text="<html><body><p>" + "big " * 200_000 + "</p></body></html>", content_type="text/html")


ALL_PAGES = ("searxng", "tavily", "brave", "paris", "slow", "huge")
ROUTES = {  # page -> (method, path)
    "searxng": ("GET", "/search"),
    "tavily": ("POST", "/search"),
    "brave": ("GET", "/web/search"),
    "paris": ("GET", "/paris"),
    "slow": ("GET", "/slow"),
    "huge": ("GET", "/huge"),
}


@contextlib.asynccontextmanager
async def serving(pages: tuple[str, ...] = ALL_PAGES) -> AsyncIterator[Web]:
    """The `Web` pages named, served on a loopback port (`.base`); the slow page is released at the end."""
    site_web = Web()
    app = web.Application()
    for page in pages:
        method, path = ROUTES[page]
        app.router.add_route(method, path, getattr(site_web, page))
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    site_web.base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    try:
        yield site_web
    finally:
        site_web.release.set()
        await runner.cleanup()

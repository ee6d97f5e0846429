"""Web search end to end on loopback: a SearXNG-style JSON endpoint, real pages read with trafilatura,
numbered sources in the tool result, and a Sources list when the model did not link them."""

import pytest

from core.config import load_settings
from core.records import Scope
from core.tools.base import SourceBook, ToolError
from core.tools.fetch import SafeFetcher
from core.tools.search import BraveSearch, DdgsSearch, SearxngSearch, TavilySearch, provider_from_settings
from core.tools.web import fetch_url_tool, web_search_tool
from tests.fakes.fake_router import text_script, tool_calls_script
from tests.support.chat import ALICE, KEY, ask


def tool_results(request: dict) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


async def test_search_reads_pages_and_the_answer_lists_sources(searching_core, fake_router, fake_web):
    fake_router.queue(tool_calls_script(("web_search", {"query": "population of Paris"})))
    fake_router.queue(text_script("Paris has about 2.1 million inhabitants [1]."))
    _submitted, outcome, out = await ask(searching_core, "How many people live in Paris?")
    assert fake_web.searches[0]["q"] == "population of Paris" and fake_web.searches[0]["format"] == "json"

    result = tool_results(fake_router.requests[1])[0]
    assert "[1] Paris facts" in result and f"URL: {fake_web.base}/paris" in result
    assert "capital of France" in result  # the page itself, read with trafilatura
    assert "NOISE" not in result and "NAVIGATION" not in result  # scripts and menus left out
    assert "[2] Slow page" in result and "Slow snippet" in result  # too slow to read: its snippet stands in
    assert "ftp://" not in result

    final = out.texts()[-1]
    assert final.startswith("Paris has about 2.1 million inhabitants [1].")
    assert f"**Sources:**\n1. [Paris facts]({fake_web.base}/paris)\n2. [Slow page]({fake_web.base}/slow)" in final
    stored = await searching_core.store.get_message(outcome.reply_id)
    assert "**Sources:**" in stored.content
    # while the tool ran, the sink showed what it was doing; the final text does not
    shown = [call.text for call in out.calls if call.kind in ("post", "edit")]
    assert any("🔎 *Searching the web for “population of Paris”…*" in text for text in shown)
    assert "Searching the web" not in final


async def test_no_sources_list_when_the_model_linked_them(searching_core, fake_router, fake_web):
    fake_router.queue(tool_calls_script(("web_search", {"query": "paris"})))
    fake_router.queue(text_script(f"About 2.1 million ([source]({fake_web.base}/paris))."))
    _, _, out = await ask(searching_core, "Paris population?")
    assert "Sources:" not in out.texts()[-1]


async def test_fetch_url_reads_a_shared_link(searching_core, fake_router, fake_web):
    fake_router.queue(tool_calls_script(("fetch_url", {"url": f"{fake_web.base}/paris"})))
    fake_router.queue(text_script("The page says Paris is the capital."))
    _, _, out = await ask(searching_core, f"Summarize {fake_web.base}/paris")
    result = tool_results(fake_router.requests[1])[0]
    assert result.startswith("[1] Paris facts") and "2.1 million inhabitants" in result
    assert out.texts()[-1].endswith(f"**Sources:**\n1. [Paris facts]({fake_web.base}/paris)")
    assert any("📄 *Reading 127.0.0.1…*" in c.text for c in out.calls if c.kind in ("post", "edit"))


async def test_a_private_link_is_refused_and_the_model_is_told(core_factory, fake_router, fake_web):
    core = await core_factory(fake_router.url, web_search_provider="searxng", searxng_url=fake_web.base)
    await core.chat.preferences.set_option(ALICE, KEY, Scope.USER, "web_search", "on")
    fake_router.queue(tool_calls_script(("fetch_url", {"url": f"{fake_web.base}/paris"})))
    fake_router.queue(text_script("I cannot read that link."))
    _, _, out = await ask(core, "read it")
    assert "private or reserved address" in tool_results(fake_router.requests[1])[0]
    assert out.texts() == ["I cannot read that link."]


async def test_empty_results_and_page_limits(fake_web):
    sources = SourceBook()
    fetcher = SafeFetcher(timeout=0.5, max_bytes=10_000, allow_networks="127.0.0.1")
    search = web_search_tool(SearxngSearch(fake_web.base), fetcher, sources)
    assert "No web results" in (await search.handler({"query": "nothing"})).text
    with pytest.raises(ToolError):
        await search.handler({"query": ""})
    page = await fetcher.fetch(f"{fake_web.base}/huge")
    assert page.truncated and len(page.body) <= 10_000
    with pytest.raises(ToolError, match=r"longer than 0\.5 seconds"):
        await fetcher.fetch(f"{fake_web.base}/slow")
    fetch = fetch_url_tool(fetcher, sources, page_chars=300)
    result = await fetch.handler({"url": f"{fake_web.base}/huge"})
    assert "cut at the size limit" in result.text and "[…truncated]" in result.text


async def test_tavily_and_brave_send_their_keys(fake_web):
    tavily = await TavilySearch("tv-key", base_url=fake_web.base).search("paris", 3)
    assert [h.title for h in tavily] == ["Paris facts"]
    assert fake_web.headers[-1]["Authorization"] == "Bearer tv-key" and fake_web.searches[-1]["max_results"] == 3
    brave = await BraveSearch("brave-key", base_url=fake_web.base).search("paris", 2)
    assert [h.url for h in brave] == [f"{fake_web.base}/paris", f"{fake_web.base}/slow"]
    assert fake_web.searches[-1] == {"q": "paris", "count": "2"}
    with pytest.raises(ToolError, match="refused the bot's key"):
        await BraveSearch("wrong", base_url=fake_web.base).search("paris", 2)


async def test_ddgs_provider_maps_results_and_errors():
    class FakeDDGS:
        def text(self, query, max_results, backend):
            if query == "fail":
                raise RuntimeError("blocked")
            return [{"title": "T", "href": "https://example.org/a", "body": "B"}, {"title": "bad", "href": "x"}]

    hits = await DdgsSearch(client=FakeDDGS()).search("q", 5)
    assert [(h.title, h.url, h.snippet) for h in hits] == [("T", "https://example.org/a", "B")]
    with pytest.raises(ToolError, match="The web search failed"):
        await DdgsSearch(client=FakeDDGS()).search("fail", 5)


def test_provider_is_chosen_by_settings():
    def settings(**values):
        return load_settings(_env_file=None, **values)

    assert isinstance(provider_from_settings(settings()), DdgsSearch)
    assert isinstance(
        provider_from_settings(settings(web_search_provider="searxng", searxng_url="http://s")), SearxngSearch
    )
    assert isinstance(provider_from_settings(settings(web_search_provider="tavily", tavily_api_key="k")), TavilySearch)
    assert isinstance(provider_from_settings(settings(web_search_provider="brave", brave_api_key="k")), BraveSearch)
    with pytest.raises(SystemExit, match="needs BRAVE_API_KEY"):
        settings(web_search_provider="brave")
    with pytest.raises(SystemExit, match="WEB_FETCH_ALLOW_NETWORKS"):
        settings(web_fetch_allow_networks="not-a-network")


async def test_console_search_command(searching_core, fake_router):
    from bots.console.app import ConsoleApp

    app = ConsoleApp(searching_core, user="alice")
    await app.handle_line("/search off")
    value, _ = await searching_core.chat.preferences.resolve("web_search", app.key, app.actor.user_id)
    assert value == "off"
    await app.handle_line("/search on")
    value, _ = await searching_core.chat.preferences.resolve("web_search", app.key, app.actor.user_id)
    assert value == "on"

"""The page fetcher never reaches private networks: every kind of address, every redirect hop."""

import ipaddress

import pytest
from aiohttp import web

from core.tools.base import ToolError
from core.tools.fetch import FetchRefused, SafeFetcher, is_public


@pytest.fixture
async def pages():
    """A loopback server: a page, redirects (to anywhere), a slow page and a huge page."""
    hits: list[str] = []

    async def page(request):
        hits.append(request.path)
        return web.Response(text="<html><title>Hi</title><body><p>hello</p></body></html>", content_type="text/html")

    async def redirect(request):
        hits.append(request.path)
        raise web.HTTPFound(request.query["to"])

    async def loop(request):
        hits.append(request.path)
        raise web.HTTPFound("/loop")

    app = web.Application()
    app.router.add_get("/page", page)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/loop", loop)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", port, hits
    await runner.cleanup()


PRIVATE_URLS = [
    "http://127.0.0.1:{port}/page",
    "http://10.0.0.1:{port}/page",
    "http://172.16.0.1:{port}/page",
    "http://192.168.1.1:{port}/page",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:{port}/page",
    "http://[fc00::1]:{port}/page",
    "http://[fe80::1]:{port}/page",
    "http://[::ffff:127.0.0.1]:{port}/page",
    "http://[::ffff:7f00:1]:{port}/page",
    "http://0.0.0.0:{port}/page",
    "http://[::]:{port}/page",
    "http://224.0.0.1:{port}/page",
    "http://100.64.0.1:{port}/page",
    "http://2130706433:{port}/page",  # 127.0.0.1 written as one number
    "http://localhost:{port}/page",  # a hostname resolving to loopback
]


@pytest.mark.parametrize("template", PRIVATE_URLS)
async def test_private_addresses_are_refused_without_the_allow_list(pages, template):
    _base, port, hits = pages
    fetcher = SafeFetcher(timeout=3)
    with pytest.raises(FetchRefused):
        await fetcher.fetch(template.format(port=port))
    assert hits == []  # refused before connecting


async def test_the_allow_list_lets_the_loopback_test_server_through(pages):
    base, _port, hits = pages
    page = await SafeFetcher(timeout=3, allow_networks="127.0.0.1/32").fetch(f"{base}/page")
    assert page.status == 200 and "hello" in page.body and hits == ["/page"]


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{port}/page",
        "http://[::1]:{port}/page",
        "http://10.1.2.3/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:10.0.0.1]/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:{port}/",
    ],
)
async def test_every_redirect_hop_is_checked(pages, target):
    base, port, hits = pages
    fetcher = SafeFetcher(timeout=3, allow_networks="127.0.0.1/32")  # only the first hop's address
    with pytest.raises(FetchRefused):
        await fetcher.fetch(f"{base}/redirect?to={target.format(port=port)}")
    assert hits == ["/redirect"]


async def test_a_redirect_to_loopback_is_refused(pages):
    """Without the allow-list, even a redirect chain that starts public-looking ends refused at loopback."""
    base, port, hits = pages
    fetcher = SafeFetcher(timeout=3)
    with pytest.raises(FetchRefused):
        await fetcher.fetch(f"{base}/redirect?to=http://localhost:{port}/page")
    assert hits == []


async def test_redirects_are_limited(pages):
    base, _port, hits = pages
    with pytest.raises(ToolError, match="redirected more than 3"):
        await SafeFetcher(timeout=3, max_redirects=3, allow_networks="127.0.0.1").fetch(f"{base}/loop")
    assert len(hits) == 4


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "file:///etc/passwd", "javascript:alert(1)", "http://user:pw@example.com/"]
)
async def test_only_plain_http_and_https(url):
    with pytest.raises(FetchRefused):
        await SafeFetcher().fetch(url)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.255.0.1", False),
        ("172.31.255.255", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("100.64.1.1", False),
        ("0.0.0.0", False),
        ("255.255.255.255", False),
        ("240.0.0.1", False),
        ("239.1.1.1", False),
        ("::1", False),
        ("::", False),
        ("fc00::1", False),
        ("fd12::1", False),
        ("fe80::1", False),
        ("fec0::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
    ],
)
def test_address_classification(address, public):
    assert is_public(ipaddress.ip_address(address)) is public

"""Fetching pages the model asks for without letting it reach inside our network (SSRF).

Only http(s). Every hop, the first and each redirect, is checked: the host is resolved here and every
address it resolves to must be public (not private, loopback, link-local, multicast, reserved or
unspecified, in IPv4 or IPv6, IPv4-mapped and 6to4/NAT64 forms unwrapped). The connection then goes to
exactly the addresses checked (a pinned resolver), so a DNS answer that changes between the check and
the connect cannot slip through. Redirects are followed by hand, a limited number of times; the whole
fetch has one deadline and the body a size limit.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from html import unescape

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from core.tools.base import ToolError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
REDIRECTS = frozenset({301, 302, 303, 307, 308})
NAT64 = ipaddress.ip_network("64:ff9b::/96")
TEXT_TYPES = (
    "text/",
    "application/xhtml",
    "application/xml",
    "application/json",
    "application/rss",
    "application/atom",
)
USER_AGENT = "Mozilla/5.0 (compatible; hfchat-bots; +https://github.com/huggingface/chat-ui)"


class FetchRefused(ToolError):
    """A URL the bot will not fetch: its scheme, or an address inside a private network."""


def parse_networks(text: str | None) -> list[Network]:
    """`10.0.0.0/8, 127.0.0.1` -> networks; ValueError names a bad entry."""
    networks = []
    for entry in re.split(r"[,\s]+", text or ""):
        if entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"`{entry[:60]}` is not an IP address or CIDR network") from None
    return networks


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, 6to4 or NAT64 IPv6 address."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IPAddress) -> bool:
    inner = embedded_ipv4(ip)
    if inner is not None:
        return is_public(inner)
    if ip.version == 6 and ip.teredo is not None:
        return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (ip.version == 6 and ip.is_site_local)
    )


@dataclass(slots=True)
class Page:
    url: str  # after redirects
    status: int
    content_type: str
    body: str
    truncated: bool = False

    @property
    def is_html(self) -> bool:
        return "html" in self.content_type or (not self.content_type and "<html" in self.body[:1000].lower())


class _PinnedResolver(AbstractResolver):
    """Answers only with the addresses already checked for this hop."""

    def __init__(self, host: str, results: list[ResolveResult]):
        self._host, self._results = host, results

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET):
        if host != self._host:
            raise OSError(f"unexpected host {host!r}")
        return [dict(r, port=port or r["port"]) for r in self._results]

    async def close(self) -> None:
        return None


class SafeFetcher:
    def __init__(
        self,
        *,
        timeout: float = 10.0,
        max_bytes: int = 2_000_000,
        max_redirects: int = 5,
        allow_networks: list[Network] | str | None = None,
        user_agent: str = USER_AGENT,
    ):
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.allow = parse_networks(allow_networks) if isinstance(allow_networks, str) else list(allow_networks or ())
        self.user_agent = user_agent

    @classmethod
    def from_settings(cls, settings) -> SafeFetcher:
        return cls(
            timeout=settings.web_fetch_timeout,
            max_bytes=settings.web_fetch_max_bytes,
            max_redirects=settings.web_fetch_max_redirects,
            allow_networks=settings.web_fetch_allow_networks,
        )

    def allowed(self, ip: IPAddress) -> bool:
        if any(ip in net for net in self.allow if net.version == ip.version):
            return True
        inner = embedded_ipv4(ip)
        if inner is not None and any(inner in net for net in self.allow if net.version == 4):
            return True
        return is_public(ip)

    async def check(self, url: str | URL) -> tuple[URL, list[ResolveResult]]:
        """The URL and the addresses it may be fetched from; FetchRefused otherwise."""
        target = URL(url) if isinstance(url, str) else url
        if target.scheme not in ("http", "https"):
            raise FetchRefused("Only http:// and https:// links can be fetched.")
        host = target.raw_host or ""
        if not host:
            raise FetchRefused("The link has no host.")
        if target.user or target.password:
            raise FetchRefused("Links with a user name or password are not fetched.")
        port = target.port or (443 if target.scheme == "https" else 80)
        literal = _ip_literal(host)
        if literal is not None:
            if not self.allowed(literal):
                raise FetchRefused(f"{_show(host)} is a private or reserved address; it is not fetched.")
            family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
            return target, [_result(host, str(literal), port, family)]
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise FetchRefused(f"{_show(host)} could not be resolved.") from None
        results = []
        for family, _type, _proto, _name, sockaddr in infos:
            ip = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
            if not self.allowed(ip):
                raise FetchRefused(f"{_show(host)} resolves to a private or reserved address; it is not fetched.")
            results.append(_result(host, str(ip), port, family))
        if not results:
            raise FetchRefused(f"{_show(host)} could not be resolved.")
        return target, results

    async def fetch(self, url: str) -> Page:
        """GET a public page (redirects followed and re-checked); FetchRefused or ToolError on failure."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._fetch(url)
        except TimeoutError:
            raise ToolError(f"The page took longer than {self.timeout:g} seconds.") from None
        except aiohttp.ClientError as exc:
            raise ToolError(f"The page could not be fetched ({type(exc).__name__}).") from None

    async def _fetch(self, url: str) -> Page:
        current: str | URL = url.strip()
        for _hop in range(self.max_redirects + 1):
            target, addresses = await self.check(current)
            connector = aiohttp.TCPConnector(
                resolver=_PinnedResolver(target.raw_host or "", addresses), use_dns_cache=False, force_close=True
            )
            async with (
                aiohttp.ClientSession(connector=connector, trust_env=False) as session,
                session.get(
                    target,
                    allow_redirects=False,
                    headers={"User-Agent": self.user_agent, "Accept": "text/html,text/plain;q=0.9,*/*;q=0.5"},
                ) as response,
            ):
                if response.status in REDIRECTS:
                    location = response.headers.get("Location")
                    if not location:
                        raise ToolError(f"The page redirected ({response.status}) without saying where.")
                    current = target.join(URL(location))
                    continue
                if response.status >= 400:
                    raise ToolError(f"The page answered HTTP {response.status}.")
                content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
                if content_type and not content_type.startswith(TEXT_TYPES):
                    raise ToolError(f"The link is not a web page ({content_type}).")
                data, truncated = await self._read(response)
                body = data.decode(response.get_encoding() if content_type else "utf-8", errors="replace")
                return Page(str(target), response.status, content_type, body, truncated)
        raise ToolError(f"The page redirected more than {self.max_redirects} times.")

    async def _read(self, response: aiohttp.ClientResponse) -> tuple[bytes, bool]:
        chunks, size = [], 0
        async for chunk in response.content.iter_chunked(65536):
            chunks.append(chunk)
            size += len(chunk)
            if size >= self.max_bytes:
                return b"".join(chunks)[: self.max_bytes], True
        return b"".join(chunks), False


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _result(host: str, ip: str, port: int, family: int) -> ResolveResult:
    return ResolveResult(hostname=host, host=ip, port=port, family=family, proto=0, flags=socket.AI_NUMERICHOST)


def _show(host: str) -> str:
    return f"`{host[:80]}`"


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def page_title(page: Page) -> str:
    match = _TITLE.search(page.body[:200_000]) if page.is_html else None
    return " ".join(unescape(match.group(1)).split())[:200] if match else ""


def _extract(html: str, url: str) -> str:
    import trafilatura

    text = trafilatura.extract(html, url=url, favor_recall=True, include_comments=False, include_tables=True)
    if not text:
        text = trafilatura.html2txt(html) or ""
    return text


async def page_text(page: Page, limit: int) -> str:
    """The readable text of a page (trafilatura for HTML, off the event loop), at most `limit` characters."""
    if page.is_html:
        text = await asyncio.to_thread(_extract, page.body[: 4 * 1024 * 1024], page.url)
    else:
        text = page.body
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text if len(text) <= limit else text[:limit] + "\n[…truncated]"

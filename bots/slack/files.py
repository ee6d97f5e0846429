"""Files attached to a Slack message, fetched with the bot token as the message arrives and handed to
core.attachments like any platform's files (which reads their real type and writes a note for each one
it cannot use).

Slack serves `url_private` only with the bot token in an Authorization header; without it the answer is
a sign-in page, not the file. The token is sent to Slack's file host (or the configured API host, e.g. a
proxy or a test double) and nowhere else, and a redirect elsewhere ends the download.
"""

from __future__ import annotations

import logging
from urllib.parse import urljoin, urlparse

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bots.slack.voice import download_limit, marked
from core.replies.attachments import Attachment, AttachmentLimits

log = logging.getLogger(__name__)

SLACK_FILE_HOSTS = frozenset({"files.slack.com"})
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=10, sock_read=30)
MAX_REDIRECTS = 3


def _trusted_hosts(client: AsyncWebClient) -> set[str]:
    """Where the token may go: Slack's file host, and the API's own host and port when it is not Slack's."""
    hosts = set(SLACK_FILE_HOSTS)
    api = urlparse(client.base_url).netloc
    if api and api != "slack.com":
        hosts.add(api)
    return hosts


async def _fetch(
    session: aiohttp.ClientSession,
    url: str,
    token: str,
    hosts: set[str],
    max_bytes: int,
    proxy: str | None,
    *,
    html_expected: bool = False,
) -> bytes:
    """The file's bytes (at most max_bytes + 1, enough to tell it is too large); b"" when it failed."""
    for _ in range(MAX_REDIRECTS + 1):
        parsed = urlparse(url)
        if parsed.scheme not in ("https", "http") or parsed.netloc not in hosts:
            log.warning("file download refused: not a Slack file host")
            return b""
        async with session.get(
            url, headers={"Authorization": f"Bearer {token}"}, allow_redirects=False, proxy=proxy
        ) as response:
            if response.status in (301, 302, 303, 307, 308) and response.headers.get("Location"):
                url = urljoin(url, response.headers["Location"])
                continue
            if response.status != 200:
                log.warning("file download failed: HTTP %d", response.status)
                return b""
            if response.content_type == "text/html" and not html_expected:
                # Slack's sign-in page: the token was not accepted
                log.warning("file download answered with a sign-in page")
                return b""
            data = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > max_bytes:
                    break
            return bytes(data)
    log.warning("file download failed: too many redirects")
    return b""


async def download_files(
    client: AsyncWebClient, files: list[dict], limits: AttachmentLimits | None = None, voice_mb: float = 25.0
) -> list[Attachment]:
    """The message's files as Attachments: too large ones (by Slack's size) are not fetched, and a file
    that could not be fetched comes empty (the core then says it was skipped)."""
    limits = limits or AttachmentLimits()
    token = client.token or ""
    hosts = _trusted_hosts(client)
    attachments: list[Attachment] = []
    wanted = [f for f in files if isinstance(f, dict)][: limits.max_files + 1]
    if not wanted:
        return attachments
    async with aiohttp.ClientSession(timeout=DOWNLOAD_TIMEOUT) as session:
        for item in wanted:
            name = str(item.get("name") or item.get("title") or "file")
            content_type = str(item.get("mimetype") or "")
            size = item.get("size") if isinstance(item.get("size"), int) else None
            most = download_limit(item, limits.max_file_bytes, voice_mb)
            if size is not None and size > most:
                attachments.append(marked(Attachment(name, content_type, b"", size=size), item))
                continue
            url = str(item.get("url_private_download") or item.get("url_private") or "")
            data = b""
            if url and token and item.get("mode") != "tombstone" and item.get("file_access") != "check_file_info":
                try:
                    data = await _fetch(
                        session,
                        url,
                        token,
                        hosts,
                        most,
                        client.proxy,
                        html_expected=content_type.startswith("text/html"),
                    )
                except (aiohttp.ClientError, TimeoutError) as exc:
                    log.warning("file download failed: %s", type(exc).__name__)
            attachments.append(marked(Attachment(name, content_type, data), item))
    return attachments

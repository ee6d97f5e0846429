"""Local ports: a free one, and which local addresses a port listens on (read from /proc/net/tcp{,6})."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> set[str]:
    """The local addresses (hex, as /proc/net/tcp{,6} writes them) with a socket listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


LOOPBACK = "0100007F"  # 127.0.0.1 in /proc/net/tcp's byte order
ANY = "00000000"


async def until_listening(port: int) -> set[str]:
    for _ in range(200):
        if addresses := listening(port):
            return addresses
        await asyncio.sleep(0.02)
    raise AssertionError(f"nothing listens on {port}")

"""Whether a connection may go through a proxy: never to loopback, as the environment says elsewhere.

kabuステーション listens only on the PC it runs on, and the demo's station is embedded on 127.0.0.1.
httpx (``trust_env``) and websockets (``proxy=True``) both read the proxy from ``HTTP(S)_PROXY`` and
``ALL_PROXY``, and on Windows and macOS from the system settings, whose bypass list they do not
apply to loopback; a PC with a proxy configured would then send ``localhost:18080`` to the proxy,
which cannot reach it (kabusapi #1129, #1194). So every client the package opens to a station, a
relay or a test server asks here: a loopback host connects directly whatever is configured; any
other host (a relay on the LAN) follows the environment, ``NO_PROXY`` included, as users expect.

websockets speaks to an HTTP proxy with CONNECT on its own; a SOCKS proxy needs ``python-socks``.
"""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import urlsplit

__all__ = ["is_loopback", "trust_env", "ws_proxy"]


def is_loopback(url: str) -> bool:
    """True when ``url``'s host is this machine: ``localhost`` (with or without the root's trailing
    dot), an address in 127.0.0.0/8, or ``::1`` (also written ``[::1]``, or an IPv4-mapped
    127.x address). ``url`` may be a bare host (a relay's ``--host``). A URL without a host, or one
    that cannot be parsed, is not loopback."""
    if "//" not in url and url.count(":") > 1 and not url.startswith("["):
        url = f"[{url}]"  # a bare IPv6 address, as a relay's --host gives it
    try:
        host = urlsplit(url if "//" in url else f"//{url}").hostname
    except ValueError:  # an unclosed "[" and the like: the caller reports the bad URL itself
        return False
    if not host:
        return False
    host = host.rstrip(".")
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.partition("%")[0])  # a zone id ("::1%lo") is no part of it
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def trust_env(url: str) -> bool:
    """httpx's ``trust_env`` for a client of ``url``: off for loopback, so no proxy captures it."""
    return not is_loopback(url)


def ws_proxy(url: str) -> Literal[True] | None:
    """websockets' ``connect(proxy=...)`` for ``url``: None (direct) for loopback, else True (the
    proxy the environment or the system names, if any)."""
    return None if is_loopback(url) else True

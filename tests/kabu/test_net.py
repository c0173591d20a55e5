"""Which hosts connect directly whatever proxy is configured: the one decision every client asks."""

from __future__ import annotations

import pytest

from quoteboard.kabu.net import is_loopback, trust_env, ws_proxy

LOOPBACK = [
    "http://localhost:18080/kabusapi",
    "http://LocalHost:18080/kabusapi",
    "http://localhost.:18080/kabusapi",  # the root's trailing dot
    "ws://127.0.0.1:18080/kabusapi/websocket",
    "http://127.255.3.4/kabusapi",  # all of 127.0.0.0/8
    "ws://[::1]:18080/kabusapi/websocket",
    "http://[::ffff:127.0.0.1]:18080/kabusapi",  # IPv4-mapped
    "http://user@127.0.0.1:18080/",
    "localhost:18080",  # no scheme
]
ELSEWHERE = [
    "http://192.0.2.10:18080/kabusapi",
    "ws://10.0.0.5:18080/kabusapi/websocket",
    "http://localhost.example.com/kabusapi",
    "http://mylocalhost:18080/",
    "http://128.0.0.1/",
    "http://0.0.0.0:18080/",  # every interface, not this one
    "ws://[::2]:18080/",
    "http://[::1",  # cannot be parsed
    "http://",
    "",
]


@pytest.mark.parametrize("url", LOOPBACK)
def test_loopback_hosts_connect_directly(url: str) -> None:
    assert is_loopback(url)
    assert trust_env(url) is False
    assert ws_proxy(url) is None


@pytest.mark.parametrize("url", ELSEWHERE)
def test_other_hosts_follow_the_environment(url: str) -> None:
    assert not is_loopback(url)
    assert trust_env(url) is True
    assert ws_proxy(url) is True

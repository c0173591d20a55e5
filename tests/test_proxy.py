"""Loopback never goes through a proxy; a station or relay elsewhere on the LAN does, as configured.

A Windows PC with a system proxy hands it to httpx and websockets with no bypass for loopback: the
tests stand for it with ``HTTP(S)_PROXY``/``ALL_PROXY`` (every spelling urllib reads) pointing at a
dead loopback port, or at a tiny loopback "proxy" that records what it is asked and answers itself,
so nothing leaves the machine (192.0.2.10 is TEST-NET-1, never contacted).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from quoteboard.commands.echo import echo_session
from quoteboard.feeds.kabu import KabuFeed
from quoteboard.kabu.errors import StationUnreachable
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.rest import KabuRest
from quoteboard.server import TestServer
from tests.app_support import make_app, wait_for

PROXY_VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "WS_PROXY", "WSS_PROXY"]
LAN_STATION = "http://192.0.2.10:18080/kabusapi"


def proxy_env(proxy: str) -> dict[str, str]:
    """Every proxy variable, upper and lower case, set to ``proxy``; no NO_PROXY."""
    return {name: proxy for upper in PROXY_VARIABLES for name in (upper, upper.lower())}


def environment_without_no_proxy(proxy: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() != "no_proxy"}
    return {**env, **proxy_env(proxy)}


@pytest.fixture
def dead_proxy() -> Iterator[str]:
    """A proxy URL on a loopback port that is bound but never listens: every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def proxied(dead_proxy: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """This process configured as behind ``dead_proxy``."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in proxy_env(dead_proxy).items():
        monkeypatch.setenv(name, value)
    return dead_proxy


class RecordingProxy:
    """An HTTP proxy on loopback that answers itself: a token for a forwarded ``POST .../token``, 403
    for anything else (a CONNECT included). ``requests`` holds each request line it was sent."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        line = head.split(b"\r\n", 1)[0].decode()
        self.requests.append(line)
        if line.startswith("POST ") and line.split()[1].endswith("/token"):
            body = b'{"ResultCode":0,"Token":"from-the-proxy"}'
            status = b"200 OK\r\nContent-Type: application/json"
        else:
            body, status = b"", b"403 Forbidden"
        writer.write(
            b"HTTP/1.1 %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (status, len(body), body)
        )
        await writer.drain()
        writer.close()


@pytest_asyncio.fixture
async def recording_proxy(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[RecordingProxy]:
    proxy = RecordingProxy()
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    proxy.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in proxy_env(proxy.url).items():
        monkeypatch.setenv(name, value)
    async with server:
        yield proxy
        server.close()


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


# -- loopback: direct whatever the proxy says ------------------------------------------------------


async def test_rest_and_push_to_a_loopback_station_ignore_a_dead_proxy(
    proxied: str, server: TestServer
) -> None:
    feed = KabuFeed(server.base_url, "pw")
    quotes: list[object] = []
    feed.events.quote.subscribe(quotes.append)
    await feed.register([SymbolKey("7203")])  # REST: a token and a registration
    task = asyncio.create_task(feed.run())
    try:
        await until(lambda: len(quotes) >= 2)  # PUSH
    finally:
        await feed.close()
        await asyncio.gather(task, return_exceptions=True)
    assert feed.connections == 1


async def test_localhost_by_name_ignores_a_dead_proxy(proxied: str, server: TestServer) -> None:
    async with KabuRest(server.base_url.replace("127.0.0.1", "localhost"), "pw") as rest:
        assert await rest.ensure_token()


async def test_echo_to_a_loopback_server_ignores_a_dead_proxy(proxied: str, server: TestServer) -> None:
    out = io.StringIO()
    assert await echo_session(server.echo_url, 0.01, 2, out=out) == 2


async def test_demo_board_fills_its_rows_behind_a_dead_proxy(proxied: str, tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(
            pilot, lambda: len(app.board) > 0 and all(row.quote for row in app.board), what="quotes"
        )
        await wait_for(pilot, lambda: app.feed.received > 0, what="pushed quotes")


def test_stream_demo_works_behind_a_dead_proxy(dead_proxy: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "quoteboard", "stream", "--demo", "--symbols", "7203", "--count", "3"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env=environment_without_no_proxy(dead_proxy),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["symbol"] for line in result.stdout.splitlines()] == ["7203"] * 3


async def test_stream_kabu_to_a_loopback_station_works_behind_a_dead_proxy(dead_proxy: str) -> None:
    async with TestServer(seed=1, rate_limit=None) as srv:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "quoteboard", "stream", "--kabu", "--kabu-url", srv.base_url,
            "--symbols", "6758", "--count", "2",
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**environment_without_no_proxy(dead_proxy), "QUOTEBOARD_KABU_KEY": "pw"},
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert [json.loads(line)["symbol"] for line in out.decode().splitlines()] == ["6758", "6758"]


# -- elsewhere on the LAN: through the proxy, as configured ---------------------------------------


async def test_a_lan_station_is_asked_through_the_proxy(recording_proxy: RecordingProxy) -> None:
    async with KabuRest(LAN_STATION, "pw") as rest:
        assert await rest.ensure_token() == "from-the-proxy"
    assert recording_proxy.requests == ["POST http://192.0.2.10:18080/kabusapi/token HTTP/1.1"]


async def test_a_lan_stations_socket_is_tunnelled_through_the_proxy(recording_proxy: RecordingProxy) -> None:
    feed = KabuFeed(LAN_STATION, "pw")
    task = asyncio.create_task(feed.run())
    try:
        await until(lambda: len(recording_proxy.requests) >= 2)
    finally:
        await feed.close()
        await asyncio.gather(task, return_exceptions=True)
    assert recording_proxy.requests[:2] == [
        "POST http://192.0.2.10:18080/kabusapi/token HTTP/1.1",  # the socket's token
        "CONNECT 192.0.2.10:18080 HTTP/1.1",  # the socket: refused by the proxy, so never opened
    ]
    assert feed.connections == 0


async def test_a_loopback_station_never_reaches_a_working_proxy(
    recording_proxy: RecordingProxy, server: TestServer
) -> None:
    feed = KabuFeed(server.base_url, "pw")
    quotes: list[object] = []
    feed.events.quote.subscribe(quotes.append)
    await feed.register([SymbolKey("7203")])
    task = asyncio.create_task(feed.run())
    try:
        await until(lambda: len(quotes) >= 1)
    finally:
        await feed.close()
        await asyncio.gather(task, return_exceptions=True)
    assert recording_proxy.requests == []


def test_bench_runs_behind_a_dead_proxy(dead_proxy: str) -> None:
    # Its raw websockets client and the pipeline's feed both take the flood server on loopback.
    result = subprocess.run(
        [sys.executable, "-m", "quoteboard", "bench", "--messages", "2000", "--json"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env={**environment_without_no_proxy(dead_proxy), "NO_COLOR": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["messages"] == 2000 and report["raw_msg_s"] > 0 and report["pipeline_msg_s"] > 0


async def test_a_socks_proxy_for_a_lan_station_is_said_in_words_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # httpx needs socksio and websockets python-socks for a SOCKS proxy; neither is a dependency. The
    # proxy named is on loopback and is never reached: each client refuses before it connects.
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in proxy_env("socks5://127.0.0.1:9").items():
        monkeypatch.setenv(name, value)
    feed = KabuFeed(LAN_STATION, "pw")
    try:
        with pytest.raises(StationUnreachable, match=r"SOCKS proxy: pip install \"httpx\[socks\]\""):
            await feed.start()
        await asyncio.wait_for(feed.run(), 10)  # ends by itself, saying why
        assert feed.status.state == "closed"
        assert "pip install python-socks" in feed.status.detail
    finally:
        await feed.close()

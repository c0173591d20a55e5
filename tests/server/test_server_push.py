"""The PUSH socket and the echo socket, over real WebSocket connections."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

import pytest
from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from quoteboard.server import BindError, TestServer
from tests.schemas import validate
from tests.server.support import register


async def collect(ws, seconds: float) -> list[str | bytes]:
    frames: list[str | bytes] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            frames.append(await asyncio.wait_for(ws.recv(), left))
        except TimeoutError:
            break
    return frames


async def test_push_sends_valid_board_text_frames_for_registered_symbols_only(server):
    await register(server, "7203", "9433")
    async with connect(server.websocket_url, ping_interval=None) as ws:  # no token needed
        frames = await collect(ws, 0.9)
    assert frames and all(isinstance(frame, str) for frame in frames)
    boards = [json.loads(frame) for frame in frames]
    for board in boards:
        validate(board, "BoardSuccess", strict=True)
        assert board["BidPrice"] > board["AskPrice"]  # Kabu's Bid is the best SELL quote
        assert board["BidPrice"] == board["Sell1"]["Price"] and board["BidQty"] == board["Sell1"]["Qty"]
        assert board["AskPrice"] == board["Buy1"]["Price"] and board["AskQty"] == board["Buy1"]["Qty"]
    assert {board["Symbol"] for board in boards} == {"7203", "9433"}
    assert server.frames_sent >= len(frames)


async def test_push_cadence_is_about_400ms_per_symbol(server):
    await register(server, "7203", "6758")
    async with connect(server.websocket_url, ping_interval=None) as ws:
        frames = await collect(ws, 2.0)
    per_symbol = Counter(json.loads(frame)["Symbol"] for frame in frames)
    assert 6 <= len(frames) <= 15, per_symbol  # 2 symbols x 2 s / 0.4 s = 10
    assert all(3 <= n <= 8 for n in per_symbol.values()), per_symbol


async def test_rate_pushes_harder_for_load_tests():
    async with TestServer(rate=300, seed=1, rate_limit=None) as srv:
        await register(srv, "7203", "6758")
        async with connect(srv.websocket_url, ping_interval=None) as ws:
            frames = await collect(ws, 0.5)
    assert len(frames) >= 60  # ~150 at 300/s; the Kabu-like pace would give ~2-3


async def test_nothing_is_pushed_until_something_is_registered(server):
    async with connect(server.websocket_url, ping_interval=None) as ws:
        assert await collect(ws, 0.2) == []
        await register(server, "8306")
        frames = await collect(ws, 0.6)
    assert frames and {json.loads(f)["SymbolName"] for f in frames} == {"三菱ＵＦＪフィナンシャル・グループ"}


async def test_a_second_socket_closes_the_first(server):
    await register(server, "7203")
    async with (
        connect(server.websocket_url, ping_interval=None) as first,
        connect(server.websocket_url, ping_interval=None) as second,
    ):
        await asyncio.wait_for(first.wait_closed(), 2)
        assert first.close_code == 1000
        assert json.loads(await asyncio.wait_for(second.recv(), 2))["Symbol"] == "7203"


async def test_drop_sockets_closes_push_and_registrations_survive_the_reconnect(server):
    await register(server, "7203")
    async with connect(server.websocket_url, ping_interval=None) as ws:
        await asyncio.wait_for(ws.recv(), 2)
        await server.drop_sockets()
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 2)
    assert server.registered == ["7203@1"]
    async with connect(server.websocket_url, ping_interval=None) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 2))["Symbol"] == "7203"


async def test_push_socket_does_not_answer_pings(server):
    async with connect(server.websocket_url, ping_interval=None) as ws:
        pong = await ws.ping()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(pong, 1.0)


async def test_client_keepalive_gives_up_on_the_push_socket(server):
    # websockets' default keepalive (20 s + 20 s) drops a Kabu socket after ~40 s; shrunk here.
    async with connect(server.websocket_url, ping_interval=0.2, ping_timeout=0.2) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 3)
    assert closed.value.sent is not None and closed.value.sent.code == 1011  # the client gave up
    assert closed.value.sent.reason == "keepalive ping timeout"


async def test_echo_returns_text_and_binary_as_is_and_answers_pings(server):
    async with connect(server.echo_url) as ws:
        await ws.send("気配 ☃")
        assert await ws.recv() == "気配 ☃"
        await ws.send(b"\x00\xff\x10")
        assert await ws.recv() == b"\x00\xff\x10"
        await asyncio.wait_for(await ws.ping(), 1.0)  # unlike the PUSH socket


async def test_autobahn_client_gets_its_echoes(server):
    loop = asyncio.get_running_loop()
    received: list[tuple[bytes, bool]] = []
    closed: asyncio.Future[bool] = loop.create_future()

    class EchoClient(WebSocketClientProtocol):
        def onOpen(self):
            self.sendMessage("こんにちは".encode(), isBinary=False)
            self.sendMessage(b"\x01\x02\x03", isBinary=True)

        def onMessage(self, payload, isBinary):
            received.append((payload, isBinary))
            if len(received) == 2:
                self.sendClose(1000)

        def onClose(self, wasClean, code, reason):
            if not closed.done():
                closed.set_result(wasClean)

    factory = WebSocketClientFactory(server.echo_url, loop=loop)
    factory.protocol = EchoClient
    transport, _ = await loop.create_connection(factory, "127.0.0.1", server.port)
    try:
        assert await asyncio.wait_for(closed, 3) is True
    finally:
        transport.close()
    assert received == [("こんにちは".encode(), False), (b"\x01\x02\x03", True)]


async def test_shutdown_with_open_sockets_is_prompt_and_closes_them():
    srv = TestServer(seed=1, rate_limit=None)
    async with srv:
        await register(srv, "7203")
        push = await connect(srv.websocket_url, ping_interval=None)
        echo = await connect(srv.echo_url)
        await asyncio.wait_for(push.recv(), 2)
        started = time.monotonic()
    assert time.monotonic() - started < 2
    await asyncio.wait_for(push.wait_closed(), 2)
    await asyncio.wait_for(echo.wait_closed(), 2)
    assert push.close_code == 1012 and echo.close_code == 1012  # "service restart"


async def test_a_busy_port_is_a_bind_error(server):
    with pytest.raises(BindError, match=r"cannot listen on 127\.0\.0\.1:"):
        async with TestServer(port=server.port):
            pass


async def test_a_stalled_socket_stays_open_and_silent_while_the_market_moves_on(server):
    await register(server, "7203")
    async with connect(server.websocket_url, ping_interval=None) as ws:
        await asyncio.wait_for(ws.recv(), 5)
        server.kabu.push.stall(30)
        await asyncio.sleep(0.05)  # a frame already in flight may still come
        before = server.kabu.push.frames_sent
        volume = server.kabu.market.board("7203@1").TradingVolume
        assert await collect(ws, 1.0) == []
        assert server.kabu.push.frames_sent == before
        assert server.kabu.market.board("7203@1").TradingVolume > volume  # trades went on
        async with connect(server.websocket_url, ping_interval=None) as fresh:  # a reconnect
            assert await collect(fresh, 1.0)

"""The test server under load: loopback by default, a cap on incoming messages, 200 concurrent
clients, and clients that read slowly or not at all costing only themselves.

Every test here is bounded by deadlines (``asyncio.timeout``) and stops by itself; none asserts a
speed, only that things happen before a generous deadline.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import warnings
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

import quoteboard.server
from quoteboard.commands.cli import main as cli_main
from quoteboard.hosting import STUCK_GRACE
from quoteboard.server import TestServer, serve_forever
from quoteboard.server.catalogue import CATALOGUE
from quoteboard.server.outbox import MAX_MESSAGE, QUEUE_FRAMES, Outbox
from quoteboard.server.runner import report_drops
from tests.server.support import register

#: Ten listed codes, for a PUSH feed with some breadth.
CODES = [key.partition("@")[0] for key in list(CATALOGUE)[:10]]
#: uvicorn's transport high-water mark (64 KiB) plus one frame, with room to spare.
WRITE_BUFFER_BOUND = 256 * 1024


async def stuck_client(srv: TestServer, url: str) -> ClientConnection:
    """A client that reads nothing: a tiny kernel receive buffer, and websockets stops reading from
    the socket once it holds one message the application has not taken."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: it sets the window
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", srv.port))
    return await connect(url, sock=sock, ping_interval=None, max_queue=1, max_size=None)


def fast_reader(url: str):
    """A PUSH client for a fast feed. ``max_queue=None``: websockets stops reading the socket when
    more than ``max_queue`` messages wait for ``recv()``, and then cannot see the server's answer to
    its close frame either, which would cost its 10 s close timeout at the end of a test."""
    return connect(url, ping_interval=None, max_queue=None)


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Errors uvicorn or the server logged (an exception in the ASGI app, say)."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def wait_until(condition, what: str, seconds: float = 10.0) -> None:
    try:
        async with asyncio.timeout(seconds):
            while not condition():
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"not within {seconds} s: {what}") from None


async def round_trips(srv: TestServer, clients: int, messages: int = 3, seconds: float = 5.0) -> None:
    """``clients`` fresh echo clients, each getting ``messages`` echoes back, all within ``seconds``."""

    async def one(n: int) -> None:
        async with connect(srv.echo_url, ping_interval=None) as ws:
            for i in range(messages):
                await ws.send(f"client {n} message {i}")
                assert await ws.recv() == f"client {n} message {i}"

    async with asyncio.timeout(seconds):
        await asyncio.gather(*(one(n) for n in range(clients)))


# --------------------------------------------------------------------------------------------------
# Loopback unless told
# --------------------------------------------------------------------------------------------------


async def test_test_server_listens_on_loopback_only_by_default():
    async with TestServer() as srv:
        assert srv.address == ("127.0.0.1", srv.port)
        assert srv.base_url.startswith("http://127.0.0.1:")


def test_quoteboard_serve_binds_loopback_unless_given_a_host(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(quoteboard.server, "serve_forever", lambda host, *args, **kw: calls.append(host) or 0)
    assert cli_main(["serve"]) == 0
    assert cli_main(["serve", "--host", "0.0.0.0"]) == 0
    assert calls == ["127.0.0.1", "0.0.0.0"]
    assert serve_forever.__defaults__[0] == "127.0.0.1"  # and when called from Python


# --------------------------------------------------------------------------------------------------
# A cap on incoming messages
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("socket_", ["echo", "push"])
async def test_a_message_over_the_cap_is_refused_with_1009_message_too_big(server, socket_):
    url = server.echo_url if socket_ == "echo" else server.websocket_url
    async with connect(url, ping_interval=None) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.send("x" * (MAX_MESSAGE + 1))
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # "message too big"


async def test_a_message_at_the_cap_is_echoed(server):
    async with connect(server.echo_url, ping_interval=None, max_size=None) as ws:
        await ws.send(b"\x01" * MAX_MESSAGE)
        assert await asyncio.wait_for(ws.recv(), 5) == b"\x01" * MAX_MESSAGE


# --------------------------------------------------------------------------------------------------
# 200 concurrent clients
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def echo_clients() -> Iterator[int]:
    """200, if the open-file limit allows two sockets each (client and server end, one process);
    the soft limit is raised for the test if need be, and restored after."""
    wanted, spare = 200, 100  # spare: pytest, the event loop, the listening and PUSH sockets
    try:
        import resource
    except ImportError:  # Windows: sockets are not counted against a small per-process limit
        yield wanted
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 2 * wanted + spare
    raised = soft != resource.RLIM_INFINITY and soft < needed
    if raised:
        with_room = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (with_room, hard))
        except (ValueError, OSError):
            with_room = soft
        clients = min(wanted, (with_room - spare) // 2)
        if clients < wanted:
            warnings.warn(
                f"only {clients} echo clients: the open-file limit is {with_room} (hard {hard}) "
                f"and {wanted} clients need {needed}",
                stacklevel=1,
            )
    else:
        clients = wanted
    try:
        yield clients
    finally:
        if raised:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_200_echo_clients_get_their_echoes_while_a_push_client_takes_a_fast_feed(echo_clients):
    clients, rounds = echo_clients, 5
    async with TestServer(rate=2000, seed=1, rate_limit=None) as srv:
        await register(srv, *CODES)
        async with fast_reader(srv.websocket_url) as push:
            boards: list[dict] = []

            async def read_push() -> None:
                async for frame in push:
                    boards.append(json.loads(frame))

            reader = asyncio.create_task(read_push())
            all_open = asyncio.Barrier(clients)
            open_at_once: list[int] = []

            async def echo_client(n: int) -> int:
                async with connect(srv.echo_url, ping_interval=None, open_timeout=20) as ws:
                    await all_open.wait()  # every client holds its socket open at the same time
                    open_at_once.append(srv.connections)
                    for i in range(rounds):
                        await ws.send(f"{n}/{i} 気配")
                        assert await ws.recv() == f"{n}/{i} 気配"
                    return rounds

            try:
                async with asyncio.timeout(20):
                    before = len(boards)
                    done = await asyncio.gather(*(echo_client(n) for n in range(clients)))
                    during = len(boards) - before
                    await wait_until(lambda: len(boards) > before + during, "PUSH still flowing", 5)
                assert not reader.done()  # the PUSH socket was neither superseded nor dropped
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
    assert done == [rounds] * clients
    assert max(open_at_once) >= clients + 1  # the echo clients and the PUSH socket, together
    assert during > 0 and {b["Symbol"] for b in boards} <= set(CODES)
    assert srv.frames_sent >= len(boards)


# --------------------------------------------------------------------------------------------------
# A slow client costs only itself
# --------------------------------------------------------------------------------------------------


def test_the_outbox_drops_its_oldest_frames_when_full_and_counts_them():
    box = Outbox(max_frames=3, max_bytes=100)
    assert [box.put(f) for f in ("a", "b", "c", "d", "e")] == [0, 0, 0, 1, 1]
    assert len(box) == 3 and box.dropped == 2 and box.peak == 3
    assert box.put(b"x" * 99) == 2  # "c" for a free place, then "d" for 100 bytes at most
    assert len(box) == 2 and box.size == 100
    assert box.put(b"y" * 150) == 2  # larger than the box: queued alone
    assert len(box) == 1 and box.size == 150 and box.dropped == 6
    with pytest.raises(ValueError):
        Outbox(max_frames=0)


async def test_the_outbox_hands_frames_out_in_order():
    box = Outbox(max_frames=2)
    waiting = asyncio.create_task(box.get())
    await asyncio.sleep(0)
    box.put("first")
    box.put(b"second")
    assert await asyncio.wait_for(waiting, 1) == "first"
    assert await box.get() == b"second" and box.size == 0


async def test_an_echo_client_that_reads_nothing_loses_its_oldest_echoes_and_others_are_served(server):
    chunk = b"\x00" * 65536
    stuck = await stuck_client(server, server.echo_url)
    try:
        async with asyncio.timeout(20):
            for _ in range(256):  # fill its socket, transport and outbox: about 2.2 MiB here
                await stuck.send(chunk)
                if server.kabu.echo_dropped:
                    break
            assert server.kabu.echo_dropped > 0, "16 MiB sent, no echo dropped"
            assert server.write_buffered() <= WRITE_BUFFER_BOUND
            dropped = server.kabu.echo_dropped
            for _ in range(64):  # 4 MiB more: dropped, not buffered
                await stuck.send(chunk)
            await wait_until(lambda: server.kabu.echo_dropped >= dropped + 48, "more echoes dropped")
            assert server.write_buffered() <= WRITE_BUFFER_BOUND
            await round_trips(server, clients=20)  # meanwhile, everyone else is served
    finally:
        stuck.transport.abort()


async def test_a_push_client_that_reads_nothing_has_frames_dropped_and_does_not_stall_the_server(caplog):
    async with TestServer(rate=5000, seed=1, rate_limit=None) as srv:
        await register(srv, *CODES)
        push = srv.kabu.push
        reports = asyncio.create_task(report_drops(srv.kabu, every=0.1))
        stuck = await stuck_client(srv, srv.websocket_url)
        try:
            async with asyncio.timeout(20):
                await wait_until(lambda: push.dropped > 0, "frames dropped for the stuck client")
                for _ in range(10):  # the schedule runs on; the backlog doesn't grow
                    dropped = push.dropped
                    await wait_until(lambda d=dropped: push.dropped > d, "more frames dropped")
                    assert 0 < push.queued <= QUEUE_FRAMES
                    assert srv.write_buffered() <= WRITE_BUFFER_BOUND
                await round_trips(srv, clients=10)  # echo clients are served meanwhile
                async with fast_reader(srv.websocket_url) as fresh:  # supersedes the stuck one
                    board = json.loads(await asyncio.wait_for(fresh.recv(), 5))
                    assert board["Symbol"] in CODES
                    # The stuck socket reads no close frame: it is cut off after a grace period.
                    await wait_until(lambda: srv.connections == 1, "the stuck socket closed", 2 + STUCK_GRACE)
                    assert await asyncio.wait_for(fresh.recv(), 5)
                await wait_until(lambda: "dropped" in caplog.text, "a report of the drops", 2)
        finally:
            stuck.transport.abort()
            reports.cancel()
    reports = [r for r in caplog.records if r.name == "quoteboard.server"]
    assert reports[0].levelno == logging.WARNING and "PUSH frames" in reports[0].getMessage()
    assert not errors_logged(caplog)


async def test_shutdown_is_prompt_with_a_client_that_reads_nothing(caplog):
    async with TestServer(rate=5000, seed=1, rate_limit=None) as srv:
        await register(srv, *CODES)
        stuck = await stuck_client(srv, srv.websocket_url)
        try:
            await wait_until(lambda: srv.kabu.push.dropped > 0, "the stuck client's outbox full")
            async with asyncio.timeout(2 + STUCK_GRACE):
                await srv.aclose()
        finally:
            stuck.transport.abort()
    assert not errors_logged(caplog)


async def test_drop_sockets_is_prompt_with_a_client_that_reads_nothing(caplog):
    async with TestServer(rate=5000, seed=1, rate_limit=None) as srv:
        await register(srv, *CODES)
        stuck = await stuck_client(srv, srv.websocket_url)
        try:
            await wait_until(lambda: srv.kabu.push.dropped > 0, "the stuck client's outbox full")
            await asyncio.wait_for(srv.drop_sockets(), 2 + STUCK_GRACE)
            assert srv.registered == [f"{code}@1" for code in CODES]  # registrations stay
        finally:
            stuck.transport.abort()
    assert not errors_logged(caplog)

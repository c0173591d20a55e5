"""Helpers for the fault-injection tests: a recording feed consumer, waiting, free ports, and a bare
websockets "station" that pushes a scripted list of frames (and notes any ping it gets)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import httpx
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.server import ServerProtocol

from quoteboard.board.model import Board
from quoteboard.board.widgets.status_bar import StatusBar, status_text
from quoteboard.feeds.contract import FeedStatus
from quoteboard.feeds.kabu import KabuFeed
from quoteboard.kabu.protocol import Quote, Rejection
from quoteboard.server import TestServer

#: A REST fault: given a request, a response to answer with instead (or an httpx error raised), or None.
Fault = Callable[[httpx.Request], "httpx.Response | None"]


def free_port() -> int:
    """A loopback port nobody listens on (for a station that is not there yet)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_until(predicate: Callable[[], object], timeout: float = 5.0, what: str = "") -> None:
    """Poll ``predicate`` until it is true; fail after ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}") from None


class FeedLog:
    """Runs a feed and keeps what it reported: quotes (with the connection they came on), rejections
    and every status, in order; with a ``board``, also hands it the quotes and rejections."""

    def __init__(self, feed: KabuFeed, board: Board | None = None) -> None:
        self.feed = feed
        self.board = board
        self.quotes: list[Quote] = []
        self.quote_connection: list[int] = []
        self.rejections: list[Rejection] = []
        self.statuses: list[FeedStatus] = []
        self.task: asyncio.Task[None] | None = None

    def _quote(self, quote: Quote) -> None:
        self.quotes.append(quote)
        self.quote_connection.append(self.feed.connections)
        if self.board is not None:
            self.board.apply(quote)

    def _reject(self, rejection: Rejection) -> None:
        self.rejections.append(rejection)
        if self.board is not None:
            self.board.reject(rejection)

    def start(self) -> FeedLog:
        feed = self.feed
        feed.events.quote.subscribe(self._quote)
        feed.events.reject.subscribe(self._reject)
        feed.events.status.subscribe(self.statuses.append)
        self.task = asyncio.create_task(feed.run())
        return self

    def states(self) -> list[str]:
        return [s.state for s in self.statuses]

    def quotes_on(self, connection: int) -> int:
        """How many quotes came on the ``connection``-th socket (1 is the first)."""
        return self.quote_connection.count(connection)

    async def stop(self) -> None:
        await self.feed.close()
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


def record_status_texts(bar: StatusBar) -> list[str]:
    """Every text the status bar is given from now on (a state shorter than a poll is not missed)."""
    texts: list[str] = []
    show = bar.show

    def recording_show(snap):  # type: ignore[no-untyped-def]
        texts.append(status_text(snap).plain)
        show(snap)

    bar.show = recording_show  # type: ignore[method-assign]
    return texts


class _PingDeafProtocol(ServerProtocol):
    """Notes every ping and answers none, like kabuステーション."""

    pings: list[bytes]

    def recv_frame(self, frame: Frame) -> None:
        if frame.opcode is Opcode.PING:
            self.pings.append(frame.data)
            self.events.append(frame)
            return
        super().recv_frame(frame)


@dataclass
class ScriptedStation:
    """A bare websockets server standing in for Kabu's PUSH socket. The n-th connection gets the n-th
    script's frames in order (the last script once they run out), then, with ``repeat_every`` > 0,
    its last frame again every ``repeat_every`` seconds until the socket closes."""

    scripts: Sequence[Sequence[str | bytes]]
    repeat_every: float = 0.0
    port: int = 0
    pings: list[bytes] = field(default_factory=list)
    connections: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/kabusapi"

    async def _handler(self, ws: ServerConnection) -> None:
        frames = self.scripts[min(self.connections, len(self.scripts) - 1)]
        self.connections += 1
        ws.protocol.__class__ = _PingDeafProtocol  # same state, one method overridden
        ws.protocol.pings = self.pings  # type: ignore[attr-defined]
        with contextlib.suppress(ConnectionClosed):
            for frame in frames:
                await ws.send(frame)
            while self.repeat_every > 0 and frames:
                await asyncio.sleep(self.repeat_every)
                await ws.send(frames[-1])
        await ws.wait_closed()


@contextlib.asynccontextmanager
async def scripted_station(
    *scripts: Sequence[str | bytes], repeat_every: float = 0.0
) -> AsyncIterator[ScriptedStation]:
    station = ScriptedStation(scripts, repeat_every)
    # max_size=None: the station may send frames bigger than the client accepts.
    async with serve(station._handler, "127.0.0.1", 0, max_size=None, ping_interval=None) as server:
        station.port = server.sockets[0].getsockname()[1]
        yield station


def forward_to(
    server: TestServer, fault: Fault | None = None, log: list[tuple[str, str, int]] | None = None
) -> httpx.MockTransport:
    """A REST transport that sends each request on to ``server`` (the real test server), unless
    ``fault`` answers it first: return a response to send instead, raise an httpx error, or None.
    ``log`` gets (method, path, status) for each answer."""

    async def handle(request: httpx.Request) -> httpx.Response:
        answer = await _answer(request)
        if log is not None:
            log.append((request.method, request.url.path.removeprefix("/kabusapi"), answer.status_code))
        return answer

    async def _answer(request: httpx.Request) -> httpx.Response:
        if fault is not None and (answer := fault(request)) is not None:
            return answer
        path = request.url.path.removeprefix("/kabusapi")
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("x-api-key", "content-type")}
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            answer = await client.request(request.method, path, content=request.content, headers=headers)
        return httpx.Response(answer.status_code, content=answer.content,
                              headers={"Content-Type": answer.headers.get("Content-Type", "")})  # fmt: skip

    return httpx.MockTransport(handle)

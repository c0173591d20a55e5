"""The processes of ``quoteboard bench --relay`` (see :mod:`.relay`), and the parent's handle on each.

- :func:`upstream_main`: the test server's station on its simulated market, ``rate`` frames a second
  in all; each frame starts with ``{"BenchSeq":N,`` and has its send time (microseconds) in
  ``CurrentPriceTime``, both written as the frame is made for sending, as ``bench --tui`` stamps its
  frames;
- :func:`relay_main`: :class:`~quoteboard.relay.runner.RelayServer` on that upstream, exactly as
  ``quoteboard relay`` runs it;
- :func:`bare_main`: the baseline, one websockets client on the same upstream and a websockets server
  that hands every frame it reads to ``websockets.broadcast`` for every socket: no tokens, no
  routing, no decoding, the least a Python fan-out can do.

Each reports ``("ready", base_url, websocket_url)`` or ``("error", text)`` on its pipe, then serves
until the parent goes or kills it. :class:`Child` spawns one (``spawn``, so that it starts the same
way on Windows) and always kills it on leaving.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import re
import socket
import sys
import time
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta, timezone
from multiprocessing.connection import Connection
from typing import Any, Final

from quoteboard.kabu.net import trust_env, ws_proxy

from .crowd import PREFIX, symbols_body

__all__ = [
    "PASSWORD",
    "Child",
    "ChildError",
    "bare_main",
    "quiet_teardown",
    "relay_main",
    "report",
    "upstream_main",
]

#: The API password of the bench's station (it accepts any) and of the relay's clients.
PASSWORD: Final = "bench"
#: Kabu's times are Japan's.
JST: Final = timezone(timedelta(hours=9), "JST")
_TIME_FIELD: Final = re.compile(rb'"CurrentPriceTime":"[^"]*"')


def report(
    command: str,
    bench: Callable[[Callable[[str], object] | None], dict[str, Any]],
    summary: Callable[[dict[str, Any]], list[str]],
    as_json: bool,
) -> int:
    """Run ``bench`` (handed a progress printer unless ``as_json``) and print its report, as JSON or
    as ``summary``'s lines; a child that failed, or Ctrl+C, is one line on stderr. The exit status."""

    def progress(line: str) -> None:
        print(f"quoteboard {command}: {line}", file=sys.stderr, flush=True)

    try:
        result = bench(None if as_json else progress)
    except ChildError as exc:
        print(f"quoteboard {command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"quoteboard {command}: interrupted", file=sys.stderr)
        return 130
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print("\n".join(summary(result)))
    return 0


class ChildError(Exception):
    """A process of the bench failed or did not answer in time (the message is one line)."""


def _run(conn: Connection, what: str, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """A child's ``asyncio.run(main())``; a failure goes to the parent as one line."""
    quiet_teardown()
    try:
        asyncio.run(main())
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        pass  # Ctrl-C reaches the whole process group, or the parent is gone: the parent says which
    except Exception as exc:
        with contextlib.suppress(OSError):
            conn.send(("error", f"{what} failed: {type(exc).__name__}: {exc}".splitlines()[0]))
        raise SystemExit(1) from None


def quiet_teardown() -> None:
    """The bench ends a turn by killing processes, and asyncio warns of every write to a socket whose
    peer is gone ("socket.send() raised exception."): not news, and not for the bench's stderr."""
    logging.getLogger("asyncio").setLevel(logging.ERROR)


async def _until_parent_goes(conn: Connection) -> None:
    """Wait for the parent's word or its death (in a thread: a pipe is not awaitable everywhere)."""

    def wait() -> None:
        with contextlib.suppress(EOFError, OSError):
            conn.recv()

    await asyncio.to_thread(wait)


# -- the upstream ----------------------------------------------------------------------------------------


def upstream_main(conn: Connection, rate: float) -> None:
    from quoteboard.hosting import EmbeddedServer, KabuWebSocketProtocol
    from quoteboard.server.app import KabuStation
    from quoteboard.server.market import Market

    class NumberedMarket(Market):
        """The simulated market; each frame gets the next sequence number and its send time."""

        sent = 0

        def frame(self, key: str) -> bytes:
            data = super().frame(key)
            self.sent += 1
            now = datetime.now(JST).isoformat(timespec="microseconds").encode()
            data = _TIME_FIELD.sub(b'"CurrentPriceTime":"' + now + b'"', data, count=1)
            return PREFIX + str(self.sent).encode() + b"," + data[1:]

    class NoDelay(KabuWebSocketProtocol):
        """The station's PUSH socket with Nagle's algorithm off. EmbeddedServer listens on a socket
        from ``socket.create_server``, whose protocol number is 0, and asyncio turns Nagle off only
        for sockets that say IPPROTO_TCP: a frame written while the one before is unacknowledged
        would wait for the client's delayed ACK (40 ms on Linux). The upstream stands in for the
        station; its own jitter is not what is measured."""

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().connection_made(transport)

    class Upstream(EmbeddedServer):
        ws_protocol = NoDelay

        def __init__(self) -> None:
            super().__init__()
            self.kabu = KabuStation(rate=rate, rate_limit=None, market=NumberedMarket(1))
            self.asgi = self.kabu.asgi

    async def main() -> None:
        async with Upstream() as server:
            conn.send(("ready", server.base_url, server.websocket_url))
            await _until_parent_goes(conn)

    _run(conn, "the upstream test server", main)


# -- what is measured: the relay, or the bare broadcaster ------------------------------------------------


def relay_main(conn: Connection, upstream_url: str) -> None:
    from quoteboard.relay.runner import RelayServer
    from quoteboard.source import FeedSource

    async def main() -> None:
        source = FeedSource.kabu(upstream_url, PASSWORD)
        async with RelayServer(source, port=0, say=lambda line: None) as relay:
            conn.send(("ready", relay.base_url, relay.websocket_url))
            await _until_parent_goes(conn)

    _run(conn, "the relay", main)


def bare_main(conn: Connection, upstream_url: str, upstream_ws: str, keys: list[str]) -> None:
    import httpx
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    async def main() -> None:
        proxied = trust_env(upstream_url)  # the upstream is on loopback: direct
        async with httpx.AsyncClient(base_url=upstream_url, timeout=10, trust_env=proxied) as http:
            token = (await http.post("/token", json={"APIPassword": PASSWORD})).json()["Token"]
            answer = await http.put("/register", headers={"X-API-KEY": token}, json=symbols_body(keys))
            answer.raise_for_status()
        sockets: set[ServerConnection] = set()

        async def handler(ws: ServerConnection) -> None:
            sockets.add(ws)
            try:
                await ws.wait_closed()
            finally:
                sockets.discard(ws)

        async with (
            serve(handler, "127.0.0.1", 0, ping_interval=None, compression=None) as server,
            connect(
                upstream_ws, ping_interval=None, compression=None, max_queue=64, proxy=ws_proxy(upstream_ws)
            ) as upstream,
        ):
            port = server.sockets[0].getsockname()[1]
            conn.send(("ready", "", f"ws://127.0.0.1:{port}/kabusapi/websocket"))
            parent = asyncio.create_task(_until_parent_goes(conn))
            try:
                async for frame in upstream:  # str, like the station's text frames: one encode for all
                    broadcast(sockets, frame)
            finally:
                parent.cancel()

    _run(conn, "the bare broadcaster", main)


# -- the parent's handle ----------------------------------------------------------------------------------


class Child:
    """A spawned process and the parent's end of its pipe, as a context manager that always kills
    the process on leaving (Ctrl-C included)."""

    def __init__(self, name: str, target: Callable[..., None], *args: object) -> None:
        self.name = name
        ctx = multiprocessing.get_context("spawn")
        self.conn, self._child_conn = ctx.Pipe()
        self.process = ctx.Process(
            target=target, args=(self._child_conn, *args), name=f"quoteboard-bench {name}", daemon=True
        )

    def __enter__(self) -> Child:
        self.process.start()
        self._child_conn.close()  # ours is closed so that the child's death reads as EOF
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self.conn.close()
        if self.process.pid is not None:
            self.process.kill()
            self.process.join(5)

    @property
    def pid(self) -> int:
        assert self.process.pid is not None, "not started"
        return self.process.pid

    def send(self, message: object) -> None:
        try:
            self.conn.send(message)
        except OSError:
            raise self._died() from None

    def expect(self, kind: str, timeout: float, doing: str) -> tuple[Any, ...]:
        """The child's next message, which must be ``kind``; its error, death or silence raised as
        :class:`ChildError` (``doing`` says what it was to do, for the message)."""
        deadline = time.monotonic() + timeout
        while not self.conn.poll(0.05):
            if not self.process.is_alive() and not self.conn.poll():
                raise self._died(doing)
            if time.monotonic() > deadline:
                raise ChildError(f"{self.name} did not {doing} within {timeout:.0f} s")
        try:
            message: tuple[Any, ...] = self.conn.recv()
        except EOFError:
            raise self._died(doing) from None
        if message[0] == "error":
            raise ChildError(str(message[1]))
        if message[0] != kind:
            raise ChildError(f"{self.name} said {message[0]!r} instead of {kind!r}")
        return message

    def _died(self, doing: str = "") -> ChildError:
        self.process.join(1)
        before = f" before it could {doing}" if doing else ""
        return ChildError(f"{self.name} exited (code {self.process.exitcode}){before}")

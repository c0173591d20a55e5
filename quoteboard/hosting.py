"""Hosting an ASGI app in the running loop: what the test station and the relay both stand on.

:class:`EmbeddedServer` runs ``uvicorn.Server`` as a task in the caller's event loop, on a listening
socket it binds itself (so a busy port is a plain :class:`BindError`, not uvicorn's ``sys.exit``),
without touching signal handlers or the logging configuration of the app that embeds it. Subclasses
set the app: the test station (:class:`quoteboard.server.TestServer`) and the relay
(:class:`quoteboard.relay.runner.RelayServer`).

Its WebSocket protocol, :class:`KabuWebSocketProtocol`, is uvicorn's, made deaf to pings on the PUSH
path like the real station, never held open by a client that reads nothing, and offering the relay's
framed-write extension (:data:`FRAMED`).

The real kabuステーション never answers a WebSocket ping, so a client with websockets' default
keepalive (ping every 20 s, 20 s to answer) drops the PUSH socket after about 40 s. An ASGI app cannot
reproduce that: the ASGI spec leaves PING/PONG to the server, uvicorn answers them itself, and its
``ws_ping_interval``/``ws_ping_timeout`` settings only govern the pings *uvicorn* sends. Nothing in
ASGI or in uvicorn's settings turns the automatic pong off.

What does: uvicorn accepts a protocol class for ``Config(ws=...)``. Its ``websockets-sansio``
implementation feeds bytes to a ``websockets.server.ServerProtocol``, and that sans-I/O protocol is
what queues the pong (in ``recv_frame``). This module swaps in a subclass whose ``recv_frame`` keeps
the ping as an event but queues no pong, only for connections whose path is the PUSH socket's, and
skips uvicorn's own keepalive pings there too. The echo socket keeps answering pings.

The same class also stops a client that reads nothing from holding the server. uvicorn's ``send``
waits for the write buffer to drain, and its ``transport.close()`` flushes before closing, so closing
a connection whose client has stopped reading (superseded, dropped, server shutdown, an oversized
frame) would wait forever and keep the server from exiting. Here such a connection gets
:data:`STUCK_GRACE` seconds (after uvicorn's own close timeout, when a close frame did go out) and is
then aborted: a client that reads nothing would not have read the close frame either.

This leans on uvicorn and websockets internals (``WebSocketsSansIOProtocol.conn``/``handle_connect``/
``writable``/``shutdown``/``handle_parser_exception`` in uvicorn 0.54, ``Protocol.recv_frame``/
``events`` in websockets 17); ``tests/server/test_server_push.py`` and ``test_server_load.py`` pin the
behaviour down, so an upgrade that breaks it fails a test rather than silently answering pings or
hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, cast

import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

if TYPE_CHECKING:
    from uvicorn._types import ASGISendEvent

__all__ = [
    "FRAMED",
    "MAX_MESSAGE",
    "PUSH_PATH",
    "STUCK_GRACE",
    "BindError",
    "EmbeddedServer",
    "KabuWebSocketProtocol",
    "is_loopback",
]

#: The largest message a server accepts from a client; a bigger one is closed with 1009.
MAX_MESSAGE: Final = 1 << 20
PUSH_PATH: Final = "/kabusapi/websocket"
#: Seconds a closing connection may wait for a client that reads nothing before it is aborted.
STUCK_GRACE: Final = 1.0
#: The ASGI extension in a PUSH socket's scope that writes a frame serialized ahead (the relay's).
FRAMED: Final = "quoteboard.framed"


class _PingDeafServerProtocol(ServerProtocol):
    """A websockets server protocol that can be told not to answer pings."""

    answer_pings = True

    def recv_frame(self, frame: Frame) -> None:
        if frame.opcode is Opcode.PING and not self.answer_pings:
            # RFC 6455 says a pong MUST follow; the station doesn't send one, and neither do we.
            self.events.append(frame)
            return
        super().recv_frame(frame)


class KabuWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, silent to pings on :data:`PUSH_PATH`, and closing
    connections whose client reads nothing within :data:`STUCK_GRACE` seconds."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Same object, same state, one overridden method: no need to rebuild it from uvicorn's config.
        self.conn.__class__ = _PingDeafServerProtocol
        self.is_push = False
        self._abort_timer: asyncio.TimerHandle | None = None

    def handle_connect(self, event: Request) -> None:
        path = event.path.partition("?")[0]
        self.is_push = path == self.root_path + PUSH_PATH
        # __init__ made the connection a _PingDeafServerProtocol; uvicorn types it as ServerProtocol.
        cast(_PingDeafServerProtocol, self.conn).answer_pings = not self.is_push
        super().handle_connect(event)
        if self.is_push and self.response.status_code == 101:
            # The relay sends one frame to many sockets: serialized once, written to each.
            self.scope["extensions"][FRAMED] = {"write": self.write_framed}

    def write_framed(self, data: bytes) -> bool:
        """Write a whole server frame serialized ahead (unmasked, no extension) if the socket is open
        and its client keeps up (the transport under its high-water mark); else write nothing and
        return False: the caller then sends it the ASGI way, which waits."""
        if not self.handshake_complete or self.close_sent or self.disconnected or not self.writable.is_set():
            return False
        if self.conn.state is not State.OPEN:
            return False
        self.transport.write(data)
        return True

    def start_keepalive(self) -> None:
        if not self.is_push:  # the station sends no pings either
            super().start_keepalive()

    # A client that reads nothing ------------------------------------------------------------------

    def _abort_later(self, delay: float) -> None:
        """Abort the connection in ``delay`` seconds unless it is gone by then."""
        if self._abort_timer is None and not self.disconnected:
            self._abort_timer = self.loop.call_later(delay, self._abort)

    def _abort(self) -> None:
        self._abort_timer = None
        if not self.disconnected:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._abort_timer is not None:
            self._abort_timer.cancel()
            self._abort_timer = None
        super().connection_lost(exc)

    async def send(self, message: ASGISendEvent) -> None:
        closing = message["type"] == "websocket.close" and self.handshake_complete
        if closing and not self.writable.is_set():
            # uvicorn would wait here until the client reads; it may never.
            try:
                await asyncio.wait_for(self.writable.wait(), STUCK_GRACE)
            except TimeoutError:
                self._abort()  # connection_lost follows, and uvicorn's send raises ClientDisconnected
        await super().send(message)
        if closing and self.close_timer is not None:
            # After the close timeout uvicorn calls transport.close(), which flushes first.
            self._abort_later(self.close_timeout + STUCK_GRACE)

    def shutdown(self) -> None:
        super().shutdown()  # a 1012 close frame, then transport.close(), which flushes first
        self._abort_later(STUCK_GRACE)

    def handle_parser_exception(self) -> None:
        super().handle_parser_exception()  # a 1009 (or 1002) close frame, then transport.close()
        self._abort_later(STUCK_GRACE)


# Hosting -----------------------------------------------------------------------------------------


class BindError(OSError):
    """The server could not listen on the address it was given (in use, not local, refused...)."""


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host (the app, pytest, ``asyncio.run``)
    and stops as soon as it is told to rather than at its next 100 ms poll."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._stop = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:  # uvicorn's signature, installing nothing
        yield

    def stop(self) -> None:
        self.should_exit = True
        self._stop.set()

    async def main_loop(self) -> None:
        # uvicorn's own loop: on_tick every 100 ms (Date header, exit check), but woken by stop().
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 0.1)


def _listen(host: str, port: int) -> socket.socket:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
        # create_server only sets SO_REUSEADDR on POSIX, so a port in use is refused on Windows too.
        listener = socket.create_server((host, port), family=family)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if isinstance(exc, socket.gaierror):
            reason = f"unknown host ({reason})"
        raise BindError(exc.errno, f"cannot listen on {_netloc(host, port)}: {reason}") from None
    # create_server's socket says protocol 0, and so do the sockets it accepts; asyncio turns Nagle's
    # algorithm off (TCP_NODELAY) only for sockets that say IPPROTO_TCP, so every connection kept it
    # on, and a frame written while the one before was unacknowledged waited for the client's delayed
    # ACK (40 ms on Linux). The same socket, saying what it is:
    return socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, fileno=listener.detach())


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _client_host(host: str) -> str:
    """Where a client should connect to reach a server bound to ``host``."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


class EmbeddedServer:
    """An ASGI app served by uvicorn as a task in the running loop, on a socket it binds itself (so a
    busy port is a :class:`BindError`), leaving signals and logging to its host. Subclasses set
    :attr:`asgi` (the test station, the relay)."""

    asgi: Any
    #: WebSocket connections on the PUSH path answer no ping, like the station's.
    ws_protocol: type[KabuWebSocketProtocol] = KabuWebSocketProtocol

    def __init__(self, host: str = "127.0.0.1", port: int = 0, max_message: int = MAX_MESSAGE) -> None:
        self.host = host
        self.port = port
        self.max_message = max_message
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def _origin(self) -> str:
        return _netloc(_client_host(self.host), self.port)

    @property
    def base_url(self) -> str:
        return f"http://{self._origin}/kabusapi"

    @property
    def websocket_url(self) -> str:
        return f"ws://{self._origin}{PUSH_PATH}"

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) the server is listening on, as the socket reports it."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        return host, port

    @property
    def connections(self) -> int:
        """Open connections, HTTP and WebSocket (0 when not running)."""
        return len(self._server.server_state.connections) if self._server is not None else 0

    def write_buffered(self) -> int:
        """The most bytes waiting in one connection's transport for its client to read."""
        if self._server is None:
            return 0
        return max(
            (c.transport.get_write_buffer_size() for c in self._server.server_state.connections),
            default=0,
        )

    async def __aenter__(self) -> Self:
        if self._task is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        sock = _listen(self.host, self.port)
        config = uvicorn.Config(
            self.asgi,
            host=self.host,
            port=self.port,
            log_level="warning",
            log_config=None,  # leave the host's logging alone (a TUI must not get uvicorn's handlers)
            lifespan="off",
            ws=self.ws_protocol,
            ws_max_size=self.max_message,
            ws_per_message_deflate=False,  # the station doesn't compress; deflate only costs CPU here
        )
        self._server = _EmbeddedServer(config)
        self._task = asyncio.create_task(
            self._server.serve(sockets=[sock]), name=f"quoteboard-{type(self).__name__}"
        )
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise RuntimeError("the server stopped while starting")
            await asyncio.sleep(0.005)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop serving: close every connection and wait for uvicorn to finish."""
        if self._server is None or self._task is None:
            return
        self._server.stop()
        try:
            await self._task
        finally:
            self._server = self._task = None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        try:
            return all(
                ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None)
            )
        except (OSError, ValueError):
            return False

"""uvicorn's WebSocket protocol, made deaf to pings on the PUSH path like the real station, and never
held open by a client that reads nothing.

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
from typing import TYPE_CHECKING, Any, Final, cast

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

if TYPE_CHECKING:
    from uvicorn._types import ASGISendEvent

__all__ = ["FRAMED", "PUSH_PATH", "STUCK_GRACE", "KabuWebSocketProtocol"]

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

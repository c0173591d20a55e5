"""uvicorn's WebSocket protocol, made deaf to pings on the PUSH path like the real station.

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

This leans on two internals (``WebSocketsSansIOProtocol.conn``/``handle_connect`` in uvicorn 0.54,
``Protocol.recv_frame``/``events`` in websockets 17); ``tests/server/test_server_push.py`` pins the behaviour
down, so an upgrade that breaks it fails a test rather than silently answering pings.
"""

from __future__ import annotations

from typing import Any, Final

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

__all__ = ["PUSH_PATH", "KabuWebSocketProtocol"]

PUSH_PATH: Final = "/kabusapi/websocket"


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
    """uvicorn's sans-I/O WebSocket protocol, silent to pings on :data:`PUSH_PATH`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Same object, same state, one overridden method: no need to rebuild it from uvicorn's config.
        self.conn.__class__ = _PingDeafServerProtocol
        self.is_push = False

    def handle_connect(self, event: Request) -> None:
        path = event.path.partition("?")[0]
        self.is_push = path == self.root_path + PUSH_PATH
        self.conn.answer_pings = not self.is_push  # type: ignore[attr-defined]
        super().handle_connect(event)

    def start_keepalive(self) -> None:
        if not self.is_push:  # the station sends no pings either
            super().start_keepalive()

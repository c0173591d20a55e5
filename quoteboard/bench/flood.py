"""The flood server of ``quoteboard bench``: Kabu PUSH frames as fast as a client can take them.

It runs in a child process (``multiprocessing``'s ``spawn`` context, so it starts the same way on
Windows) so that it has its own core and its own interpreter lock: the client being measured shares
nothing with it but the loopback socket.

Every connection gets exactly ``messages`` frames, then a normal close. The frames are full
``BoardSuccess`` snapshots in Kabu's own field names, made by the test server's simulated market
(:mod:`quoteboard.server.market`) for 50 symbols, several steps each, so the board sees prices move.
They are encoded once, WebSocket header included; what changes per frame is ``CurrentPriceTime``,
overwritten with the wall-clock time as the frame is built, just before it is written to the socket
(a fixed-width ISO time with microseconds, spliced between the pre-encoded halves). The client reads
it back to measure how long a quote took from the server's send to the board.

The server speaks WebSocket over a plain blocking socket rather than through a ``websockets`` server
(which manages about as many frames a second as the client being measured, so the benchmark would
have measured the server): the handshake goes through websockets' sans-I/O ``ServerProtocol`` and the
frames are serialized by websockets once, ahead of time; the hot loop only writes bytes. Like
Kabu's station it answers no ping and ignores whatever the client sends; unlike it, it serves any
path.

:class:`FloodServer` is the parent's handle: it starts the process, waits for the port, and always
stops the process again (also when the parent is interrupted).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import socket
import sys
import time
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Self

from websockets.frames import Close, CloseCode, Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

from quoteboard.kabu.records import JST

if sys.platform == "win32":  # what Pipe() gives there: the same interface over a named pipe
    from multiprocessing.connection import PipeConnection as Connection
else:
    from multiprocessing.connection import Connection

__all__ = ["FloodError", "FloodServer", "stamp"]

SYMBOLS: Final = 50  # Kabu's registration cap
STEPS: Final = 20  # frames per symbol, sent round robin
START_TIMEOUT: Final = 60.0  # a spawned interpreter imports everything again; Windows is slow at it
PUSH_PATH: Final = "/kabusapi/websocket"
#: Frames written to the socket at once: one system call per frame would make the server, not the
#: client, the bottleneck. Each frame is still stamped as it is built, tens of microseconds before
#: the write.
_BATCH: Final = 16
_CLOSE_NORMAL: Final = Frame(Opcode.CLOSE, Close(CloseCode.NORMAL_CLOSURE, "").serialize()).serialize(
    mask=False
)
_HEADER: Final = 4  # a server's text frame header for 126..65535 bytes: FIN|text, 126, length

#: Kabu's times are Japan's (the test server's market uses the same offset).


class FloodError(Exception):
    """The flood server could not be started (the message is one line, fit for the user)."""


def stamp(moment: float) -> bytes:
    """``time.time()`` as the spec's time format with microseconds, always 32 bytes:
    ``2025-06-02T09:00:00.123456+09:00``."""
    return _format(moment).encode()


def _format(moment: float) -> str:
    return datetime.fromtimestamp(moment, JST).isoformat(timespec="microseconds")


#: What ``CurrentPriceTime`` holds in the pre-encoded frames, as wide as a stamp.
PLACEHOLDER: Final = "<send-time>".ljust(len(_format(0.0)), "~")


def build_frames(seed: int = 1) -> tuple[list[str], list[tuple[bytes, bytes]]]:
    """The symbols and, for each frame, the bytes before and after ``CurrentPriceTime``: a whole
    WebSocket text frame once the stamp goes between them."""
    import msgspec

    from quoteboard.server.catalogue import CATALOGUE
    from quoteboard.server.market import Market, encode

    market = Market(seed)
    keys = list(CATALOGUE)[:SYMBOLS]
    frames: list[tuple[bytes, bytes]] = []
    for _ in range(STEPS):
        for key in keys:
            market.step(key)
            board = msgspec.structs.replace(market.board(key), CurrentPriceTime=PLACEHOLDER)
            payload = encode(board)
            _, found, after = payload.partition(PLACEHOLDER.encode())
            if not found or PLACEHOLDER.encode() in after or not 126 <= len(payload) <= 0xFFFF:
                raise RuntimeError("a frame must hold the send-time placeholder once and be 126-65535 bytes")
            # Framed once by websockets (a stamp never changes the length), then cut at the stamp.
            framed = Frame(Opcode.TEXT, payload).serialize(mask=False)
            head, _, tail = framed.partition(PLACEHOLDER.encode())
            frames.append((head, tail))
    return keys, frames


# --------------------------------------------------------------------------------------------------
# The child process
# --------------------------------------------------------------------------------------------------


def serve_flood(conn: Connection, messages: int, host: str, port: int) -> None:
    """The child process's entry point. Reports ``("ready", port, keys, frame_bytes)`` or
    ``("error", text)`` on ``conn``, then serves one connection at a time until the parent says stop
    or goes away (either makes ``conn`` readable)."""
    try:
        keys, frames = build_frames()
        try:
            listener = socket.create_server((host, port))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            _report(conn, ("error", f"the flood server cannot listen on {host}:{port}: {reason}"))
            raise SystemExit(1) from None
        with listener:
            listener.settimeout(0.1)  # so the loop notices the parent's stop
            size = sum(len(head) + len(tail) for head, tail in frames) // len(frames) + len(PLACEHOLDER)
            _report(conn, ("ready", listener.getsockname()[1], keys, size - _HEADER))
            while not conn.poll():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                with client:
                    client.settimeout(None)
                    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    try:
                        if _handshake(client):
                            _flood(client, frames, messages)
                    except OSError:
                        pass  # the client left early (it was interrupted): serve the next one
    except KeyboardInterrupt:
        pass  # Ctrl-C reaches the whole process group; the parent reports it
    except Exception as exc:  # the parent shows it as one line and exits non-zero
        _report(conn, ("error", f"the flood server failed: {type(exc).__name__}: {exc}"))
        raise SystemExit(1) from None


def _report(conn: Connection, message: tuple[Any, ...]) -> None:
    with contextlib.suppress(OSError):  # the parent is gone: there is nobody left to tell
        conn.send(message)


def _handshake(client: socket.socket) -> bool:
    """Answer the opening handshake with websockets' sans-I/O server protocol (no extensions, no
    subprotocol, like Kabu); only the frames that follow are written by hand, for speed."""
    protocol = ServerProtocol()
    while not (events := protocol.events_received()):
        chunk = client.recv(4096)
        if not chunk:
            return False
        protocol.receive_data(chunk)
        if protocol.handshake_exc is not None:
            break
    opening = events[0] if events else None
    if isinstance(opening, Request):  # a server's first event is the client's request
        response = protocol.accept(opening)
        protocol.send_response(response)
        client.sendall(b"".join(protocol.data_to_send()))
        return response.status_code == 101
    # Not a WebSocket request (a client asking for a token first, say): answered by hand, since the
    # protocol cannot answer a request it could not parse, and the next connection is served.
    client.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    return False


def _flood(client: socket.socket, frames: list[tuple[bytes, bytes]], messages: int) -> None:
    """``messages`` frames round robin, each stamped as it is built, then a normal close."""
    clock = time.time
    count = len(frames)
    batch: list[bytes] = []
    for i in range(messages):
        head, tail = frames[i % count]
        batch += (head, stamp(clock()), tail)
        if len(batch) == 3 * _BATCH:
            client.sendall(b"".join(batch))
            batch.clear()
    batch.append(_CLOSE_NORMAL)
    client.sendall(b"".join(batch))
    # The client answers the close frame and then waits for us to close TCP (RFC 6455 7.1.1):
    # wait for its answer (it sends nothing else), but not forever.
    client.settimeout(5)
    with contextlib.suppress(TimeoutError):  # no answer: closing anyway is what the RFC says to do
        client.recv(4096)


# --------------------------------------------------------------------------------------------------
# The parent's handle
# --------------------------------------------------------------------------------------------------


class FloodServer:
    """The flood server in a child process, as a context manager::

        with FloodServer(200_000) as flood:
            ...connect to flood.base_url (REST base) or flood.websocket_url...

    Entering raises :class:`FloodError` (after stopping the child) if the server does not come up.
    Leaving always stops the child: politely first, then ``terminate()``, then ``kill()``.
    """

    def __init__(self, messages: int, host: str = "127.0.0.1", port: int = 0) -> None:
        self.messages = messages
        self.host = host
        self.port = port
        self.keys: list[str] = []
        self.frame_bytes = 0
        self.process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/kabusapi"

    @property
    def websocket_url(self) -> str:
        return f"ws://{self.host}:{self.port}{PUSH_PATH}"

    def __enter__(self) -> Self:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child_conn = ctx.Pipe()
        self.process = ctx.Process(
            target=serve_flood,
            args=(child_conn, self.messages, self.host, self.port),
            name="quoteboard-bench-flood",
            daemon=True,  # multiprocessing stops it at exit even if we never get to close()
        )
        try:
            self.process.start()
            child_conn.close()  # ours is closed so that the child's death reads as EOF
            self._wait_ready()
        except BaseException:
            self.close()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self._conn is not None and self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while not self._conn.poll(0.05):
            if not self.process.is_alive():
                raise self._died()
            if time.monotonic() > deadline:
                raise FloodError(f"the flood server did not start within {START_TIMEOUT:.0f} s")
        try:
            message = self._conn.recv()
        except EOFError:
            self.process.join(5)
            raise self._died() from None
        if message[0] != "ready":
            raise FloodError(str(message[1]).splitlines()[0])
        _, self.port, self.keys, self.frame_bytes = message

    def _died(self) -> FloodError:
        code = self.process.exitcode if self.process is not None else None
        return FloodError(f"the flood server exited (code {code}) before it was ready")

    def close(self) -> None:
        """Stop the child process and wait for it."""
        if self._conn is not None:
            with contextlib.suppress(OSError):  # it is already gone
                self._conn.send("stop")
            self._conn.close()
            self._conn = None
        process = self.process
        if process is None or process.pid is None:
            return
        process.join(3)
        if process.is_alive():
            process.terminate()
            process.join(3)
        if process.is_alive():
            process.kill()
            process.join()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

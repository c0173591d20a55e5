"""The relay's downstream PUSH sockets: each one's client and latest-wins queue, its sender and reader."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from starlette.websockets import WebSocket, WebSocketDisconnect

from quoteboard.hosting import FRAMED
from quoteboard.relay.book import Client
from quoteboard.relay.fanout import LatestQueue

__all__ = ["PushSocket", "drain", "send_frames"]


class PushSocket:
    """One downstream PUSH socket: its client (None: every symbol) and its queue."""

    def __init__(self, websocket: WebSocket, client: Client | None) -> None:
        self.websocket = websocket
        self.client = client
        self.queue = LatestQueue()
        #: Writes a frame serialized ahead, at once, while the client keeps up: our own server's
        #: extension (None under another ASGI server: then every frame goes through the queue).
        framed = websocket.scope.get("extensions", {}).get(FRAMED, {})
        self.write: Callable[[bytes], bool] | None = framed.get("write")
        self.stopped = asyncio.Event()
        self.close_reason = ""

    def stop(self, reason: str) -> None:
        self.close_reason = reason
        self.stopped.set()


async def send_frames(socket: PushSocket) -> None:
    """Send ``socket`` its queued frames, until its client goes."""
    queue, websocket = socket.queue, socket.websocket
    while True:
        frame = await queue.get()
        try:
            # A text frame, as the station sent it (ASGI takes text as str).
            await websocket.send_text(frame.decode("utf-8", "replace"))
        except (WebSocketDisconnect, RuntimeError):
            return


async def drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, until it goes: that is how a close is seen."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return

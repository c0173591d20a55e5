"""One client's send queue, so a client that reads slowly (or not at all) costs only itself.

uvicorn's ``send`` waits while the socket's write buffer is over its high-water mark, so a server that
sent straight from its producer (the PUSH schedule, the echo loop) would stall the producer on the
slowest reader. Instead the producer :meth:`Outbox.put`\\ s, which never waits, and a sender task
(:func:`send_from`) drains the outbox into the socket at the client's own pace. When the client falls
so far behind that the outbox is full, its *oldest* frames are dropped and counted: a quote board wants
the latest board, not a backlog. Memory per client stays bounded by the outbox's limits plus the
transport's high-water mark.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Final

from starlette.websockets import WebSocket, WebSocketDisconnect

from quoteboard.hosting import MAX_MESSAGE

__all__ = ["MAX_MESSAGE", "QUEUE_BYTES", "QUEUE_FRAMES", "Outbox", "send_from"]

#: Frames an outbox holds before dropping the oldest.
QUEUE_FRAMES: Final = 256
#: Characters (text) or bytes an outbox holds before dropping the oldest: two of the largest messages.
QUEUE_BYTES: Final = 2 * MAX_MESSAGE


class Outbox:
    """A bounded first-in first-out queue of frames for one client, that drops its oldest when full.

    ``put`` never waits; ``get`` waits for a frame. A frame is never dropped to make room for itself,
    so one larger than ``max_bytes`` is still queued, alone.
    """

    def __init__(self, max_frames: int = QUEUE_FRAMES, max_bytes: int = QUEUE_BYTES) -> None:
        if max_frames < 1 or max_bytes < 1:
            raise ValueError("an outbox holds at least one frame")
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self._frames: deque[str | bytes] = deque()
        self._size = 0
        self._ready = asyncio.Event()
        #: Frames dropped because the client was not reading them fast enough.
        self.dropped = 0
        #: The most frames held at once.
        self.peak = 0

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def size(self) -> int:
        """Characters and bytes held (a text frame counts its characters)."""
        return self._size

    def put(self, frame: str | bytes) -> int:
        """Queue ``frame`` behind the others; returns how many old frames were dropped for room."""
        frames = self._frames
        dropped = 0
        while frames and (len(frames) >= self.max_frames or self._size + len(frame) > self.max_bytes):
            self._size -= len(frames.popleft())
            dropped += 1
        frames.append(frame)
        self._size += len(frame)
        self.peak = max(self.peak, len(frames))
        self.dropped += dropped
        self._ready.set()
        return dropped

    async def get(self) -> str | bytes:
        """The oldest frame, waiting for one if the outbox is empty."""
        while not self._frames:
            self._ready.clear()
            await self._ready.wait()
        frame = self._frames.popleft()
        self._size -= len(frame)
        return frame


async def send_from(outbox: Outbox, websocket: WebSocket, sent: Callable[[], object] | None = None) -> None:
    """Send ``outbox``'s frames in order, as text or bytes as queued, until the client goes.

    ``sent`` is called after each frame handed to the socket. Runs until cancelled, or returns when the
    socket turns out to be disconnected.
    """
    while True:
        frame = await outbox.get()
        try:
            if isinstance(frame, str):
                await websocket.send_text(frame)
            else:
                await websocket.send_bytes(frame)
        except WebSocketDisconnect:
            return
        if sent is not None:
            sent()

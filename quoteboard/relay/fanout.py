"""One relay socket's queue, in which the latest frame of each symbol wins.

The upstream read never waits for a client: each frame is put in the queue of every socket that
wants its symbol, and a sender task per socket drains its queue at the client's own pace. A client
too slow for the feed misses frames (a newer frame of the same symbol replaces the unsent one, and
is counted) but never gets a stale price after a fresh one, and memory stays at one frame per symbol.
A socket whose queue has not emptied for :data:`BEHIND_LIMIT` seconds is closed, saying why.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final

from quoteboard.kabu.protocol import SymbolKey

__all__ = ["BEHIND_LIMIT", "LatestQueue"]

#: Seconds a socket may stay behind (its queue never empty) before it is closed.
BEHIND_LIMIT: Final = 10.0


class LatestQueue:
    """Frames waiting for one socket, at most one per symbol, oldest symbol first."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._frames: dict[SymbolKey, bytes] = {}
        self._ready = asyncio.Event()
        self._clock = clock
        #: Frames replaced unsent by a newer one of the same symbol.
        self.dropped = 0
        #: When the queue last went from empty to not empty while the socket was still sending:
        #: None while the client keeps up.
        self.behind_since: float | None = None
        self.sending = False

    def __len__(self) -> int:
        return len(self._frames)

    def put(self, key: SymbolKey, frame: bytes) -> None:
        frames = self._frames
        if key in frames:
            self.dropped += 1
        elif (frames or self.sending) and self.behind_since is None:
            self.behind_since = self._clock()
        frames[key] = frame
        self._ready.set()

    async def get(self) -> bytes:
        """The frame of the symbol that has waited longest, waiting for one if there is none."""
        while not self._frames:
            self.sending = False
            self.behind_since = None  # caught up
            self._ready.clear()
            await self._ready.wait()
        self.sending = True
        key = next(iter(self._frames))
        return self._frames.pop(key)

    def behind(self, now: float) -> float:
        """Seconds the socket has been behind (0 while it keeps up)."""
        return 0.0 if self.behind_since is None else now - self.behind_since

"""The pace of the relay's calls to the station: under its ~10 requests a second, each client
within its fair share of them (over it: 429, as the station would answer)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final

from quoteboard.relay.answers import RelayError
from quoteboard.relay.book import Client

__all__ = ["UPSTREAM_RATE", "Pacer"]

UPSTREAM_RATE: Final = 8.0


class Pacer:
    """Spaces the calls sent to the station, and keeps each client within its fair share of them."""

    def __init__(self, rate: float = UPSTREAM_RATE, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._lock = asyncio.Lock()
        self._next = 0.0
        self._recent: dict[str, list[float]] = {}  # client id -> its calls in the last second

    def admit(self, client: Client) -> None:
        """Count a call of ``client``'s, or raise 429 if it is over its share of the last second."""
        now = self._clock()
        for cid in list(self._recent):
            calls = self._recent[cid] = [t for t in self._recent[cid] if now - t < 1.0]
            if not calls and cid != client.id:
                del self._recent[cid]
        mine = self._recent.setdefault(client.id, [])
        share = max(1, int(self.rate // max(1, len(self._recent))))
        if len(mine) >= share:
            raise RelayError(4001006, f"over this client's share of the station's {self.rate:g} requests "
                             f"a second ({share} now); try again shortly")  # fmt: skip
        mine.append(now)

    async def wait_turn(self) -> None:
        async with self._lock:
            delay = self._next - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next = max(self._clock(), self._next) + 1.0 / self.rate

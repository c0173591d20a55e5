"""The stall watchdog without I/O: is a silent PUSH socket stalled, or is the market just quiet?

Kabu's socket answers no ping, and PUSH sometimes goes silent while the socket stays open (kabusapi
#246, #514): nothing else notices. Silence alone proves nothing (lunch, after the close, a symbol
nobody trades), so no timer can tell a stall from a quiet market, and no market calendar is needed:
after ``stall_after`` seconds without a frame, the station is asked (``GET /board``) for one
registered symbol, in turn. A ``CurrentPriceTime`` or ``TradingVolumeTime`` newer than any PUSH
delivered for it means trades happened that the socket did not bring: ``stalled``. Otherwise ``quiet``.

:class:`Watchdog` keeps the times and the clock arithmetic; the feed does the calls. It imports no
asyncio, httpx or websockets, so it is tested with plain values.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final, Literal

from quoteboard.kabu.protocol import Quote, SymbolKey

__all__ = ["DEFAULT_STALL_AFTER", "Verdict", "Watchdog"]

#: Seconds without a frame before the station is asked (``--stall-after``).
DEFAULT_STALL_AFTER: Final = 30.0

Verdict = Literal["stalled", "quiet"]


class _Times:
    """The newest trade and volume times known for one symbol (``None``: none yet)."""

    __slots__ = ("price", "volume")

    def __init__(self) -> None:
        self.price: str | None = None
        self.volume: str | None = None


class Watchdog:
    """Tells a stalled socket from a quiet market. ``now`` values are any monotonic clock's seconds.

    - :meth:`saw` takes every quote PUSH delivers (the hot path: two dict look-ups, no allocation);
    - :meth:`opened` starts the silence clock of a new socket;
    - :meth:`frames` takes the feed's frame count now and then, which dates the last frame;
    - :meth:`due` says which symbol to ask about, if a probe is due;
    - :meth:`verdict` judges the station's answer for it.
    """

    def __init__(self, stall_after: float = DEFAULT_STALL_AFTER) -> None:
        if not stall_after > 0:
            raise ValueError("stall_after must be a positive number of seconds")
        self.stall_after = stall_after
        #: exchange -> symbol code -> newest times: nested so a quote's key needs no tuple.
        self._known: dict[int, dict[str, _Times]] = {}
        self._frames = -1
        self._last_frame = 0.0
        self._last_probe: float | None = None
        self._turn = 0
        #: Probes asked for (see :meth:`due`).
        self.probes = 0

    def saw(self, quote: Quote) -> None:
        """A quote PUSH delivered (in order, so its times are the newest unless null)."""
        exchange = quote.exchange
        by_code = self._known.get(1 if exchange is None else exchange)
        times = by_code.get(quote.symbol) if by_code is not None else None
        if times is None:
            times = self._known.setdefault(1 if exchange is None else exchange, {}).setdefault(
                quote.symbol, _Times()
            )
        if quote.time is not None:
            times.price = quote.time
        if quote.volume_time is not None:
            times.volume = quote.volume_time

    def opened(self, now: float) -> None:
        """A socket opened at ``now``: its silence counts from here, and a probe may come at once
        when due."""
        self._last_frame = now
        self._last_probe = None

    def frames(self, count: int, now: float) -> bool:
        """The feed's count of frames received is ``count`` at ``now``; True if it moved since the
        last call (a frame came: the socket is alive)."""
        if count == self._frames:
            return False
        self._frames, self._last_frame = count, now
        return True

    def silent_for(self, now: float) -> float:
        """Seconds since the last frame counted by :meth:`frames`."""
        return now - self._last_frame

    def due(self, now: float, registered: Sequence[SymbolKey]) -> SymbolKey | None:
        """The symbol to ask the station about now, or None: only after ``stall_after`` seconds
        without a frame, at most one probe every ``stall_after`` seconds, the registered symbols in
        turn. Taking the symbol counts as the probe."""
        if not registered or now - self._last_frame < self.stall_after:
            return None
        if self._last_probe is not None and now - self._last_probe < self.stall_after:
            return None
        self._last_probe = now
        self.probes += 1
        key = registered[self._turn % len(registered)]
        self._turn = (self._turn + 1) % len(registered)
        return key

    def verdict(self, key: SymbolKey, answer: Quote) -> Verdict:
        """``stalled`` if the station's ``answer`` for ``key`` has a trade or volume time newer than
        any known for it, else ``quiet``. The answer's times become known either way, so one missed
        trade is one stall (a market that then stays still is quiet after the reconnect), and a
        symbol PUSH never delivered is first learned, not judged."""
        times = self._known.setdefault(key.exchange, {}).setdefault(key.code, _Times())
        price_newer = _newer(answer.time, times.price)
        volume_newer = _newer(answer.volume_time, times.volume)
        first = times.price is None and times.volume is None
        if price_newer:
            times.price = answer.time
        if volume_newer:
            times.volume = answer.volume_time
        return "stalled" if (price_newer or volume_newer) and not first else "quiet"

    def forget(self, registered: Sequence[SymbolKey]) -> None:
        """Drop the times of symbols no longer registered (so a long day of changes keeps nothing)."""
        keep = set(registered)
        for exchange, by_code in list(self._known.items()):
            for code in [c for c in by_code if (c, exchange) not in keep]:
                del by_code[code]
            if not by_code:
                del self._known[exchange]


def _newer(answer: str | None, known: str | None) -> bool:
    """``answer`` is a later time than ``known`` (ISO 8601, as Kabu sends them). One that cannot
    be read proves nothing: not newer."""
    if answer is None:
        return False
    if known is None:
        return True
    try:
        return datetime.fromisoformat(answer) > datetime.fromisoformat(known)
    except (ValueError, TypeError):
        return False

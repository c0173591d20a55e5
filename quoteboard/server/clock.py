"""The station's clock and the TSE trading day it plays, for ``quoteboard serve --day``.

A :class:`StationClock` starts at a chosen station time (07:55 JST today by default) and runs ``speed``
times faster than real time, so a whole trading day fits in a test or a benchmark. :func:`phase_at`
names the part of the TSE day a station time falls in; the market (:mod:`.market`) reads both to
decide what the board shows and whether anything is pushed.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from datetime import time as clock_time
from typing import Final

__all__ = ["DAY_START", "JST", "SCHEDULE", "Phase", "StationClock", "phase_at", "today_at"]


JST: Final = timezone(timedelta(hours=9), "JST")


class Phase(enum.StrEnum):
    """The parts of a TSE trading day, in order."""

    BEFORE = "before"  # before 08:00: no quotes yet
    PRE_OPEN = "pre_open"  # 08:00-09:00: orders come in, quotes (寄前気配) move, nothing trades
    MORNING = "morning"  # 09:00-11:30: the opening auction, then continuous trading (前場)
    LUNCH = "lunch"  # 11:30-12:30: nothing is pushed
    AFTERNOON = "afternoon"  # 12:30-15:25: continuous trading (後場)
    CLOSING_AUCTION = "closing_auction"  # 15:25-15:30: quotes move, no trade until the close
    CLOSED = "closed"  # 15:30 on: the closing price is set, then silence

    @property
    def trading(self) -> bool:
        return self in (Phase.MORNING, Phase.AFTERNOON)

    def reached(self, other: Phase) -> bool:
        """Whether this phase is ``other`` or a later one of the same day."""
        order = list(Phase)
        return order.index(self) >= order.index(other)


#: When each phase starts, in JST.
SCHEDULE: Final[tuple[tuple[clock_time, Phase], ...]] = (
    (clock_time(8, 0), Phase.PRE_OPEN),
    (clock_time(9, 0), Phase.MORNING),
    (clock_time(11, 30), Phase.LUNCH),
    (clock_time(12, 30), Phase.AFTERNOON),
    (clock_time(15, 25), Phase.CLOSING_AUCTION),
    (clock_time(15, 30), Phase.CLOSED),
)
OPEN: Final = clock_time(9, 0)
CLOSE: Final = clock_time(15, 30)
#: Where ``serve --day`` starts by default: a few station minutes before the first quotes.
DAY_START: Final = clock_time(7, 55)


def phase_at(moment: datetime) -> Phase:
    """The phase of the trading day at ``moment`` (any aware time; read in JST)."""
    of_day = moment.astimezone(JST).time()
    phase = Phase.BEFORE
    for start, later in SCHEDULE:
        if of_day >= start:
            phase = later
    return phase


def today_at(of_day: clock_time, now: datetime | None = None) -> datetime:
    """``of_day`` on today's date in JST (the date of ``now``, default the real now)."""
    today = (now or datetime.now(JST)).astimezone(JST)
    return today.replace(hour=of_day.hour, minute=of_day.minute, second=0, microsecond=0)


class StationClock:
    """Station time: ``start`` plus the real time elapsed since this clock was made, times ``speed``.

    Calling it gives the station's now (aware, JST), so it plugs into :class:`~.market.Market` as its
    clock. ``monotonic`` is injectable so a test can move time by hand.
    """

    def __init__(
        self,
        start: datetime,
        speed: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        if start.tzinfo is None:
            raise ValueError("start must be an aware time")
        self.start = start.astimezone(JST)
        self.speed = speed
        self._monotonic = monotonic
        self._origin = monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=(self._monotonic() - self._origin) * self.speed)

    def phase(self) -> Phase:
        return phase_at(self())

    def real_seconds(self, station_seconds: float) -> float:
        """How many real seconds ``station_seconds`` of station time take."""
        return station_seconds / self.speed

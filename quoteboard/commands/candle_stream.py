"""``quoteboard stream --candles 1m``: closed candles as NDJSON, one line each, for bots.

Each symbol's quotes are built into candles (:class:`~quoteboard.history.closing.CandleCloser`); a
candle is printed once it is closed: by its symbol's next tick in a later bucket, by the station's
clock passing its end (checked every :data:`CHECK_EVERY` seconds) or by the end of the stream, when
the candles still forming are printed as they stand. The line is
:func:`~quoteboard.history.wire.candle_record`'s, the same JSON a relay serves and publishes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Iterable
from typing import IO, Final

from quoteboard.commands.follow import follow
from quoteboard.feeds.contract import Feed
from quoteboard.history.candles import Interval
from quoteboard.history.closing import CandleCloser, Closed
from quoteboard.history.wire import encode_candle
from quoteboard.kabu.protocol import Quote

__all__ = ["CHECK_EVERY", "stream_candles"]

#: Seconds between looks at the station's clock for candles whose time is over.
CHECK_EVERY: Final = 0.5


async def stream_candles(
    feed: Feed,
    intervals: Iterable[Interval],
    out: IO[str],
    err: IO[str],
    count: int | None = None,
    duration: float | None = None,
    *,
    until: Awaitable[object] | None = None,
) -> int:
    """Write the closed candles of a started feed's watched symbols to ``out`` until ``count``
    candles, ``duration`` seconds or ``until`` is done; returns how many were written."""
    done = asyncio.Event()
    closer = CandleCloser(intervals)
    wanted = set(feed.registry.watched)
    written = 0

    def write(closed: list[Closed]) -> None:
        nonlocal written
        for key, candle in closed:
            if done.is_set():
                return
            out.write(encode_candle(key, candle).decode() + "\n")
            written += 1
            if count is not None and written >= count:
                done.set()
        if closed:
            out.flush()

    def on_quote(quote: Quote) -> None:
        if quote.key in wanted and not done.is_set():
            write(closer.add(quote))

    async def check() -> None:
        while True:
            await asyncio.sleep(CHECK_EVERY)
            write(closer.due())

    feed.events.quote.subscribe(on_quote)
    checker = asyncio.create_task(check())
    try:
        await follow(feed, done, duration, err, until)
    finally:
        feed.events.quote.unsubscribe(on_quote)
        checker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await checker
    write(closer.close())  # the stream ends: what was forming is as complete as it will be here
    return written

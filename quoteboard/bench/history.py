"""``quoteboard bench --history``: what the tick store costs and holds.

- ``write_ticks_per_s``: quotes through the writer's own path (:class:`~quoteboard.history.writer.Ingest`,
  a transaction for each 5,000), every one a tick to keep (50 symbols, each quote moving its price or
  volume): the store's ingest flat out, as the writer's thread goes on close or after a backlog
  (while a feed runs it takes at most :data:`~quoteboard.history.writer.DUTY` of the time).
- ``ingest_ratio_with_store``: the ingest benchmark's pipeline (:func:`.runs.run_pipeline`, against
  the flood server) with a tick writer subscribed to the quotes as the board's, over the same
  pipeline without it, in alternating turns of one run (the best of each).
- ``bytes_per_tick``: a full day of 50 symbols at Kabu's peak (2.5 quotes a second each, every one
  kept, over the 5.5 hours of trading), written as the writer writes it, a commit per second of the
  day, then the file's bytes (write-ahead log checkpointed) over the ticks.
- ``candles_query_ms``: from that store, a whole day of 1-minute candles of one symbol as a chart asks
  for them (:meth:`~quoteboard.history.store.TickStore.candles`: a new connection each time); the
  median over the 50 symbols.
- ``chart_render_ms``: one full redraw of a 200x60 chart of 330 candles (:mod:`.chart`), the median.

``--json`` prints the report as one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from quoteboard.history.candles import Tick, jst_day
from quoteboard.history.store import TickStore, open_for_writing
from quoteboard.history.writer import FIELDS, Ingest
from quoteboard.kabu.protocol import Quote, SymbolKey
from quoteboard.kabu.records import JST

__all__ = ["history_bench", "run_history_bench"]

SYMBOLS: Final = 50
#: Kabu's peak: each symbol's board pushed about every 400 ms.
PER_SECOND: Final = 2.5
#: 09:00-11:30 and 12:30-15:30.
SESSIONS: Final = (("09:00", "11:30"), ("12:30", "15:30"))
WRITE_QUOTES: Final = 200_000
WRITE_BATCH: Final = 5_000
ROUNDS: Final = 3
#: Turns of the ingest with and without the store: its runs vary most on a shared machine.
INGEST_ROUNDS: Final = 5
TARGETS: Final = {
    "write_ticks_per_s": (">=", 100_000),
    "ingest_ratio_with_store": (">=", 0.9),
    "bytes_per_tick": ("<=", 40),
    "candles_query_ms": ("<=", 30),
    "chart_render_ms": ("<=", 15),
}
DAY: Final = datetime(2026, 12, 3, tzinfo=JST)


def run_history_bench(args: argparse.Namespace) -> int:
    """``quoteboard bench --history``; returns the exit status."""
    from .flood import FloodError
    from .runs import BenchError

    say = _ignore if args.json else _stderr
    try:
        report = history_bench(args.messages, quick=args.quick, say=say)
    except (FloodError, BenchError) as exc:
        print(f"quoteboard bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("quoteboard bench: interrupted", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(report))
    else:
        for key, (sign, target) in TARGETS.items():
            value = report[key]
            met = value >= target if sign == ">=" else value <= target
            print(f"{key:<26} {value:>12,}   target {sign} {target:,}   {'met' if met else 'missed'}")
    return 0


def history_bench(
    messages: int = 200_000, *, quick: bool = False, say: Callable[[str], object] = print
) -> dict[str, Any]:
    """Every figure of the module docstring. ``quick`` makes a day of 10 minutes (for tests)."""
    seconds = 600 if quick else None
    writes = WRITE_QUOTES // 20 if quick else WRITE_QUOTES
    with tempfile.TemporaryDirectory(prefix="quoteboard-bench-") as tmp:
        folder = Path(tmp)
        rates = []
        for n in range(1, ROUNDS + 1):
            rates.append(_write_rate(folder / f"write-{n}.sqlite3", writes))
            say(f"write {n}/{ROUNDS}: {rates[-1]:,.0f} ticks/s")
        day = folder / "day.sqlite3"
        ticks = _write_day(day, seconds)
        size = TickStore(day).size()
        say(f"a day: {ticks:,} ticks, {size:,} bytes")
        query_ms = _candles_ms(day)
        say(f"a day of 1m candles: {query_ms:.2f} ms (median of {SYMBOLS})")
        with_store, without = _ingest(folder, messages, say)
    from .chart import chart_render_ms

    render_ms = chart_render_ms(rounds=5 if quick else 21)
    say(f"a 200x60 chart of 330 candles: {render_ms:.2f} ms (median)")
    return {
        "write_ticks_per_s": round(max(rates)),
        "ingest_ratio_with_store": round(max(with_store) / max(without), 4),
        "bytes_per_tick": round(size / ticks, 2),
        "candles_query_ms": round(query_ms, 3),
        "chart_render_ms": round(render_ms, 3),
        "day_ticks": ticks,
        "day_bytes": size,
        "write_runs_ticks_per_s": [round(rate) for rate in rates],
        "ingest_runs_msg_s": {"with_store": with_store, "without": without},
        "messages": messages,
    }


def _keys() -> list[SymbolKey]:
    from quoteboard.server.catalogue import CATALOGUE

    return [SymbolKey(key.split("@")[0], int(key.split("@")[1])) for key in list(CATALOGUE)[:SYMBOLS]]


def kabu_day(seconds: int | None = None, seed: int = 1) -> Iterator[list[tuple[SymbolKey, Tick]]]:
    """A trading day of :data:`SYMBOLS` symbols at :data:`PER_SECOND` quotes a second each, a list
    of ticks for each second (``seconds``: only the first so many). Every tick moves its symbol's
    price or cumulative volume, on the TSE's tick grid; times are whole seconds, as Kabu's are."""
    rnd = random.Random(seed)
    keys = _keys()
    price = {key: 500.0 + 100 * i for i, key in enumerate(keys)}
    volume = dict.fromkeys(keys, 0.0)
    turnover = dict.fromkeys(keys, 0.0)
    due = 0.0
    count = 0
    for start, end in SESSIONS:
        at = datetime.combine(DAY.date(), datetime.strptime(start, "%H:%M").time(), JST)
        stop = datetime.combine(DAY.date(), datetime.strptime(end, "%H:%M").time(), JST)
        while at < stop:
            if seconds is not None and count >= seconds:
                return
            due += PER_SECOND
            batch = []
            now = at.timestamp()
            for _ in range(int(due)):
                for key in keys:
                    step = rnd.choice((-1, 0, 0, 1)) * (0.5 if price[key] < 3000 else 1.0)
                    price[key] = max(1.0, price[key] + step)
                    traded = rnd.randint(1, 20) * 100
                    volume[key] += traded
                    turnover[key] += traded * price[key]
                    vwap = round(turnover[key] / volume[key], 4)
                    p = price[key]
                    batch.append((key, Tick(now, p, volume[key], vwap, p - 0.5, p + 0.5)))
            due -= int(due)
            yield batch
            at += timedelta(seconds=1)
            count += 1


def _write_rate(path: Path, quotes: int) -> float:
    """Quotes a second a writer takes in and commits, each one a tick to keep."""
    batch: list[Quote] = []
    for second in kabu_day():
        for key, tick in second:
            stamp = datetime.fromtimestamp(tick.time, JST).isoformat()
            batch.append(Quote(symbol=key.code, exchange=key.exchange, last=tick.price, time=stamp,
                               volume=tick.volume, vwap=tick.vwap, bid=tick.bid, ask=tick.ask))  # fmt: skip
        if len(batch) >= quotes:
            break
    db, _ = open_for_writing(path)
    ingest = Ingest(db)
    try:
        start = time.perf_counter()
        for first in range(0, len(batch), WRITE_BATCH):
            db.execute("BEGIN IMMEDIATE")
            for quote in batch[first : first + WRITE_BATCH]:
                ingest.add_fields(FIELDS(quote))
            ingest.flush()
            db.execute("COMMIT")
        elapsed = time.perf_counter() - start
    finally:
        db.close()
    if ingest.stored != len(batch):
        raise RuntimeError(f"the writer kept {ingest.stored} of {len(batch)} ticks")
    return len(batch) / elapsed


def _write_day(path: Path, seconds: int | None) -> int:
    """A day written as the writer writes it: a transaction for each second of quotes."""
    db, _ = open_for_writing(path)
    ingest = Ingest(db)
    try:
        for second in kabu_day(seconds):
            db.execute("BEGIN IMMEDIATE")
            for key, tick in second:
                ingest.add(key, tick)
            ingest.flush()
            db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return ingest.stored


def _candles_ms(path: Path) -> float:
    store = TickStore(path)
    day = jst_day(DAY.timestamp())
    times = []
    for key in _keys():
        start = time.perf_counter()
        history = store.candles(key, "1m", day)
        times.append((time.perf_counter() - start) * 1000)
        if not history.candles:
            raise RuntimeError(f"no candles of {key} in the day's store")
    return statistics.median(times)


def _ingest(folder: Path, messages: int, say: Callable[[str], object]) -> tuple[list[float], list[float]]:
    """The pipeline's rate with a tick writer on its quotes and without, in alternating turns."""
    from .flood import FloodServer
    from .runs import run_pipeline

    with_store: list[float] = []
    without: list[float] = []
    with FloodServer(messages) as flood:
        for n in range(1, INGEST_ROUNDS + 1):
            for store, rates in ((None, without), (folder / f"ingest-{n}.sqlite3", with_store)):
                run = run_pipeline(flood.base_url, flood.keys, messages, _ignore, store=store)
                rates.append(round(asyncio.run(run).rate, 1))
                how = "with" if store else "without"
                say(f"ingest {n}/{INGEST_ROUNDS} {how} the store: {rates[-1]:,.0f} msg/s")
    return with_store, without


def _ignore(*_: object) -> None:
    pass


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)

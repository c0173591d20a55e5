"""One measured run of ``quoteboard bench``: the bare client, or quoteboard's own ingest path.

Both read the same flood of Kabu frames over the same kind of socket (the options ``Feed.run`` uses)
and decode them into the same :class:`~quoteboard.kabu.protocol.Quote`, so the ratio of their rates
is what quoteboard adds on top of receiving and decoding: the feed loop, ``decode_frame``'s checks,
``Board.apply`` and the screen's periodic ``take_dirty``.

Latency is the time from the server's send stamp (``CurrentPriceTime``, see :mod:`.flood`) to the
moment the quote was in the board state. Clocks are read cheaply on the hot path and the stamps are
parsed only when a sample is taken, never once per message.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import msgspec
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from quoteboard.alerts.book import AlertBook, Rule
from quoteboard.board.model import Board
from quoteboard.feeds.closing import MAX_FRAME
from quoteboard.feeds.contract import FeedStatus
from quoteboard.feeds.kabu import KabuFeed
from quoteboard.history.writer import TickWriter
from quoteboard.kabu.net import ws_proxy
from quoteboard.kabu.protocol import Quote, parse_symbol

__all__ = ["BenchError", "RunResult", "idle_alerts", "rss_bytes", "run_pipeline", "run_raw"]

#: The screen drains the board's dirty rows once a frame; the bench does it as often.
TICK: float = 1 / 30
#: The bare client samples the latency of one message in this many (a power of two, minus one).
RAW_SAMPLE_MASK = 63
PROGRESS_EVERY = 4096

Progress = Callable[[int], object]


class BenchError(Exception):
    """A run did not get the frames it expected (the message is one line)."""


@dataclass
class RunResult:
    """What one run measured."""

    kind: str
    messages: int
    seconds: float
    #: Seconds from the server's send to the board state (or to the decoded quote, for raw).
    latencies: array[float] = field(repr=False)
    #: RSS after the run minus before it, in bytes; None where it cannot be read.
    rss_growth: int | None = None

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0


def rss_bytes() -> int | None:
    """This process's resident set size, or None where neither psutil nor /proc is available."""
    try:
        import psutil  # a dependency; the /proc fallback covers an install without it
    except ImportError:
        pass
    else:
        return int(psutil.Process().memory_info().rss)
    if sys.platform == "win32":  # no /proc there
        return None
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _sent_at(text: str | None) -> float:
    """The server's send stamp as ``time.time()``."""
    return datetime.fromisoformat(text).timestamp() if text else float("nan")


async def run_raw(websocket_url: str, messages: int, progress: Progress) -> RunResult:
    """The ceiling: websockets receive and msgspec decode, nothing else."""
    decode = msgspec.json.Decoder(Quote).decode
    # The same socket options as Feed.run, so the two runs differ only in what happens per frame.
    ws = await connect(
        websocket_url,
        ping_interval=None,
        max_size=MAX_FRAME,
        compression=None,
        open_timeout=5,
        close_timeout=2,
        max_queue=64,
        proxy=ws_proxy(websocket_url),
    )
    stamps: list[tuple[float, str | None]] = []
    clock = time.time
    recv = ws.recv
    try:
        start = time.monotonic()
        for count in range(1, messages + 1):
            quote = decode(await recv(decode=False))
            if not count & RAW_SAMPLE_MASK:
                stamps.append((clock(), quote.time))
                if not count % PROGRESS_EVERY:
                    progress(count)
        seconds = time.monotonic() - start
        stamps.append((clock(), quote.time))  # at least one sample, however few the messages
    except ConnectionClosed as exc:
        raise BenchError(f"the flood server closed the raw client's socket early ({exc})") from None
    finally:
        await ws.close()
    progress(messages)
    latencies = array("d", (received - _sent_at(sent) for received, sent in stamps))
    return RunResult("raw", messages, seconds, latencies)


def idle_alerts(keys: list[str], count: int) -> AlertBook:
    """``count`` armed alerts spread over ``keys``, of every kind, that no flood price crosses
    (beyond any price, or any day's move): checked on every quote, fired by none."""
    book = AlertBook()
    for i in range(count):
        key = parse_symbol(keys[i % len(keys)])
        pct = 90 + i / 1000  # no stock moves 90 % in a day (Japan's daily limits are far narrower)
        rules = (Rule(">", 1e9 + i), Rule("<", 1 / (i + 2)), Rule("+%", pct), Rule("-%", pct))
        rule = rules[i // len(keys) % len(rules)]
        book.add(key, rule)
    return book


async def run_pipeline(
    base_url: str,
    keys: list[str],
    messages: int,
    progress: Progress,
    alerts: AlertBook | None = None,
    kind: str = "pipeline",
    store: Path | None = None,
) -> RunResult:
    """quoteboard's ingest path as the board runs it: ``Feed.run`` hands each quote to
    ``Board.apply``, and a timer drains the dirty rows every :data:`TICK` like the screen does.
    With ``alerts``, each quote is then checked against them, as the board's quote watcher does.
    With ``store``, a tick writer keeps them in that file, as a board on a station does (its thread
    catches up after the run, not timed).

    The feed watches nothing, so it makes no REST call; the flood server closes the socket after
    ``messages`` frames, which ``Feed.run`` reports as reconnecting: that ends the run.
    """
    board = Board(parse_symbol(key) for key in keys)  # the flood server's CODE@EX keys
    board.take_dirty()  # the rows just added, before any quote
    latencies = array("d")
    # Board rows keep time.monotonic(); this turns it into wall-clock time, comparable with stamps.
    mono_to_wall = time.time() - time.monotonic()
    live_at: float | None = None
    ended = asyncio.Event()

    def on_status(status: FeedStatus) -> None:
        nonlocal live_at
        if status.state == "live":
            live_at = time.monotonic()
        elif status.state in ("reconnecting", "error"):
            ended.set()

    def sample() -> None:
        rows = board.rows
        for key in board.take_dirty():
            row = rows.get(key)
            if row is not None and row.quote is not None:
                latencies.append(row.updated_at + mono_to_wall - _sent_at(row.quote.time))

    async def screen() -> None:
        while True:
            await asyncio.sleep(TICK)
            sample()
            progress(board.received)

    # The flood server speaks only PUSH: the token the socket presents comes from here, not over REST.
    token = httpx.MockTransport(lambda request: httpx.Response(200, json={"ResultCode": 0, "Token": "bench"}))
    feed = KabuFeed(base_url, name="bench", transport=token)
    # As the board subscribes: the board, then the alerts.
    feed.events.quote.subscribe(board.apply)
    if alerts is not None:
        feed.events.quote.subscribe(alerts.check)
    feed.events.reject.subscribe(board.reject)
    feed.events.status.subscribe(on_status)
    writer = None
    if store is not None:
        writer = TickWriter(store, on_error=lambda line: None)
        writer.attach(feed.events.quote)
    gc.collect()
    rss_before = rss_bytes()
    run = asyncio.create_task(feed.run(), name="bench-feed")
    ticker = asyncio.create_task(screen(), name="bench-screen")
    end = asyncio.create_task(ended.wait())
    try:
        await asyncio.wait([run, end], return_when=asyncio.FIRST_COMPLETED)
        if run.done():
            run.result()  # raises what ended it
        sample()  # what the screen's next frame would pick up
        gc.collect()
        rss_after = rss_bytes()
    finally:
        for task in (run, ticker, end):
            task.cancel()
        await asyncio.gather(run, ticker, end, return_exceptions=True)
        await feed.close()
        if writer is not None:
            await writer.aclose()
    if board.received != messages or live_at is None:
        detail = feed.status.detail or feed.status.state
        raise BenchError(
            f"the pipeline got {board.received} of {messages} quotes "
            f"({board.rejected} rejected, {board.unwatched} unwatched): {detail}"
        )
    progress(messages)
    last_update = max(row.updated_at for row in board)
    growth = rss_after - rss_before if rss_after is not None and rss_before is not None else None
    if alerts is not None and len(alerts.armed_keys()) != len({alert.key for alert in alerts}):
        raise BenchError("an alert of the benchmark fired: its thresholds must be beyond any price")
    return RunResult(kind, messages, last_update - live_at, latencies, growth)

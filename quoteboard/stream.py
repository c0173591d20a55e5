"""``quoteboard stream``: quotes as NDJSON for scripts, from the demo market or Kabu Station.

The same feed the board uses; each quote becomes one JSON object on one line. Status changes and
errors go to stderr as single lines, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from datetime import datetime
from typing import IO, Final

import msgspec

from quoteboard.feed import Feed, FeedStatus
from quoteboard.kabu.protocol import KabuError, Quote, SymbolKey
from quoteboard.kabu.rest import StationUnreachable

__all__ = ["DEMO_SYMBOLS", "quote_record", "run_stream", "stream_quotes"]

DEMO_SYMBOLS: Final = ("7203@1", "9433@1", "6758@1", "9984@1", "8306@1", "7974@1")
_encoder: Final = msgspec.json.Encoder()


def quote_record(quote: Quote) -> dict[str, object]:
    """The NDJSON record of one quote (bid/ask in the usual sense: bid below ask)."""
    return {
        "symbol": quote.symbol,
        "exchange": quote.exchange,
        "name": quote.name,
        "last": quote.last,
        "change": quote.change,
        "change_pct": quote.change_pct,
        "bid": quote.bid,
        "bid_qty": quote.bid_qty,
        "ask": quote.ask,
        "ask_qty": quote.ask_qty,
        "volume": quote.volume,
        "vwap": quote.vwap,
        "high": quote.high,
        "low": quote.low,
        "time": quote.time,
        "received_at": datetime.fromtimestamp(quote.received_at)
        .astimezone()
        .isoformat(timespec="milliseconds"),
    }


@contextlib.asynccontextmanager
async def open_feed(demo: bool, password: str | None, base_url: str) -> AsyncIterator[Feed]:
    """A started-up feed: for the demo, on an embedded test server on a free loopback port."""
    if demo:
        from quoteboard.server import TestServer

        async with TestServer() as server:
            feed = Feed(server.base_url, "demo", name="demo")
            try:
                yield feed
            finally:
                await feed.close()
    else:
        feed = Feed(base_url, password or "", name="kabu")
        try:
            yield feed
        finally:
            await feed.close()


async def stream_quotes(
    feed: Feed,
    out: IO[str],
    err: IO[str],
    count: int | None = None,
    duration: float | None = None,
) -> int:
    """Write quotes from a started feed to ``out`` until ``count`` quotes or ``duration`` seconds."""
    done = asyncio.Event()
    written = 0

    def on_quote(quote: Quote) -> None:
        nonlocal written
        if done.is_set():
            return
        out.write(_encoder.encode(quote_record(quote)).decode() + "\n")
        out.flush()
        written += 1
        if count is not None and written >= count:
            done.set()

    def on_status(status: FeedStatus) -> None:
        if status.state != "connecting" or status.attempt:
            err.write(f"quoteboard: {feed.name} feed {status.describe()}\n")
            err.flush()

    runner = asyncio.create_task(feed.run(on_quote, on_status=on_status))
    waiter = asyncio.create_task(done.wait())
    try:
        await asyncio.wait({runner, waiter}, timeout=duration, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (runner, waiter):
            task.cancel()
        await asyncio.gather(runner, waiter, return_exceptions=True)
    if runner.done() and not runner.cancelled() and runner.exception() is not None:
        raise runner.exception()  # type: ignore[misc]
    if feed.rejected:
        err.write(f"quoteboard: {feed.rejected} undecodable frames were skipped\n")
    return written


async def _stream(demo: bool, password: str | None, base_url: str, symbols: list[SymbolKey],
                  count: int | None, duration: float | None) -> int:  # fmt: skip
    from quoteboard.kabu.protocol import parse_symbol

    keys = symbols or ([parse_symbol(s) for s in DEMO_SYMBOLS] if demo else [])
    if not keys:
        sys.stderr.write("quoteboard: no symbols: pass --symbols, e.g. --symbols 7203@1,9433@1\n")
        return 2
    async with open_feed(demo, password, base_url) as feed:
        feed.set_watch(keys)
        try:
            await feed.start()
        except KabuError as exc:
            sys.stderr.write(f"quoteboard: the station refused: {exc}\n")
            return 1
        except StationUnreachable as exc:
            sys.stderr.write(f"quoteboard: {exc}\n")
            return 1
        await stream_quotes(feed, sys.stdout, sys.stderr, count, duration)
    return 0


def run_stream(*, demo: bool, password: str | None, base_url: str, symbols: list[SymbolKey],
               count: int | None, duration: float | None) -> int:  # fmt: skip
    try:
        return asyncio.run(_stream(demo, password, base_url, symbols, count, duration))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): that is the end of the stream, not an error.
        # Point stdout at devnull so the interpreter's final flush doesn't fail again.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0

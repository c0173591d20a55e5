"""``quoteboard stream``: quotes as NDJSON for scripts, from the demo market, Kabu Station or a replay.

The same feed the board uses; each quote becomes one JSON object on one line. Status changes and
errors go to stderr as single lines, never a traceback.

``--record FILE`` writes every frame the feed receives to a recording
(:mod:`quoteboard.history.recording`) up to the quote that reaches ``--count``, so a recording holds
exactly what the stream printed (plus any undecodable frames in between). ``--replay FILE`` streams a
recording through the embedded test server, registering the recorded symbols unless ``--symbols``
says otherwise, and ends when the recording does (unless ``--loop``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import sys
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final

import msgspec

from quoteboard.commands.follow import follow
from quoteboard.feeds.contract import Feed
from quoteboard.history.recording import Recorder, RecordingError, check_record_target
from quoteboard.kabu.errors import KabuClientError, KabuError
from quoteboard.kabu.protocol import Quote, SymbolKey
from quoteboard.kabu.records import quote_record
from quoteboard.kabu.registry import DEFAULT_MAX_SYMBOLS

if TYPE_CHECKING:
    from quoteboard.alerts.book import AlertStore
    from quoteboard.feeds.event_watch import EventWatch
    from quoteboard.feeds.events import Event
    from quoteboard.feeds.source import FeedSource
    from quoteboard.history.candles import Interval
    from quoteboard.history.keeping import HistoryOptions
    from quoteboard.server.replay import Replay

__all__ = ["DEMO_SYMBOLS", "run_stream", "stream_quotes"]

DEMO_SYMBOLS: Final = ("7203@1", "9433@1", "6758@1", "9984@1", "8306@1", "7974@1")
_encoder: Final = msgspec.json.Encoder()


async def stream_quotes(
    feed: Feed,
    out: IO[str],
    err: IO[str],
    count: int | None = None,
    duration: float | None = None,
    *,
    recorder: Recorder | None = None,
    until: Awaitable[object] | None = None,
) -> int:
    """Write quotes from a started feed to ``out`` until ``count`` quotes, ``duration`` seconds or
    ``until`` is done. A ``recorder`` (subscribed to the feed's frames) is closed at the ``count``-th quote.

    Only the symbols the feed watches are written: a station pushes every symbol registered on it,
    by any program, and those are counted and reported on ``err`` at the end."""
    done = asyncio.Event()
    written = 0
    others = 0
    wanted = set(feed.registry.watched)

    def on_quote(quote: Quote) -> None:
        nonlocal written, others
        if done.is_set():
            return
        if quote.key not in wanted:
            others += 1
            return
        out.write(_encoder.encode(quote_record(quote)).decode() + "\n")
        out.flush()
        written += 1
        if count is not None and written >= count:
            done.set()
            if recorder is not None:
                recorder.close()  # frames after the last printed quote are not part of this stream

    feed.events.quote.subscribe(on_quote)
    try:
        await follow(feed, done, duration, err, until)
    finally:
        feed.events.quote.unsubscribe(on_quote)
    if feed.rejected:
        err.write(f"quoteboard: {feed.rejected} undecodable frames were skipped\n")
    if others:
        err.write(f"quoteboard: {others} quotes for symbols not asked for were skipped (the station pushes "
                  "what any program registered on it)\n")  # fmt: skip
    return written


async def _replay_over(feed: Feed, replay: Replay) -> None:
    """Done once the replay has pushed its last frame and the feed has read what was pushed."""
    await replay.finished.wait()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(2.0):  # a frame lost with a dropped socket must not hang us
            while feed.received + feed.rejected < replay.sent:
                await asyncio.sleep(0.01)


async def _stream(source: FeedSource, symbols: list[SymbolKey], recorded: list[SymbolKey] | None,
                  count: int | None, duration: float | None, record: Path | None,
                  alerts: AlertStore | None = None, command: list[str] | None = None,
                  events: EventWatch | None = None, history: HistoryOptions | None = None,
                  candles: Interval | None = None) -> int:  # fmt: skip
    from quoteboard.kabu.protocol import parse_symbol

    book = None
    if alerts is not None:
        loaded = alerts.load()
        if loaded.message:
            sys.stderr.write(f"quoteboard: {loaded.message}\n")
        book = loaded.book
        armed = book.armed_keys()
        if not armed:
            sys.stderr.write(f"quoteboard: no armed alert in {alerts.path}: set one on the board with !\n")
            return 2
        keys = list(dict.fromkeys([*symbols, *armed]))
        if len(keys) > DEFAULT_MAX_SYMBOLS:
            sys.stderr.write(f"quoteboard: {len(keys)} symbols with alerts; watching the first "
                             f"{DEFAULT_MAX_SYMBOLS} (Kabu's limit)\n")  # fmt: skip
            keys = keys[:DEFAULT_MAX_SYMBOLS]
    elif symbols:
        keys = symbols
    elif recorded is not None:
        keys = recorded
        if len(keys) > DEFAULT_MAX_SYMBOLS:
            sys.stderr.write(f"quoteboard: the recording has {len(keys)} symbols; registering the first "
                             f"{DEFAULT_MAX_SYMBOLS} (Kabu's limit): pass --symbols to choose\n")  # fmt: skip
            keys = keys[:DEFAULT_MAX_SYMBOLS]
    else:
        keys = [parse_symbol(s) for s in DEMO_SYMBOLS] if source.kind == "demo" else []
    if not keys:
        sys.stderr.write("quoteboard: no symbols: pass --symbols, e.g. --symbols 7203@1,9433@1\n")
        return 2
    if record is not None:
        try:  # refused before a station is asked anything; the Recorder checks again as it opens
            check_record_target(record)
        except RecordingError as exc:
            sys.stderr.write(f"quoteboard: {exc}\n")
            return 1
    async with source.open() as feed, _watching(feed, events), _keeping(feed, source, history):
        feed.registry.replace_watch(keys)
        try:
            refused = await feed.start()
        except KabuError as exc:
            sys.stderr.write(f"quoteboard: the station refused: {exc}\n")
            return 1
        except KabuClientError as exc:
            sys.stderr.write(f"quoteboard: {exc}\n")
            return 1
        if refused:
            said = "; ".join(f"{key}: {exc}" for key, exc in refused)
            sys.stderr.write(f"quoteboard: the station refused {said}\n")
            return 1
        try:
            recorder = Recorder(record, keys, source=feed.name) if record is not None else None
        except RecordingError as exc:
            sys.stderr.write(f"quoteboard: {exc}\n")
            return 1
        replay = feed.server.replay if feed.server is not None else None
        with recorder or contextlib.nullcontext():
            if recorder is not None:
                feed.events.frame.subscribe(recorder.write)
            until = _replay_over(feed, replay) if replay is not None else None
            if book is not None:
                from quoteboard.commands.alert_stream import stream_alerts

                await stream_alerts(feed, book, sys.stdout, sys.stderr, store=alerts, command=command,
                                    count=count, duration=duration)  # fmt: skip
                return 1 if feed.taken else 0
            if candles is not None:
                from quoteboard.commands.candle_stream import stream_candles

                written = await stream_candles(feed, [candles], sys.stdout, sys.stderr, count, duration,
                                               until=until)  # fmt: skip
                return 1 if feed.taken else 0
            try:
                written = await stream_quotes(feed, sys.stdout, sys.stderr, count, duration,
                                              recorder=recorder, until=until)  # fmt: skip
            except RecordingError as exc:
                sys.stderr.write(f"quoteboard: {exc}\n")
                return 1
        if feed.taken:  # another program's socket closed ours twice: said by the status line
            return 1
    if replay is not None and replay.finished.is_set() and (count is None or written < count):
        why = f" ({replay.error})" if replay.error else ""
        sys.stderr.write(f"quoteboard: replay of {replay.path} ended{why} after {written} quotes\n")
    return 0


@contextlib.asynccontextmanager
async def _keeping(feed: Feed, source: FeedSource, options: HistoryOptions | None) -> AsyncIterator[None]:
    """The tick store written for the block, when this process holds the station's socket."""
    from quoteboard.history.keeping import HistoryKeeper

    def say(text: str) -> None:
        sys.stderr.write(f"quoteboard: {text}\n")
        sys.stderr.flush()

    keeper = HistoryKeeper(options, on_error=say)
    await keeper.keep(feed, source.kind)
    try:
        yield
    finally:
        await keeper.stop()


@contextlib.asynccontextmanager
async def _watching(feed: Feed, events: EventWatch | None) -> AsyncIterator[None]:
    """``events`` watching ``feed`` for the block, its commands waited for after it."""
    if events is None:
        yield
        return
    events.attach(feed)
    try:
        yield
    finally:
        await events.aclose()


def run_stream(source: FeedSource, *, symbols: list[SymbolKey], count: int | None, duration: float | None,
               recorded: list[SymbolKey] | None = None, record: Path | None = None, alerts: bool = False,
               alert_command: list[str] | None = None, events: bool = False,
               event_command: list[str] | None = None, history: HistoryOptions | None = None,
               candles: Interval | None = None) -> int:  # fmt: skip
    """``quoteboard stream`` on ``source``; the exit status. ``recorded`` are a replay's symbols,
    streamed unless ``symbols`` are given; ``record`` is a recording to write (see the module
    docstring). ``alerts``: print the saved alerts that fire instead of quotes, running
    ``alert_command`` for each (see :mod:`quoteboard.commands.alert_stream`). ``events``: print the
    station's changes of state among them (:func:`quoteboard.feeds.events.event_record`), running
    ``event_command`` for each. ``history``: the tick store's options (None: no store written).
    ``candles``: print closed candles of that interval instead of quotes
    (:mod:`quoteboard.commands.candle_stream`)."""
    store = None
    if alerts:
        from quoteboard.alerts.book import AlertStore

        store = AlertStore()
    try:
        watch = _event_watch(events, event_command)
        return asyncio.run(
            _stream(
                source,
                symbols,
                recorded,
                count,
                duration,
                record,
                store,
                alert_command,
                watch,
                history,
                candles,
            )
        )
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        # The reader went away (e.g. `| head`): that is the end of the stream, not an error. Windows
        # says so with EINVAL rather than EPIPE when the pipe's reader has closed it.
        if not isinstance(exc, BrokenPipeError) and exc.errno != errno.EINVAL:
            raise
        # Point stdout at devnull so the interpreter's final flush doesn't fail again.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0


def _event_watch(lines: bool, command: list[str] | None) -> EventWatch | None:
    """What watches the events: ``lines`` prints them on stdout; a command's failure is one line on stderr."""
    if not lines and command is None:
        return None
    from quoteboard.feeds.event_watch import EventWatch
    from quoteboard.feeds.events import event_record

    def line(event: Event) -> None:
        sys.stdout.write(_encoder.encode(event_record(event)).decode() + "\n")
        sys.stdout.flush()

    def failed(text: str) -> None:
        sys.stderr.write(f"quoteboard: {text}\n")
        sys.stderr.flush()

    return EventWatch(on_event=line if lines else None, command=command, on_failure=failed)

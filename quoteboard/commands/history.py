"""``quoteboard history import|export|list``: a recording into the tick store, a symbol's ticks or
candles out of it (CSV, or Parquet with the ``parquet`` extra), and what days and symbols it holds.

Each works on the station's store, or the demo's with ``--demo`` (:mod:`quoteboard.history.store`).
Problems are one line on stderr and exit status 1; a wrong argument is a usage error (status 2).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import importlib
import io
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Final

from quoteboard.commands.options import output_file
from quoteboard.kabu.protocol import SymbolKey, parse_symbol

__all__ = ["add_history_parser", "run_history"]

FORMATS: Final = ("csv", "parquet")
TICK_COLUMNS: Final = ("time", "price", "volume", "vwap", "bid", "ask")
CANDLE_COLUMNS: Final = ("time", "open", "high", "low", "close", "volume", "vwap", "day_vwap", "ticks")
_JST: Final = datetime.timezone(datetime.timedelta(hours=9), "JST")


def _symbol(text: str) -> SymbolKey:
    try:
        return parse_symbol(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date as YYYY-MM-DD (2026-12-03), got {text!r}"
        ) from None


def add_history_parser(commands: Any) -> None:
    """The ``history`` command and its three subcommands, on ``commands`` (argparse's subparsers)."""
    from quoteboard.commands.options import input_file
    from quoteboard.history.candles import INTERVALS

    history = commands.add_parser(
        "history",
        help="the tick store: import a recording, export a symbol's ticks or candles, list what is held",
        description="The tick store the relay, or a board or stream on a station, writes (see README's "
        "History). Each subcommand works on the station's store, or with --demo on the demo's.",
    )
    actions = history.add_subparsers(dest="history_command", metavar="ACTION", required=True)
    imports = actions.add_parser("import", help="put a recording's ticks into the store")
    imports.add_argument("file", type=input_file, metavar="FILE", help="a recording made with --record")
    exports = actions.add_parser("export", help="write a symbol's ticks or candles as CSV or Parquet")
    exports.add_argument("symbol", type=_symbol, metavar="SYMBOL", help="7203 or 7203@1")
    exports.add_argument(
        "--interval",
        choices=[*INTERVALS, "tick"],
        default="1m",
        help="candles of this interval, or every tick (default 1m)",
    )
    exports.add_argument("--date", type=_date, metavar="D", help="this JST day (default: the latest held)")
    exports.add_argument("--from", dest="from_date", type=_date, metavar="D", help="from this day, with --to")
    exports.add_argument("--to", dest="to_date", type=_date, metavar="D", help="to this day, included")
    exports.add_argument("--format", choices=FORMATS, default="csv", help="default csv")
    exports.add_argument(
        "-o", "--output", type=output_file, metavar="FILE", help="write to FILE (default: stdout, CSV only)"
    )
    actions.add_parser("list", help="the days and symbols held, and their size")
    for action in (imports, exports, actions.choices["list"]):
        action.add_argument("--demo", action="store_true", help="the demo's store (the demo, replays)")


def run_history(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from quoteboard.history.store import StoreError, store_path

    path = store_path(demo=args.demo)
    try:
        if args.history_command == "import":
            return _import(args.file, path)
        if args.history_command == "list":
            return _list(path, sys.stdout)
        if args.date is not None and (args.from_date or args.to_date):
            parser.error("history export: --date, or --from and --to, not both")
        if (args.from_date is None) != (args.to_date is None):
            parser.error("history export: --from and --to go together")
        if args.format == "parquet" and args.output is None:
            parser.error("history export: Parquet needs -o FILE")
        return _export(args, path)
    except StoreError as exc:
        sys.stderr.write(f"quoteboard: {exc}\n")
        return 1


def _import(recording: Path, path: Path) -> int:
    from quoteboard.history.imports import import_recording
    from quoteboard.history.recording import RecordingError

    try:
        result = import_recording(recording, path)
    except (RecordingError, OSError) as exc:
        sys.stderr.write(f"quoteboard: {exc}\n")
        return 1
    if result.note is not None:
        sys.stderr.write(f"quoteboard: {result.note}\n")
    if not result.frames:
        sys.stderr.write(f"quoteboard: {recording} holds no frames: is it a recording made with --record?\n")
        return 1
    print(result.describe(path))
    return 0


def _list(path: Path, out: IO[str]) -> int:
    from quoteboard.history.store import TickStore

    store = TickStore(path)
    days = store.days()
    if not days:
        out.write(f"{path}: nothing held\n")
        return 0
    out.write(f"{path}: {len(days)} day{'s' if len(days) > 1 else ''}, {_size(store.size())}\n")
    for day in days:
        out.write(f"{day.day}  {len(day.symbols)} symbols  {day.ticks:,} ticks  about {_size(day.bytes)}\n")
        for key, ticks in day.symbols.items():
            out.write(f"  {key}  {ticks:,} ticks\n")
    return 0


def _size(n: int) -> str:
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def _export(args: argparse.Namespace, path: Path) -> int:
    from quoteboard.history.store import TickStore, day_number

    store = TickStore(path)
    key: SymbolKey = args.symbol
    if args.from_date is not None:
        first, last = day_number(args.from_date), day_number(args.to_date)
        if first > last:
            sys.stderr.write("quoteboard: --from comes after --to\n")
            return 1
    elif args.date is not None:
        first = last = day_number(args.date)
    else:
        latest = store.latest_day(key)
        if latest is None:
            sys.stderr.write(f"quoteboard: no ticks of {key} held in {path}\n")
            return 1
        first = last = latest
    columns, rows = (TICK_COLUMNS, _tick_rows(store, key, first, last)) if args.interval == "tick" else (
        CANDLE_COLUMNS, _candle_rows(store, key, args.interval, first, last))  # fmt: skip
    try:
        if args.format == "parquet":
            return _write_parquet(columns, list(rows), args.output)
        if args.output is None:
            _write_csv(columns, rows, sys.stdout)
            return 0
        with open(args.output, "w", encoding="utf-8", newline="") as file:
            _write_csv(columns, rows, file)
    except OSError as exc:
        sys.stderr.write(f"quoteboard: could not write {args.output} ({exc.strerror or exc})\n")
        return 1
    return 0


Row = tuple[Any, ...]


def _tick_rows(store: Any, key: SymbolKey, first: int, last: int) -> Iterator[Row]:
    for tick in store.ticks(key, first, last):
        yield (_jst(tick.time), tick.price, tick.volume, tick.vwap, tick.bid, tick.ask)


def _candle_rows(store: Any, key: SymbolKey, interval: Any, first: int, last: int) -> Iterator[Row]:
    for day in range(first, last + 1):
        for c in store.candles(key, interval, day).candles:
            yield (_jst(c.start), c.open, c.high, c.low, c.close, c.volume, c.vwap, c.day_vwap, c.ticks)


def _jst(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, _JST)


def _write_csv(columns: Sequence[str], rows: Iterator[Row], out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(value) for value in row])


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.isoformat(timespec="milliseconds")
    return repr(value) if isinstance(value, float) else str(value)


def _write_parquet(columns: Sequence[str], rows: list[Row], output: Path) -> int:
    try:
        # By name: pyarrow is an optional extra, and has no type information of its own.
        pa = importlib.import_module("pyarrow")
        parquet = importlib.import_module("pyarrow.parquet")
    except ImportError:
        sys.stderr.write('quoteboard: Parquet needs pyarrow: pip install "quoteboard[parquet]"\n')
        return 1
    types = {"time": pa.timestamp("ms", tz="Asia/Tokyo"), "ticks": pa.int64()}
    schema = pa.schema([(name, types.get(name, pa.float64())) for name in columns])
    table = pa.Table.from_pylist([dict(zip(columns, row, strict=True)) for row in rows], schema=schema)
    buffer = io.BytesIO()
    parquet.write_table(table, buffer)
    output.write_bytes(buffer.getvalue())
    return 0

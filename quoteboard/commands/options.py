"""The command line's options: argparse value types and the option groups commands share.

Each type checks its value as the command line is read, so a wrong one is a usage error of one line,
before any feed starts. Imports are lazy, as in :mod:`quoteboard.commands.cli`.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from quoteboard.kabu.protocol import DEFAULT_BASE_URL, VERIFY_BASE_URL, SymbolKey, parse_symbol

KEY_ENV = "QUOTEBOARD_KABU_KEY"
RELAY_PASSWORD_ENV = "QUOTEBOARD_RELAY_PASSWORD"
#: Marks ``--kabu`` given without a KEY (then the environment or a prompt supplies it).
ASK = object()


def symbol_list(text: str) -> list[SymbolKey]:
    """argparse type for ``--symbols 7203@1,9433``."""
    keys = []
    for part in text.split(","):
        if part.strip():
            try:
                keys.append(parse_symbol(part))
            except ValueError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None
    if not keys:
        raise argparse.ArgumentTypeError("no symbols given: use codes such as 7203@1,9433")
    return keys


def alert_command(text: str) -> list[str]:
    """argparse type for ``--alert-command CMD``: its argv, split by the platform's rules."""
    from quoteboard.alerts.command import parse_command

    try:
        return parse_command(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def event_command(text: str) -> list[str]:
    """argparse type for ``--event-command CMD``: its argv, split by the platform's rules."""
    from quoteboard.hooks import parse_command

    try:
        return parse_command(text, "--event-command")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_int(text: str) -> int:
    """argparse type for counts and sizes: a whole number above 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def port_number(text: str) -> int:
    """argparse type for ``--port``: 0-65535, 0 meaning any free port."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535 (0: any free one), got {text!r}")
    return value


def input_file(text: str) -> Path:
    """argparse type for a file to read (--replay, --positions, --nats-creds): it opens, here and now,
    so a wrong path is a usage error rather than a failure after the feed has started."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"cannot read {text}: it is a directory")
    try:
        with path.open("rb"):
            pass
    except FileNotFoundError:
        raise argparse.ArgumentTypeError(f"cannot read {text}: no such file") from None
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read {text}: {exc.strerror or exc}") from None
    return path


def output_file(text: str) -> Path:
    """argparse type for ``--record FILE``: a file (new or not) in a directory that exists and can be
    written. What may be appended to is the recorder's business (record.py)."""
    path = Path(text)
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a file name")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text}: it is a directory")
    parent = path.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text}: no directory {parent}")
    if not os.access(parent, os.W_OK) and not (path.exists() and os.access(path, os.W_OK)):
        raise argparse.ArgumentTypeError(f"cannot write {text}: the directory {parent} is not writable")
    return path


def _url(text: str, schemes: tuple[str, ...], expected: str) -> str:
    """``text`` if it is a URL of one of ``schemes`` with a host (and a port other than 0); else a usage
    error saying what was ``expected``."""
    try:
        url = urlsplit(text)
        valid = url.scheme in schemes and bool(url.hostname) and url.port != 0
    except ValueError:  # a bracket left open, a port that is not a number or out of range
        valid = False
    if not valid:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return text


def ws_url(text: str) -> str:
    """argparse type for echo's URL: ws:// or wss:// with a host."""
    return _url(text, ("ws", "wss"), "a ws:// URL such as ws://127.0.0.1:9000/")


def nats_url(text: str) -> str:
    """argparse type for ``--nats URL``: checked here (the target is built once --nats-creds is known).
    The message never repeats the URL: it may hold a password."""
    from quoteboard.nats.link import NatsTarget

    try:
        NatsTarget.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def list_name(text: str) -> str:
    """argparse type for ``--list NAME``: a usable watchlist name (checked against no other list)."""
    from quoteboard.store.watchlist import Watchlists

    name = text.strip()
    problem = Watchlists({}).problem_with_name(name)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return name


def base_url(text: str) -> str:
    """argparse type for ``--kabu-url``: an http(s) URL with a host, e.g. http://localhost:18080/kabusapi."""
    return _url(text.strip(), ("http", "https"), f"an http:// URL such as {DEFAULT_BASE_URL}").rstrip("/")


def positive_float(text: str) -> float:
    """argparse type for durations, rates, speeds and intervals: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def clock_time_arg(text: str) -> datetime.time:
    """argparse type for a time of day, ``HH:MM`` (24-hour)."""
    try:
        return datetime.datetime.strptime(text, "%H:%M").time()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a time of day as HH:MM (07:55), got {text!r}") from None


def add_event_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--event-command",
        type=event_command,
        metavar="CMD",
        help="run CMD when the station's state changes (live, stalled, reconnecting for 30 s, unreachable, "
        "logged_out, wrong_password, taken), with QUOTEBOARD_EVENT, _PREVIOUS, _DETAIL and _TIME in its "
        "environment (split like --alert-command, never run through a shell; 10 s at most)",
    )


def add_station_choice(parser: argparse.ArgumentParser, *, required: bool, verb: str) -> Any:
    """--demo or --kabu [KEY], one of them; returns the group for more choices."""
    feed = parser.add_mutually_exclusive_group(required=required)
    feed.add_argument("--demo", action="store_true", help=f"{verb} the embedded simulated market")
    feed.add_argument(
        "--kabu",
        nargs="?",
        const=ASK,
        metavar="KEY",
        help=f"{verb} Kabu Station; KEY is its API password (else ${KEY_ENV}, else the one "
        "`quoteboard login` kept, else a prompt)",
    )
    return feed


def add_nats_options(parser: argparse.ArgumentParser, group: Any, help: str) -> None:
    """--nats [URL] in ``group`` (without URL: $QUOTEBOARD_NATS_URL, else $NATS_URL) and --nats-creds."""
    group.add_argument("--nats", nargs="?", const=ASK, type=nats_url, metavar="URL", help=help)
    parser.add_argument(
        "--nats-creds",
        type=input_file,
        metavar="FILE",
        help="a NATS .creds file (JWT and NKey) to log in with",
    )


def add_feed_options(parser: argparse.ArgumentParser, *, required: bool, loop: bool = False) -> None:
    feed = add_station_choice(parser, required=required, verb="use")
    add_nats_options(
        parser,
        feed,
        "use the quotes a `quoteboard relay --nats` publishes on this NATS server (nats://[user:pass@]host"
        ":port, tls:// for TLS; without URL $QUOTEBOARD_NATS_URL or $NATS_URL)",
    )
    feed.add_argument(
        "--replay",
        type=input_file,
        metavar="FILE",
        help="replay a recording made with --record, through the embedded test server, with its "
        "recorded timing (registers the recorded symbols unless --symbols is given)",
    )
    add_replay_pacing(parser, loop=loop)
    add_stall_after(parser)
    parser.add_argument(
        "--record",
        type=output_file,
        metavar="FILE",
        help="append every frame received to FILE (NDJSON, one frame per line with its receive time; "
        "never the password) for a later --replay",
    )
    parser.add_argument(
        "--kabu-url",
        type=base_url,
        default=DEFAULT_BASE_URL,
        metavar="URL",
        help=f"Kabu Station's API base URL (default {DEFAULT_BASE_URL}; verification: {VERIFY_BASE_URL})",
    )
    parser.add_argument(
        "--symbols",
        type=symbol_list,
        default=[],
        metavar="LIST",
        help="comma-separated codes, e.g. 7203@1,9433 (a bare code means exchange 1, the TSE)",
    )
    parser.add_argument(
        "--alert-command",
        type=alert_command,
        metavar="CMD",
        help="run CMD when a price alert fires, with QUOTEBOARD_ALERT_SYMBOL, _NAME, _RULE, _PRICE and "
        "_TIME in its environment (split by this system's rules, cmd.exe's on Windows, but never run "
        "through a shell; 10 s at most)",
    )
    add_event_command(parser)
    add_history_options(parser)


def add_history_options(parser: argparse.ArgumentParser) -> None:
    """--keep-days N and --no-history: the tick store of a process holding the station's socket."""
    parser.add_argument(
        "--keep-days",
        type=positive_int,
        default=20,
        metavar="N",
        help="keep the tick store's latest N trading days (days that hold ticks; default 20)",
    )
    parser.add_argument(
        "--no-history",
        action="store_true",
        help="write no tick store (by default every quote that moved is kept for charts and export, "
        "when this process holds the station's socket)",
    )


def history_options(args: argparse.Namespace) -> Any:
    """The :class:`~quoteboard.history.keeping.HistoryOptions` of --keep-days, None for --no-history."""
    from quoteboard.history.keeping import HistoryOptions

    return None if args.no_history else HistoryOptions(keep_days=args.keep_days)


def add_stall_after(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stall-after",
        type=positive_float,
        default=30.0,
        metavar="S",
        help="with no quote for S seconds, ask the station whether it has newer trades than its PUSH "
        "socket brought; if so the socket is stalled and reopened (default 30)",
    )


def add_replay_pacing(parser: argparse.ArgumentParser, *, loop: bool, day: bool = False) -> None:
    parser.add_argument(
        "--speed",
        type=positive_float,
        metavar="X",
        help="with --replay: play X times as fast as recorded (default 1; 60 plays an hour a minute)"
        + ("; with --day: run the station's clock X times as fast" if day else ""),
    )
    if loop:
        parser.add_argument(
            "--loop", action="store_true", help="with --replay: start over after the last frame"
        )

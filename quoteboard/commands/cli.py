"""Command-line parsing only: build the options, then hand over to the board or a headless command.

Imports are lazy so ``quoteboard stream`` never loads Textual and ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from quoteboard import __version__
from quoteboard.commands.options import (
    ASK,
    KEY_ENV,
    RELAY_PASSWORD_ENV,
    add_event_command,
    add_feed_options,
    add_history_options,
    add_nats_options,
    add_replay_pacing,
    add_stall_after,
    add_station_choice,
    base_url,
    clock_time_arg,
    history_options,
    input_file,
    list_name,
    port_number,
    positive_float,
    positive_int,
    ws_url,
)
from quoteboard.commands.sources import board_nats, nats_target, open_replay, resolve_password
from quoteboard.history.candles import INTERVALS
from quoteboard.kabu.protocol import DEFAULT_BASE_URL, VERIFY_BASE_URL

DESCRIPTION = f"""\
A live quote board for Kabu Station (kabuステーション), with a built-in demo market.

  quoteboard --demo                 the board on the embedded simulated market (no account needed)
  quoteboard --kabu [KEY]           the board on your Kabu Station (KEY is the API password)
  quoteboard --replay FILE          the board on a recording (Kabu pushes nothing after the close)
  quoteboard stream --demo          quotes as NDJSON, one object per line, for scripts
  quoteboard relay --kabu           share one station: a Kabu API for many programs at once
  quoteboard --nats [URL]           the board on what a relay publishes to NATS (relay --nats)
  quoteboard serve                  the test server alone: echo + a Kabu-compatible market
  quoteboard echo                   a WebSocket echo client for serve's echo server
  quoteboard bench                  how much feed this machine can take
  quoteboard history list           the tick store: import, export, list the days held
  quoteboard login                  keep the API password in this system's credential store

Record during the day with --record FILE (the board or stream), replay in the evening with
--replay FILE [--speed X].

The API password comes from --kabu KEY, else ${KEY_ENV}, else the one `quoteboard login`
kept in the system's credential store, else a prompt; it is never shown or saved in a file of
ours, nor written to a recording. Prefer ${KEY_ENV} or the prompt: other users
of this computer can read a process's command line.
Kabu Station's API listens on {DEFAULT_BASE_URL} (production) or
{VERIFY_BASE_URL} (verification): choose with --kabu-url.
"""


RELAY_DESCRIPTION = """\
Kabu Station serves one PUSH socket, and a new one closes the old: two programs on one
station cut each other off. The relay holds the station's one socket and one token, and
serves a Kabu-compatible API to any number of unchanged Kabu clients: point them at
http://HOST:PORT/kabusapi instead of the station. Each client gets its own token, and
its PUSH sockets that present it (X-API-KEY or ?token=) get only the symbols it
registered (a socket without a token gets every symbol, as at the station); the
station holds the union of all clients' symbols (at most 50, shared).

  quoteboard relay --kabu
      then: quoteboard --kabu --kabu-url http://localhost:18090/kabusapi
      and your scripts with base URL http://localhost:18090/kabusapi, unchanged
  quoteboard relay --kabu --host 0.0.0.0 --password
      for other machines on the LAN (clients give PW as their API password)
  quoteboard relay --kabu --nats nats://127.0.0.1:4222
      also publish every quote once on a NATS server (`nats-server -js`): then
      quoteboard --nats URL and quoteboard stream --nats URL anywhere subscribe
"""


def keys_help() -> str:
    """The board's keys for ``--help``, from the same list as its bindings and help screen."""
    from quoteboard.board.keys import help_lines

    width = max(len(key) for key, _ in help_lines())
    return "Keys on the board:\n" + "\n".join(f"  {key:<{width}}  {what}" for key, what in help_lines())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quoteboard",
        description=DESCRIPTION,
        epilog=keys_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"quoteboard {__version__}")
    add_feed_options(parser, required=False)
    parser.add_argument(
        "--list",
        type=list_name,
        metavar="NAME",
        help="open the watchlist NAME (its tab), making it if there is none of that name",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    stream = commands.add_parser(
        "stream",
        help="print quotes as NDJSON (one JSON object per line)",
        description="Register the symbols and print one JSON object per quote per line, with the keys "
        "symbol, exchange, name, last, change, change_pct, bid, bid_qty, ask, ask_qty, volume, vwap, "
        "high, low, time, received_at. bid and ask are in the usual sense (bid below ask). Status "
        "changes go to stderr. With --record FILE every frame received up to the last quote printed "
        "is appended to FILE; --replay FILE streams such a recording again and ends with it.",
    )
    add_feed_options(stream, required=True, loop=True)
    stream.add_argument("--count", type=positive_int, metavar="N", help="exit after N quotes")
    stream.add_argument("--duration", type=positive_float, metavar="S", help="exit after S seconds")
    stream.add_argument(
        "--alerts",
        action="store_true",
        help="print only fired price alerts (those armed in alerts.toml, set on the board with !), as "
        "NDJSON with the keys symbol, name, rule, price, time; their symbols are registered with "
        "--symbols; --count counts alerts; ends when none is left armed",
    )
    stream.add_argument(
        "--events",
        action="store_true",
        help="also print the station's changes of state (those --event-command is run for) as NDJSON "
        "lines with the keys event, previous, detail, time, among the quotes",
    )
    stream.add_argument(
        "--candles",
        choices=INTERVALS,
        metavar="INTERVAL",
        help="print closed candles instead of quotes (1m, 5m, 15m, 1h or 1d), as NDJSON with the keys "
        "symbol, exchange, interval, start, open, high, low, close, volume, vwap, day_vwap, ticks; "
        "--count counts candles; those still forming are printed when the stream ends",
    )

    relay = commands.add_parser(
        "relay",
        help="share one station: one PUSH socket upstream, a Kabu-compatible API for many clients",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=RELAY_DESCRIPTION,
    )
    add_station_choice(relay, required=True, verb="relay")
    relay.add_argument(
        "--kabu-url",
        type=base_url,
        default=DEFAULT_BASE_URL,
        metavar="URL",
        help=f"the station's API base URL (default {DEFAULT_BASE_URL})",
    )
    relay.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to serve on (default 127.0.0.1; any other needs --password)",
    )
    add_stall_after(relay)
    relay.add_argument("--port", type=port_number, default=18090, help="port (default 18090)")
    relay.add_argument(
        "--password",
        nargs="?",
        const=ASK,
        metavar="PW",
        help=f"the password clients must give to POST /token (else ${RELAY_PASSWORD_ENV}, else a prompt); "
        "without it, on loopback, clients use the station's own API password",
    )
    relay.add_argument(
        "--allow-orders",
        action="store_true",
        help="forward order endpoints (sendorder, cancelorder): every client can then trade "
        "on your account; refused with 403 by default",
    )
    relay.add_argument(
        "--lease",
        type=positive_float,
        default=120.0,
        metavar="S",
        help="release a client that has no socket and made no call for S seconds (default 120)",
    )
    relay.add_argument(
        "--max-clients", type=positive_int, default=256, metavar="N", help="clients at most (default 256)"
    )
    add_nats_options(
        relay,
        relay,
        "also publish every quote on this NATS server and take registrations there (nats://[user:pass@]"
        "host:port, tls:// for TLS; without URL $QUOTEBOARD_NATS_URL or $NATS_URL); beyond loopback it "
        "needs credentials",
    )
    relay.add_argument(
        "--nats-lease",
        type=positive_float,
        default=30.0,
        metavar="S",
        help="release a NATS client that renewed no lease for S seconds (default 30)",
    )
    add_event_command(relay)
    add_history_options(relay)

    serve = commands.add_parser(
        "serve",
        help="run the test server: echo on / and a Kabu-compatible station on /kabusapi",
        description="A WebSocket echo server (ws://HOST:PORT/, to try a connection) and a Kabu-compatible "
        "simulated station (http://HOST:PORT/kabusapi, PUSH on ws://HOST:PORT/kabusapi/websocket) "
        "on one port. With --replay FILE the station pushes a recording instead of its simulated market: the "
        "recorded frames of the symbols a client registers, in the recorded order and timing "
        "(scaled by --speed), starting when a client registers a symbol and pausing while no PUSH "
        "socket is open; GET /board answers the last replayed frame.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=port_number, default=9000, help="port (default 9000; 0 picks a free one)"
    )
    serve.add_argument("--password", help="accept only this API password (default: accept any)")
    source = serve.add_mutually_exclusive_group()
    source.add_argument(
        "--rate",
        type=positive_float,
        help="PUSH frames per second in total (default: one per symbol every ~400 ms, like Kabu)",
    )
    source.add_argument(
        "--replay", type=input_file, metavar="FILE", help="push a recording made with --record instead"
    )
    add_replay_pacing(serve, loop=True, day=True)
    serve.add_argument(
        "--day",
        action="store_true",
        help="play a trading day on the station's clock: pre-open quotes from 08:00, trading 09:00-11:30 "
        "and 12:30-15:25, the closing auction to 15:30, silence over lunch and after the close; with "
        "the fault controls POST /serve/fault and GET /serve/day (loopback only)",
    )
    serve.add_argument(
        "--day-start",
        type=clock_time_arg,
        metavar="HH:MM",
        help="with --day: the station time (JST, today) the day starts at (default 07:55)",
    )
    serve.add_argument(
        "--positions",
        type=input_file,
        metavar="FILE",
        help='the portfolio GET /positions answers, as JSON: [{"symbol": "7203", "side": "long", '
        '"qty": 300, "price": 2750}, ...]; side long or short, price the average in yen, "margin": true '
        "for a long on margin (a short always is). Default: a small demo portfolio",
    )

    echo = commands.add_parser(
        "echo",
        help="an echo client for serve's echo server: send a message, print the echo and its round trip",
    )
    echo.add_argument(
        "url", nargs="?", type=ws_url, default="ws://127.0.0.1:9000/", help="default ws://127.0.0.1:9000/"
    )
    echo.add_argument("--interval", type=positive_float, default=1.0, metavar="S", help="seconds between")
    echo.add_argument("--count", type=positive_int, metavar="N", help="stop after N echoes")

    for name, what in (
        ("login", "keep the API password in this system's credential store (read without echo, or "
         "from stdin); --kabu then uses it"),
        ("logout", "remove the API password `quoteboard login` kept"),
    ):  # fmt: skip
        account = commands.add_parser(name, help=what, description=what)
        account.add_argument(
            "--kabu-url",
            type=base_url,
            default=DEFAULT_BASE_URL,
            metavar="URL",
            help=f"the station the password is for (default {DEFAULT_BASE_URL}; one password per URL)",
        )

    from quoteboard.commands.history import add_history_parser

    add_history_parser(commands)

    bench = commands.add_parser(
        "bench",
        help="measure how many quotes a second this machine can take",
        description="Starts the test server in another process pushing Kabu board frames as fast as it "
        "can, and measures a bare websockets+decode client against quoteboard's own ingest path.",
    )
    bench.add_argument("--messages", type=positive_int, default=200_000, metavar="N")
    bench.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    bench.add_argument("--tui", action="store_true", help="benchmark the board on screen instead")
    bench.add_argument(
        "--chart", action="store_true", help="--tui: with the chart of the first symbol open, at 125 msg/s"
    )
    bench.add_argument(
        "--alerts",
        type=positive_int,
        default=0,
        metavar="N",
        help="the pipeline checks N armed price alerts (none crossing) on every quote; each round also "
        "runs it without them, and both ratios are reported",
    )
    bench.add_argument(
        "--relay",
        action="store_true",
        help="benchmark `quoteboard relay` against a bare websockets broadcast to the same clients instead",
    )
    bench.add_argument(
        "--nats",
        dest="bench_nats",
        action="store_true",
        help="benchmark `quoteboard relay --nats` with 1 and N subscribers over one nats-server instead",
    )
    bench.add_argument(
        "--clients", type=positive_int, default=100, metavar="N", help="--relay: PUSH clients (default 100)"
    )
    bench.add_argument(
        "--subscribers", type=positive_int, default=100, metavar="N", help="--nats: subscribers (default 100)"
    )
    bench.add_argument(
        "--rate",
        type=positive_float,
        default=125.0,
        metavar="R",
        help="--relay, --nats: frames a second the upstream pushes, 50 symbols in all (default 125)",
    )
    bench.add_argument(
        "--window",
        type=positive_float,
        default=10.0,
        metavar="S",
        help="--relay, --nats: seconds measured in each turn, after a 2 s warm-up (default 10)",
    )
    bench.add_argument(
        "--rounds",
        type=positive_int,
        default=2,
        metavar="N",
        help="--relay, --nats: turns of each kind (default 2)",
    )
    bench.add_argument(
        "--day",
        action="store_true",
        help="play a trading day with its faults through a relay to the board, stream and a plain client",
    )
    bench.add_argument(
        "--history",
        action="store_true",
        help="benchmark the tick store: write rate, cost to the ingest, bytes a tick, a day of candles",
    )
    bench.add_argument(
        "--speed",
        type=positive_float,
        metavar="X",
        help="--day: times real time (default 120: 4 minutes; --quick: 600)",
    )
    bench.add_argument(
        "--quick",
        action="store_true",
        help="--day: a short day for tests (600x from 12:20, 20 s); --history: a 10-minute day",
    )
    return parser


def utf8_output() -> None:
    """Make stdout and stderr write UTF-8 to files and pipes, and never crash on a console.

    Windows gives a redirected stream the ANSI code page (cp1252, cp932), which cannot encode the
    Japanese names or the help's arrows, and which no JSON reader expects. A console keeps its own
    encoding (Python writes to a Windows console through the wide-char API, in full Unicode).
    """
    for stream in (sys.stdout, sys.stderr):
        # None under pythonw; something else when embedded or captured: not ours to change.
        if not isinstance(stream, io.TextIOWrapper):
            continue
        if stream.isatty():
            # What the console cannot show becomes "?" (stderr keeps its backslashreplace).
            if stream.errors == "strict":
                stream.reconfigure(errors="replace")
        else:
            # Strict UTF-8 only fails on a lone surrogate (a path's undecodable byte): escape it.
            errors = "backslashreplace" if stream.errors == "strict" else stream.errors
            stream.reconfigure(encoding="utf-8", errors=errors)


def main(argv: Sequence[str] | None = None) -> int:
    utf8_output()
    parser = build_parser()
    args = parser.parse_args(argv)
    nats = nats_target(args, parser)
    command = args.command
    replay: Path | None = getattr(args, "replay", None)
    day = getattr(args, "day", False)
    if command == "serve" and day and (replay is not None or args.loop):
        parser.error("--day plays the simulated market: not with --replay or --loop")
    if command == "serve" and not day and args.day_start is not None:
        parser.error("--day-start applies to --day")
    paced = getattr(args, "speed", None) is not None or getattr(args, "loop", False)
    if replay is None and not day and paced:
        parser.error("--speed and --loop apply to --replay FILE")
    speed = args.speed if getattr(args, "speed", None) is not None else 1.0
    if command == "serve":
        from quoteboard.server import serve_forever

        day_start = {} if args.day_start is None else {"day_start": args.day_start}
        return serve_forever(args.host, args.port, args.password, args.rate, replay=replay,
                             speed=speed, loop=args.loop, positions=args.positions, day=day,
                             **day_start)  # fmt: skip
    if command == "echo":
        from quoteboard.commands.echo import run_echo

        return run_echo(args.url, args.interval, args.count)
    if command == "bench":
        from quoteboard.bench import run_bench

        return run_bench(args)
    if command == "history":
        from quoteboard.commands.history import run_history

        return run_history(args, parser)
    if command in ("login", "logout"):
        from quoteboard.commands.credentials import run_login, run_logout

        return (run_login if command == "login" else run_logout)(args.kabu_url)
    password = resolve_password(args.kabu, station=args.kabu_url) if args.kabu is not None else None
    from quoteboard.feeds.source import FeedSource

    if command == "relay":
        from quoteboard.relay.runner import run_relay

        source = FeedSource("demo") if args.demo else FeedSource.kabu(args.kabu_url, password)
        source = replace(source, stall_after=args.stall_after)
        relay_password = None
        if args.password is not None or os.environ.get(RELAY_PASSWORD_ENV):
            relay_password = resolve_password(args.password, RELAY_PASSWORD_ENV, "relay password")
        return run_relay(
            source,
            host=args.host,
            port=args.port,
            password=relay_password,
            allow_orders=args.allow_orders,
            lease=args.lease,
            max_clients=args.max_clients,
            nats=nats,
            nats_lease=args.nats_lease,
            event_command=args.event_command,
            history=history_options(args),
        )

    kabu = FeedSource.kabu(args.kabu_url, password)
    recorded = None
    if replay is not None:
        opened = open_replay(replay, speed, getattr(args, "loop", False))
        if opened is None:
            return 1
        source, recorded = opened
    elif nats is not None:
        source = FeedSource.of_nats(nats)
    elif args.demo or password is None:
        source = FeedSource("demo")
    else:
        source = kabu
    source, kabu = (replace(s, stall_after=args.stall_after) for s in (source, kabu))
    if command == "stream":
        if args.alert_command is not None and not args.alerts:
            parser.error("--alert-command with stream needs --alerts (a plain stream prints quotes)")
        if args.candles is not None and (args.alerts or args.events or args.record is not None):
            parser.error("--candles prints candles alone: not with --alerts, --events or --record")
        from quoteboard.commands.stream import run_stream

        return run_stream(source, symbols=args.symbols, recorded=recorded, count=args.count,
                          duration=args.duration, record=args.record, alerts=args.alerts,
                          alert_command=args.alert_command, events=args.events,
                          event_command=args.event_command, history=history_options(args),
                          candles=args.candles)  # fmt: skip
    from quoteboard.board.launch import run_board

    return run_board(source, kabu, symbols=args.symbols, recorded=recorded, record=args.record,
                     list_name=args.list, alert_command=args.alert_command, event_command=args.event_command,
                     nats=board_nats(nats), history=history_options(args))  # fmt: skip


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

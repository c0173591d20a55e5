"""``quoteboard bench --tui``: the board itself, in a real terminal, under a paced Kabu feed.

For each rate (125 and 1000 quotes a second over 50 symbols) this starts the test server in another
process, its market stamping every PUSH frame's ``CurrentPriceTime`` with the moment it is built for
sending (microseconds), and runs the real board in a 200x64 tmux window on it, drawing on that
pane. Inside the board a probe notes, for each new quote the table draws, the delay from that stamp
to the moment its row is rendered; and the board's own CPU time (``time.process_time``, every
thread) over a measuring window after a warm-up. Without tmux (Windows, say) the board runs on
Textual's headless driver instead, which renders the same but writes nothing to a terminal; the
report says which it was.

The figures are for README, not for the test suite: timings on a shared machine are noise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from array import array
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from quoteboard.kabu.records import JST

__all__ = ["run_tui_bench"]

RATES: Final = (125.0, 1000.0)
#: With the chart open (``--chart``): Kabu's own pace.
CHART_RATES: Final = (125.0,)
SIZE: Final = (200, 64)
SYMBOLS: Final = 50
WARMUP: Final = 3.0
WINDOW: Final = 15.0
TARGETS: Final = {125.0: 10.0, 1000.0: 25.0}  # % of one core
TARGET_DELAY_MS: Final = 50.0
_TIME_FIELD: Final = re.compile(rb'"CurrentPriceTime":"[^"]*"')


# -- the paced server, in its own process -------------------------------------------------------------


def _stamped_market(seed: int) -> Any:
    from quoteboard.server.market import Market

    class StampedMarket(Market):
        """The simulated market, with each frame's time replaced by its send time in microseconds."""

        def frame(self, key: str) -> bytes:
            data = super().frame(key)
            now = datetime.now(JST).isoformat(timespec="microseconds").encode()
            return _TIME_FIELD.sub(b'"CurrentPriceTime":"' + now + b'"', data, count=1)

    return StampedMarket(seed)


def _serve(conn: Any, rate: float) -> None:
    from quoteboard.server import TestServer
    from quoteboard.server.app import KabuStation

    async def main() -> None:
        server = TestServer(rate_limit=None)
        # The paced, stamped station in place of the default one (served from the start).
        server.kabu = KabuStation(rate=rate, rate_limit=None, market=_stamped_market(1))
        async with server:
            conn.send(server.base_url)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


class PacedServer:
    """The test server pushing ``rate`` stamped frames a second in total, in a spawned process."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.base_url = ""
        ctx = multiprocessing.get_context("spawn")
        self._parent, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, rate), daemon=True)

    def __enter__(self) -> PacedServer:
        self._process.start()
        if not self._parent.poll(60):
            self._process.kill()
            raise RuntimeError("the test server process did not start within 60 s")
        self.base_url = self._parent.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.kill()
        self._process.join(5)


# -- the probe inside the board -----------------------------------------------------------------------


def _sent_at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


class _DayHistory:
    """A whole day of one-minute candles for the charted symbol (the paced market has no morning):
    every redraw of the chart is then a full one, as on a board that ran since 09:00."""

    async def candles(self, key: Any, interval: Any, day: Any = None) -> Any:
        from quoteboard.bench.chart import day_of_candles
        from quoteboard.history.source import History
        from quoteboard.history.tape import regroup

        candles = day_of_candles()
        return History(key, interval, regroup(candles, interval), candles[0].start)


def probe_board(
    base_url: str,
    keys: list[str],
    warmup: float,
    window: float,
    out: Path,
    headless: bool,
    chart: bool = False,
) -> None:
    """Run the real board on ``base_url`` with a probe; write the measurements to ``out`` and exit.
    With ``chart``, the chart of the first symbol is open over the table while it is measured."""
    from quoteboard.board.app import QuoteboardApp
    from quoteboard.board.screen import MainScreen
    from quoteboard.board.widgets.chart_screen import ChartScreen
    from quoteboard.board.widgets.quote_table import QuoteTable
    from quoteboard.board.widgets.table_lines import TableLines
    from quoteboard.feeds.source import FeedSource
    from quoteboard.kabu.protocol import SymbolKey, parse_symbol
    from quoteboard.store.watchlist import WatchlistStore

    delays = array("d")
    drawn: dict[SymbolKey, str | None] = {}
    measuring = False
    original = QuoteTable._render_row

    def render_row(self: TableLines, row: Any, cursor: bool) -> Any:
        strip = original(self, row, cursor)
        quote = row.quote
        # Count each quote once, when its row is first drawn (cursor moves and flash ends redraw it).
        if measuring and quote is not None and quote.time and drawn.get(row.key) != quote.time:
            delays.append(time.time() - _sent_at(quote.time))
        drawn[row.key] = quote.time if quote is not None else None
        return strip

    # The probe wraps the table's row renderer, in this process only (the board's, spawned for the bench);
    # mypy forbids assigning to a method, which is the point here.
    QuoteTable._render_row = render_row  # type: ignore[method-assign]

    class ProbedBoard(QuoteboardApp):
        async def on_mount(self) -> None:
            # No super().on_mount(): Textual calls the handler of every class in the MRO itself, so
            # calling it too would start the board twice (two frame clocks, two feeds).
            self.run_worker(self._measure(), exit_on_error=False)

        async def _measure(self) -> None:
            nonlocal measuring
            while not all(row.quote is not None for row in self.board) or self.feed is None:
                await asyncio.sleep(0.1)
            chart_screen = None
            if chart:
                self.feed_control.history = _DayHistory()
                main = self.screen
                assert isinstance(main, MainScreen)
                main.action_chart()
                while not isinstance(self.screen, ChartScreen) or not self.screen.candles:
                    await asyncio.sleep(0.1)
                chart_screen = self.screen
            await asyncio.sleep(warmup)
            redraws = chart_screen.view.redraws if chart_screen is not None else 0
            feed = self.feed
            cpu0, wall0, pushed0 = time.process_time(), time.monotonic(), feed.received
            measuring = True
            await asyncio.sleep(window)
            measuring = False
            cpu1, wall1 = time.process_time(), time.monotonic()
            result = {
                "cpu_percent": 100 * (cpu1 - cpu0) / (wall1 - wall0),
                "msg_s": (feed.received - pushed0) / (wall1 - wall0),
                "window_s": wall1 - wall0,
                "rows_drawn": len(delays),
                "delays_ms": [1000 * d for d in delays],
                "symbols": len(self.board),
                "size": list(self.size),
                "headless": headless,
                "chart_redraws": (chart_screen.view.redraws - redraws) if chart_screen is not None else None,
            }
            partial = out.with_suffix(".partial")  # renamed when whole: the reader never sees half
            partial.write_text(json.dumps(result), encoding="utf-8")
            partial.replace(out)
            self.exit(0)

    app = ProbedBoard(
        sources=[FeedSource.kabu(base_url, "bench")],
        symbols=[parse_symbol(key) for key in keys],
        store=WatchlistStore(out.parent / "watchlist.toml"),
        max_symbols=len(keys),
        tune_gc=True,  # as run_board starts it
    )
    app.run(headless=headless, size=SIZE if headless else None)


# -- orchestration --------------------------------------------------------------------------------------


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


#: The interpreter the board runs in (tests point it at a failing one; sys.executable itself must
#: stay: multiprocessing's spawn reads it once, on first import, for every later child).
BOARD_PYTHON: str | None = None


def _run_once(
    rate: float, keys: list[str], warmup: float, window: float, use_tmux: bool, chart: bool = False
) -> dict[str, Any]:
    with PacedServer(rate) as server, tempfile.TemporaryDirectory(prefix="quoteboard-bench-") as tmp:
        out = Path(tmp) / "result.json"
        command = [
            BOARD_PYTHON or sys.executable, "-m", "quoteboard.bench.screen", "--probe", server.base_url,
            ",".join(keys),
            str(warmup), str(window), str(out), "headless" if not use_tmux else "terminal",
            "chart" if chart else "table",
        ]  # fmt: skip
        env = {**os.environ, "QUOTEBOARD_CONFIG_DIR": tmp}
        session = f"quoteboard-bench-{os.getpid()}"
        exited = Path(tmp) / "exit-status"
        if use_tmux:
            width, height = SIZE
            # The board draws on the pane itself (Textual writes to stderr: no redirection), with its
            # environment on the command line (a running tmux server would not pass ours on), and
            # without COLUMNS/LINES, which a pane's shell may have from the server's first 80x24
            # and which would win over the pane's real size. The pane outlives a failed board so
            # that what it printed can be read back.
            shell = (
                f"unset COLUMNS LINES; QUOTEBOARD_CONFIG_DIR={_quote(tmp)} "
                f"{' '.join(_quote(part) for part in command)}; echo $? > {_quote(str(exited))}; sleep 600"
            )
            subprocess.run(
                [*_TMUX, "new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), shell],
                check=True,
            )
            process = None
        else:
            process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + warmup + window + 60
            while not out.exists():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the board gave no result at {rate:g} msg/s within the time allowed")
                if process is not None and process.poll() is not None:
                    raise RuntimeError(f"the board exited with status {process.returncode} before the end")
                if exited.exists():
                    raise RuntimeError(f"the board exited before the end: {_last_words(session)}")
                time.sleep(0.2)
            result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        finally:
            if use_tmux:
                subprocess.run([*_TMUX, "kill-session", "-t", session], check=False, capture_output=True)
            elif process is not None:
                process.kill()
                process.wait()
    delays = result.pop("delays_ms")
    result.update(
        rate=rate,
        delay_ms_p50=_percentile(delays, 0.5),
        delay_ms_p99=_percentile(delays, 0.99),
        delays=len(delays),
        target_cpu_percent=TARGETS.get(rate),
    )
    return result


#: A tmux server of the bench's own (its own socket): the user's sessions, and a kill-server of
#: theirs, and the bench's stay out of each other's way.
_TMUX: Final = ("tmux", "-L", f"quoteboard-bench-{os.getpid()}")


def _last_words(session: str) -> str:
    """The last lines a failed board left on its tmux pane (its traceback, say), as one line."""
    pane = subprocess.run([*_TMUX, "capture-pane", "-p", "-t", session], capture_output=True, text=True)
    lines = [line.strip() for line in pane.stdout.splitlines() if line.strip()]
    return " | ".join(lines[-3:]) or "it printed nothing"


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def run_tui_bench(args: argparse.Namespace) -> int:
    """``quoteboard bench --tui``; returns the exit status."""
    from quoteboard.server.catalogue import CATALOGUE

    keys = list(CATALOGUE)[:SYMBOLS]
    use_tmux = shutil.which("tmux") is not None
    if not use_tmux and not args.json:
        print("quoteboard bench --tui: tmux not found, running the board headless", file=sys.stderr)
    results = []
    chart = bool(getattr(args, "chart", False))
    for rate in CHART_RATES if chart else RATES:
        if not args.json:
            print(f"quoteboard bench --tui: {len(keys)} symbols at {rate:g} msg/s "
                  f"({WARMUP:g} s warm-up, {WINDOW:g} s measured)…", file=sys.stderr)  # fmt: skip
        try:
            results.append(_run_once(rate, keys, WARMUP, WINDOW, use_tmux, chart))
        except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
            print(f"quoteboard bench --tui: {exc}", file=sys.stderr)
            return 1
    report = {
        "terminal": "tmux" if use_tmux else "headless", "size": list(SIZE), "chart": chart, "runs": results,
    }  # fmt: skip
    if args.json:
        print(json.dumps(report))
        return 0
    for run in results:
        if tuple(run["size"]) != SIZE:
            print(f"quoteboard bench --tui: the board ran {run['size'][0]}x{run['size'][1]}, "
                  f"not {SIZE[0]}x{SIZE[1]}: the figures are not comparable", file=sys.stderr)  # fmt: skip
        target = run["target_cpu_percent"]
        line = (
            f"{run['rate']:>6g} msg/s offered, {run['msg_s']:7.1f} received: CPU {run['cpu_percent']:5.1f} % "
            f"of a core (target <= {target:g} %)"
        )
        if run["delay_ms_p50"] is not None:
            line += (
                f", delay to screen p50 {run['delay_ms_p50']:.1f} ms, "
                f"p99 {run['delay_ms_p99']:.1f} ms (target p50 <= {TARGET_DELAY_MS:g} ms)"
            )
        if run.get("chart_redraws") is not None:
            line += f", chart open: {run['chart_redraws']} redraws in {run['window_s']:.0f} s"
        print(line)
    return 0


def _probe_main(argv: list[str]) -> None:
    base_url, keys, warmup, window, out, mode, view = argv
    probe_board(
        base_url,
        keys.split(","),
        float(warmup),
        float(window),
        Path(out),
        mode == "headless",
        view == "chart",
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--probe"]:
        _probe_main(sys.argv[2:])
    else:  # the same as `quoteboard bench --tui`, options and --help included: run as that command,
        # since the command line imports this module (importing it back would tie the two in a circle)
        command = [sys.executable, "-m", "quoteboard", "bench", "--tui", *sys.argv[1:]]
        try:
            sys.exit(subprocess.run(command, check=False).returncode)
        except KeyboardInterrupt:
            sys.exit(130)

"""``quoteboard bench``: how many Kabu quotes a second this machine can take, and at what cost.

A flood server in another process (:mod:`.flood`) pushes real Kabu board frames as fast as the client
reads them. Against it, in turns (raw, pipeline, raw, pipeline, so that noise on a shared machine
hits both alike), this process measures (:mod:`.runs`):

- **raw**: websockets + msgspec decoding and nothing else, the ceiling for a Python client;
- **pipeline**: quoteboard's own ingest path, ``Feed.run -> decode_frame -> Board.apply`` with the
  screen's periodic ``take_dirty``.

It reports the best rate of each (noise only ever slows a run down), their ratio, how much the
resident memory grew over a pipeline run, and the latency from the server's send to the board state.
``--json`` prints all of it as one JSON object on the last line of stdout; otherwise a table, with
progress on stderr while it runs. ``--tui`` hands over to :mod:`.screen`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import platform
import sys
from collections.abc import Callable, Iterable
from typing import Any, Final

from .flood import FloodError, FloodServer
from .runs import BenchError, RunResult, idle_alerts, run_pipeline, run_raw

__all__ = ["bench", "run_bench"]

ROUNDS: Final = 3
#: The bar the report checks: quoteboard keeps 80 % of the bare client's rate, and its memory flat.
TARGET_RATIO: Final = 0.8
TARGET_RSS_MB: Final = 10.0
TARGET_RSS_MESSAGES: Final = 1_000_000
NO_RSS: Final = "no psutil and no /proc/self/statm on this system"


def run_bench(args: argparse.Namespace) -> int:
    """``quoteboard bench``; returns the exit status."""
    if getattr(args, "history", False):
        if args.relay or args.tui or args.bench_nats or getattr(args, "day", False):
            print("quoteboard bench: --history, --day, --relay, --nats and --tui are separate benchmarks: "
                  "choose one", file=sys.stderr)  # fmt: skip
            return 2
        from .history import run_history_bench

        return run_history_bench(args)
    if getattr(args, "chart", False) and not args.tui:
        print("quoteboard bench: --chart goes with --tui (the board on screen, a chart open)",
              file=sys.stderr)  # fmt: skip
        return 2
    if getattr(args, "day", False):
        if args.relay or args.tui or args.bench_nats:
            print("quoteboard bench: --day, --relay, --nats and --tui are separate benchmarks: choose one",
                  file=sys.stderr)  # fmt: skip
            return 2
        from .day import run_day_bench

        return run_day_bench(args)
    if getattr(args, "bench_nats", False):
        if args.relay or args.tui:
            print("quoteboard bench: --nats, --relay and --tui are separate benchmarks: choose one",
                  file=sys.stderr)  # fmt: skip
            return 2
        from .natsbench import run_nats_bench

        return run_nats_bench(args)
    if args.relay:
        if args.tui:
            print("quoteboard bench: --relay and --tui are two benchmarks: choose one", file=sys.stderr)
            return 2
        from .relay import run_relay_bench

        return run_relay_bench(args)
    if args.tui:
        try:
            from .screen import run_tui_bench
        except ImportError as exc:
            print(f"quoteboard bench: the screen benchmark (--tui) is not available: {exc}", file=sys.stderr)
            return 2
        return int(run_tui_bench(args))
    try:
        result = bench(args.messages, show_progress=not args.json, alerts=args.alerts)
    except (FloodError, BenchError) as exc:
        print(f"quoteboard bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("quoteboard bench: interrupted", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        _print_table(result)
    return 0


def bench(
    messages: int, rounds: int = ROUNDS, show_progress: bool = False, alerts: int = 0
) -> dict[str, Any]:
    """Run the benchmark and return the JSON report as a dict. With ``alerts``, the pipeline checks
    that many armed alerts (none crossing) on every quote, and each round also runs it without them,
    so the report has the ratio both ways.

    Raises :class:`FloodError` if the flood server does not start and :class:`BenchError` if a run
    does not get its frames. The server process is stopped whatever happens, Ctrl-C included.
    """
    with FloodServer(messages) as flood:
        results = asyncio.run(_measure(flood, messages, rounds, show_progress, alerts))
    report = _report(results, messages, flood.frame_bytes, len(flood.keys))
    if alerts:
        plain = max(r.rate for r in results if r.kind == "plain")
        raw = report["raw_msg_s"]
        report["alerts"] = alerts
        report["pipeline_without_alerts_msg_s"] = round(plain, 1)
        report["ratio_without_alerts"] = round(plain / raw, 4) if raw else None
        report["runs_msg_s"]["without_alerts"] = [round(r.rate, 1) for r in results if r.kind == "plain"]
    return report


async def _measure(
    flood: FloodServer, messages: int, rounds: int, show_progress: bool, alerts: int = 0
) -> list[RunResult]:
    from contextlib import nullcontext

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description:>14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        refresh_per_second=4,  # its thread takes the GIL to redraw: keep that rare
        transient=True,  # the table replaces it
    )

    def progress_of(label: str) -> Callable[[int], object]:
        if not show_progress:
            return _ignore
        task = bar.add_task(label, total=messages)
        return lambda done: bar.update(task, completed=done)

    results: list[RunResult] = []
    with bar if show_progress else nullcontext():
        for round_ in range(1, rounds + 1):
            progress = progress_of(f"raw {round_}/{rounds}")
            results.append(await run_raw(flood.websocket_url, messages, progress))
            progress = progress_of(f"pipeline {round_}/{rounds}")
            # A fresh book each run: the same alerts, none fired, whatever the last run saw.
            book = idle_alerts(flood.keys, alerts) if alerts else None
            results.append(await run_pipeline(flood.base_url, flood.keys, messages, progress, book))
            if alerts:
                progress = progress_of(f"no alerts {round_}/{rounds}")
                plain = await run_pipeline(flood.base_url, flood.keys, messages, progress, kind="plain")
                results.append(plain)
    return results


def _ignore(done: int) -> None:
    pass


def _percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of sorted ``values``."""
    if not values:
        return None
    return values[max(0, math.ceil(fraction * len(values)) - 1)]


def _ms(seconds: float | None) -> float | None:
    return round(seconds * 1000, 3) if seconds is not None else None


def _latencies(runs: Iterable[RunResult]) -> list[float]:
    return sorted(x for run in runs for x in run.latencies if not math.isnan(x))


def _report(results: list[RunResult], messages: int, frame_bytes: int, symbols: int) -> dict[str, Any]:
    raw = [r for r in results if r.kind == "raw"]
    pipeline = [r for r in results if r.kind == "pipeline"]
    raw_rate = max(r.rate for r in raw)
    pipeline_rate = max(r.rate for r in pipeline)
    growths = [r.rss_growth for r in pipeline if r.rss_growth is not None]
    pipeline_lat = _latencies(pipeline)
    raw_lat = _latencies(raw)
    report: dict[str, Any] = {
        "pipeline_msg_s": round(pipeline_rate, 1),
        "raw_msg_s": round(raw_rate, 1),
        "ratio": round(pipeline_rate / raw_rate, 4) if raw_rate else None,
        # The worst pipeline run: a leak shows in every run, so the max is the honest figure.
        "rss_growth_mb": round(max(growths) / 1e6, 2) if growths else None,
        "messages": messages,
        "latency_ms_p50": _ms(_percentile(pipeline_lat, 0.50)),
        "latency_ms_p99": _ms(_percentile(pipeline_lat, 0.99)),
        "raw_latency_ms_p50": _ms(_percentile(raw_lat, 0.50)),
        "raw_latency_ms_p99": _ms(_percentile(raw_lat, 0.99)),
        "latency_samples": len(pipeline_lat),
        "rounds": len(pipeline),
        "runs_msg_s": {
            "raw": [round(r.rate, 1) for r in raw],
            "pipeline": [round(r.rate, 1) for r in pipeline],
        },
        "frame_bytes": frame_bytes,
        "symbols": symbols,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }
    if not growths:
        report["rss_note"] = NO_RSS
    return report


def _print_table(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    def number(value: float | None, unit: str = "", digits: int = 0) -> str:
        return "n/a" if value is None else f"{value:,.{digits}f}{unit}"

    def verdict(ok: bool | None) -> str:
        return "" if ok is None else "[green]met[/]" if ok else "[red]missed[/]"

    def latency(kind: str) -> str:
        p50, p99 = report[f"{kind}_ms_p50"], report[f"{kind}_ms_p99"]
        return f"{number(p50, digits=1)} / {number(p99, ' ms', 1)}"

    ratio = report["ratio"]
    growth = report["rss_growth_mb"]
    messages = report["messages"]
    table = Table(
        title=f"quoteboard bench: {messages:,} Kabu board frames (~{report['frame_bytes']:,} bytes, "
        f"{report['symbols']} symbols), best of {report['rounds']} runs",
        title_justify="left",
        caption="Latency: from the server's send to the board state (raw: to the decoded quote), under "
        "a flood, so mostly time queued in socket buffers.",
        caption_justify="left",
    )
    table.add_column("measure")
    table.add_column("result", justify="right")
    table.add_column("target")
    table.add_column("")
    table.add_row("raw: websockets + msgspec", number(report["raw_msg_s"], " msg/s"), "", "")
    table.add_row("pipeline: Feed -> Board", number(report["pipeline_msg_s"], " msg/s"), "", "")
    table.add_row(
        "ratio pipeline/raw",
        number(ratio, digits=2),
        f">= {TARGET_RATIO:.2f}",
        verdict(None if ratio is None else ratio >= TARGET_RATIO),
    )
    if "alerts" in report:
        alerts = report["alerts"]
        table.add_row(f"  (pipeline with {alerts} alerts armed)", "", "", "")
        table.add_row("ratio without alerts", number(report["ratio_without_alerts"], digits=2), "", "")
    table.add_row(
        "RSS growth (pipeline run)",
        number(growth, " MB", 1) if growth is not None else f"n/a: {report.get('rss_note', '')}",
        f"<= {TARGET_RSS_MB:.0f} MB over {TARGET_RSS_MESSAGES:,}",
        # Only a run as long as the target's says whether the target is met.
        verdict(growth <= TARGET_RSS_MB if growth is not None and messages >= TARGET_RSS_MESSAGES else None),
    )
    table.add_row("latency p50 / p99", latency("latency"), "", "")
    table.add_row("raw latency p50 / p99", latency("raw_latency"), "", "")
    Console().print(table)

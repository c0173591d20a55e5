"""``quoteboard bench --relay``: what ``quoteboard relay`` costs per frame it delivers, and the delay it adds.

Four processes, so that each has its own interpreter lock and its own CPU count
(:mod:`.processes`): the upstream (the test server's station, ``rate`` numbered, send-stamped frames
a second over 50 symbols), the relay on it, or instead the bare broadcaster (websockets'
``broadcast``, the baseline), and N clients (:mod:`.crowd`), each registering the same 50 symbols.

The station serves one PUSH socket, so the relay and the broadcaster take turns (relay, bare,
relay, bare, ...), each with a new upstream session and new clients. A turn waits until every client
has a frame, warms up, then measures for ``window`` seconds: the CPU time of the relay's (or the
broadcaster's) process, every thread, from psutil; and from the clients, the frames sent in the
window that they received, those they should have and did not (dropped), and each one's delay from
the upstream's send. The report takes the best turn of each kind (noise on a shared machine only
ever adds) and compares them: ``relay_cpu_ratio`` is the relay's CPU per delivered frame over the
broadcaster's, and the added latency the relay's percentile minus the broadcaster's.

``--json`` prints the report as one JSON object on the last line of stdout; otherwise a summary,
with a line per turn on stderr while it runs.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from typing import Any, Final

from .crowd import crowd_main
from .processes import PASSWORD, Child, bare_main, relay_main, report, upstream_main

__all__ = ["relay_bench", "run_relay_bench"]

CLIENTS: Final = 100
RATE: Final = 125.0  # Kabu's own pace for 50 symbols: one frame each every 400 ms
WINDOW: Final = 10.0
WARMUP: Final = 2.0
ROUNDS: Final = 2
SYMBOLS: Final = 50
#: The bar the report checks, for 100 clients at 125 msg/s.
TARGET_RATIO: Final = 1.25
TARGET_ADDED_P99_MS: Final = 10.0
START_TIMEOUT: Final = 60.0  # a spawned interpreter imports everything again; Windows is slow at it
#: On top of START_TIMEOUT, for N clients to get their tokens, register and connect.
JOIN_TIMEOUT: Final = 60.0

Say = Callable[[str], object]


def _cpu_seconds(process: Any) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _busy(before: Any, after: Any) -> float | None:
    """How busy the whole machine was between two ``psutil.cpu_times()``, in % of all its cores."""
    total = sum(after) - sum(before)
    idle = after.idle - before.idle + getattr(after, "iowait", 0.0) - getattr(before, "iowait", 0.0)
    return round(100 * (total - idle) / total, 1) if total > 0 else None


def _turn(
    kind: str,
    upstream: Child,
    urls: tuple[str, str],
    keys: list[str],
    clients: int,
    window: float,
    warmup: float,
) -> dict[str, Any]:
    """One measured turn of the relay (``kind`` "relay") or the bare broadcaster ("bare") on the
    upstream at ``urls`` (REST base, PUSH)."""
    import psutil

    base_url, ws_url = urls
    if kind == "relay":
        middle = Child("the relay", relay_main, base_url)
    else:
        middle = Child("the bare broadcaster", bare_main, base_url, ws_url, keys)
    with middle:
        _, served_url, served_ws = middle.expect("ready", START_TIMEOUT, "start")
        with Child("the clients", crowd_main, kind, served_url, served_ws, clients, keys, PASSWORD) as crowd:
            _, frame_bytes = crowd.expect(
                "ready", START_TIMEOUT + JOIN_TIMEOUT, "connect and get a frame each"
            )
            time.sleep(warmup)
            processes = [psutil.Process(pid) for pid in (middle.pid, crowd.pid, upstream.pid)]
            before, machine_before = [_cpu_seconds(p) for p in processes], psutil.cpu_times()
            started = time.monotonic()
            crowd.send("start")
            time.sleep(window)
            crowd.send("stop")
            wall = time.monotonic() - started
            after, machine_after = [_cpu_seconds(p) for p in processes], psutil.cpu_times()
            _, result = crowd.expect("result", START_TIMEOUT, "report")
    cpu, crowd_cpu, upstream_cpu = (b - a for a, b in zip(before, after, strict=True))
    delivered = result["delivered"]
    return {
        "kind": kind,
        "cpu_percent": round(100 * cpu / wall, 2),
        "cpu_us_per_frame": round(1e6 * cpu / delivered, 3) if delivered else None,
        "delivered_msg_s": round(delivered / result["window_s"], 1) if result["window_s"] > 0 else 0.0,
        **result,
        "clients_cpu_percent": round(100 * crowd_cpu / wall, 1),
        "upstream_cpu_percent": round(100 * upstream_cpu / wall, 1),
        "machine_busy_percent": _busy(machine_before, machine_after),
        "frame_bytes": frame_bytes,
    }


def relay_bench(
    clients: int = CLIENTS,
    rate: float = RATE,
    window: float = WINDOW,
    rounds: int = ROUNDS,
    warmup: float = WARMUP,
    say: Say | None = None,
) -> dict[str, Any]:
    """Run the benchmark and return the JSON report. Raises :class:`ChildError` if a process fails
    or does not answer; every process is stopped whatever happens, Ctrl-C included."""
    from quoteboard.server.catalogue import CATALOGUE

    keys = list(CATALOGUE)[:SYMBOLS]
    turns: list[dict[str, Any]] = []
    with Child("the upstream test server", upstream_main, rate) as upstream:
        _, base_url, ws_url = upstream.expect("ready", START_TIMEOUT, "start")
        for round_ in range(1, rounds + 1):
            for kind in ("relay", "bare"):
                if say is not None:
                    say(
                        f"{kind}, round {round_}/{rounds}: {clients} clients at {rate:g} msg/s "
                        f"({warmup:g} s warm-up, {window:g} s measured)…"
                    )
                turns.append(_turn(kind, upstream, (base_url, ws_url), keys, clients, window, warmup))
                if say is not None:
                    say(f"{kind}, round {round_}/{rounds}: {_describe(turns[-1])}")
    return _report(turns, clients, rate, window, warmup)


def _describe(turn: dict[str, Any]) -> str:
    return (
        f"{turn['cpu_percent']:.1f} % of a core, {turn['cpu_us_per_frame'] or 0:.1f} µs a frame, "
        f"{turn['delivered_msg_s']:,.0f} frames/s delivered, latency p50 {turn['latency_ms_p50']} ms, "
        f"p99 {turn['latency_ms_p99']} ms, {turn['dropped']} dropped; the clients' process "
        f"{turn['clients_cpu_percent']:.0f} %, the machine {turn['machine_busy_percent']} % busy"
    )


def _best(turns: list[dict[str, Any]], key: str) -> float | None:
    values = [turn[key] for turn in turns if turn[key] is not None]
    return min(values) if values else None


def _minus(a: float | None, b: float | None) -> float | None:
    return round(a - b, 3) if a is not None and b is not None else None


def _report(
    turns: list[dict[str, Any]], clients: int, rate: float, window: float, warmup: float
) -> dict[str, Any]:
    relay = [turn for turn in turns if turn["kind"] == "relay"]
    bare = [turn for turn in turns if turn["kind"] == "bare"]
    relay_us, bare_us = _best(relay, "cpu_us_per_frame"), _best(bare, "cpu_us_per_frame")
    relay_p50, bare_p50 = _best(relay, "latency_ms_p50"), _best(bare, "latency_ms_p50")
    relay_p99, bare_p99 = _best(relay, "latency_ms_p99"), _best(bare, "latency_ms_p99")
    return {
        "clients": clients,
        "rate": rate,
        "relay_cpu_ratio": round(relay_us / bare_us, 3) if relay_us and bare_us else None,
        "added_latency_ms_p50": _minus(relay_p50, bare_p50),
        "added_latency_ms_p99": _minus(relay_p99, bare_p99),
        "dropped": sum(turn["dropped"] for turn in relay),
        "relay_cpu_us_per_frame": relay_us,
        "bare_cpu_us_per_frame": bare_us,
        "relay_cpu_percent": _best(relay, "cpu_percent"),
        "bare_cpu_percent": _best(bare, "cpu_percent"),
        "relay_latency_ms_p50": relay_p50,
        "relay_latency_ms_p99": relay_p99,
        "bare_latency_ms_p50": bare_p50,
        "bare_latency_ms_p99": bare_p99,
        "bare_dropped": sum(turn["dropped"] for turn in bare),
        "relay_delivered_msg_s": min(turn["delivered_msg_s"] for turn in relay),
        "offered_msg_s": clients * rate,
        "symbols": SYMBOLS,
        "frame_bytes": turns[0]["frame_bytes"],
        "window_s": window,
        "warmup_s": warmup,
        "rounds": len(relay),
        "turns": turns,
        "target_relay_cpu_ratio": TARGET_RATIO,
        "target_added_latency_ms_p99": TARGET_ADDED_P99_MS,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def _summary(report: dict[str, Any]) -> list[str]:
    def verdict(ok: bool) -> str:
        return "met" if ok else "missed"

    r = report
    ratio, added_p99 = r["relay_cpu_ratio"], r["added_latency_ms_p99"]
    lines = [
        f"quoteboard bench --relay: {r['clients']} clients x {r['rate']:g} msg/s ({r['symbols']} symbols, "
        f"~{r['frame_bytes']:,}-byte frames), best of {r['rounds']} turns each, {r['window_s']:g} s windows",
        f"  CPU a delivered frame: relay {r['relay_cpu_us_per_frame']} µs "
        f"({r['relay_cpu_percent']:.1f} % of a core), "
        f"bare broadcast {r['bare_cpu_us_per_frame']} µs ({r['bare_cpu_percent']:.1f} %)",
        f"  latency from the upstream's send: relay p50 {r['relay_latency_ms_p50']} ms, "
        f"p99 {r['relay_latency_ms_p99']} ms; "
        f"bare p50 {r['bare_latency_ms_p50']} ms, p99 {r['bare_latency_ms_p99']} ms",
    ]
    if ratio is not None:
        lines.append(
            f"  relay_cpu_ratio {ratio:.2f} (target <= {TARGET_RATIO:g}: {verdict(ratio <= TARGET_RATIO)})"
        )
    if added_p99 is not None:
        ok = verdict(added_p99 <= TARGET_ADDED_P99_MS)
        lines.append(
            f"  added by the relay: p50 {r['added_latency_ms_p50']} ms, p99 {added_p99} ms "
            f"(target <= {TARGET_ADDED_P99_MS:g} ms: {ok})"
        )
    lines.append(
        f"  dropped: {r['dropped']} by the relay, {r['bare_dropped']} by the bare broadcast; "
        f"the relay delivered {r['relay_delivered_msg_s']:,.0f} of {r['offered_msg_s']:,.0f} frames/s offered"
    )
    return lines


def run_relay_bench(args: argparse.Namespace) -> int:
    """``quoteboard bench --relay``; returns the exit status."""

    # A short window (a test's) gets as short a warm-up.
    warmup = min(WARMUP, args.window)
    return report(
        "bench --relay",
        lambda say: relay_bench(args.clients, args.rate, args.window, args.rounds, warmup, say),
        _summary,
        args.json,
    )

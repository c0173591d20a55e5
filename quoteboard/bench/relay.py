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
from collections.abc import Callable
from typing import Any, Final

from . import common
from .crowd import crowd_main
from .processes import PASSWORD, Child, bare_main, relay_main, report

__all__ = ["relay_bench", "run_relay_bench"]

CLIENTS: Final = 100
#: The bar the report checks, for 100 clients at 125 msg/s.
TARGET_RATIO: Final = 1.25
TARGET_ADDED_P99_MS: Final = 10.0
#: On top of common.START_TIMEOUT, for N clients to get their tokens, register and connect.
JOIN_TIMEOUT: Final = 60.0

Say = Callable[[str], object]


def _turn(
    kind: str,
    station: Child,
    urls: tuple[str, str],
    keys: list[str],
    clients: int,
    window: float,
    warmup: float,
) -> dict[str, Any]:
    """One measured turn of the relay (``kind`` "relay") or the bare broadcaster ("bare") on the
    upstream at ``urls`` (REST base, PUSH)."""
    base_url, ws_url = urls
    if kind == "relay":
        middle = Child("the relay", relay_main, base_url)
    else:
        middle = Child("the bare broadcaster", bare_main, base_url, ws_url, keys)
    with middle:
        _, served_url, served_ws = middle.expect("ready", common.START_TIMEOUT, "start")
        with Child("the clients", crowd_main, kind, served_url, served_ws, clients, keys, PASSWORD) as crowd:
            _, frame_bytes = crowd.expect(
                "ready", common.START_TIMEOUT + JOIN_TIMEOUT, "connect and get a frame each"
            )
            pids = (middle.pid, crowd.pid, station.pid)
            measured = common.measure(crowd, pids, window, warmup, common.START_TIMEOUT)
    cpu, crowd_cpu, upstream_cpu = measured.cpu
    result, wall = measured.result, measured.wall
    delivered = result["delivered"]
    return {
        "kind": kind,
        "cpu_percent": measured.cpu_percent(),
        "cpu_us_per_frame": round(1e6 * cpu / delivered, 3) if delivered else None,
        "delivered_msg_s": round(delivered / result["window_s"], 1) if result["window_s"] > 0 else 0.0,
        **result,
        "clients_cpu_percent": round(100 * crowd_cpu / wall, 1),
        "upstream_cpu_percent": round(100 * upstream_cpu / wall, 1),
        "machine_busy_percent": measured.busy,
        "frame_bytes": frame_bytes,
    }


def relay_bench(
    clients: int = CLIENTS,
    schedule: common.Schedule = common.DEFAULT,
    say: Say | None = None,
) -> dict[str, Any]:
    """Run the benchmark and return the JSON report. Raises :class:`ChildError` if a process fails
    or does not answer; every process is stopped whatever happens, Ctrl-C included."""
    rate, window, rounds, warmup = schedule.rate, schedule.window, schedule.rounds, schedule.warmup
    keys = common.symbols()
    turns: list[dict[str, Any]] = []
    with common.upstream(rate) as (station, base_url, ws_url):
        for round_ in range(1, rounds + 1):
            for kind in ("relay", "bare"):
                if say is not None:
                    say(
                        f"{kind}, round {round_}/{rounds}: {clients} clients at {rate:g} msg/s "
                        f"({warmup:g} s warm-up, {window:g} s measured)…"
                    )
                turns.append(_turn(kind, station, (base_url, ws_url), keys, clients, window, warmup))
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


def _report(
    turns: list[dict[str, Any]], clients: int, rate: float, window: float, warmup: float
) -> dict[str, Any]:
    relay = [turn for turn in turns if turn["kind"] == "relay"]
    bare = [turn for turn in turns if turn["kind"] == "bare"]
    relay_us, bare_us = common.best(relay, "cpu_us_per_frame"), common.best(bare, "cpu_us_per_frame")
    relay_p50, bare_p50 = common.best(relay, "latency_ms_p50"), common.best(bare, "latency_ms_p50")
    relay_p99, bare_p99 = common.best(relay, "latency_ms_p99"), common.best(bare, "latency_ms_p99")
    return {
        "clients": clients,
        "rate": rate,
        "relay_cpu_ratio": round(relay_us / bare_us, 3) if relay_us and bare_us else None,
        "added_latency_ms_p50": common.minus(relay_p50, bare_p50),
        "added_latency_ms_p99": common.minus(relay_p99, bare_p99),
        "dropped": sum(turn["dropped"] for turn in relay),
        "relay_cpu_us_per_frame": relay_us,
        "bare_cpu_us_per_frame": bare_us,
        "relay_cpu_percent": common.best(relay, "cpu_percent"),
        "bare_cpu_percent": common.best(bare, "cpu_percent"),
        "relay_latency_ms_p50": relay_p50,
        "relay_latency_ms_p99": relay_p99,
        "bare_latency_ms_p50": bare_p50,
        "bare_latency_ms_p99": bare_p99,
        "bare_dropped": sum(turn["dropped"] for turn in bare),
        "relay_delivered_msg_s": min(turn["delivered_msg_s"] for turn in relay),
        "offered_msg_s": clients * rate,
        "symbols": common.SYMBOLS,
        "frame_bytes": turns[0]["frame_bytes"],
        "window_s": window,
        "warmup_s": warmup,
        "rounds": len(relay),
        "turns": turns,
        "target_relay_cpu_ratio": TARGET_RATIO,
        "target_added_latency_ms_p99": TARGET_ADDED_P99_MS,
        **common.machine(),
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
    return report(
        "bench --relay",
        lambda say: relay_bench(args.clients, common.Schedule.from_args(args), say),
        _summary,
        args.json,
    )

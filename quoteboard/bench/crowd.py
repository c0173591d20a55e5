"""The clients of ``quoteboard bench --relay``: N Kabu PUSH clients in one process, counting.

Every frame the bench's upstream sends starts with ``{"BenchSeq":N,`` (one sequence for the whole
upstream, in send order) and carries its send time in ``CurrentPriceTime`` (microseconds), both
written as the frame is made for sending (:mod:`.processes`). Each client here registers the same symbols
(through the relay's REST API with a token of its own, or not at all for the bare broadcaster, which
sends every frame to every socket) and then counts what it receives.

Between the parent's ``start`` and ``stop`` (wall-clock moments ``t0`` and ``t1``) a frame *belongs to
the window* if it was sent in it. Send times and sequence numbers rise together, so the frames of
the window are one unbroken run of sequence numbers, from the lowest to the highest any client saw
in it: each client should have every one of them (it registered every symbol the upstream pushes).
What it lacks is dropped: skipped by the relay's latest-wins queue, dropped upstream because the
relay read too slowly, or lost with a socket the relay closed. Latency is receive time minus send
time, for every frame of the window.

The hot loop reads the sequence number with a slice and parses a send time once per frame, not
once per client (the clients of one frame read it one after another): the process must keep up
with ``clients x rate`` frames a second without being what is measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import time
from array import array
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any, Final

from quoteboard.kabu.net import trust_env, ws_proxy

__all__ = ["PREFIX", "crowd_main", "percentile", "stamp", "symbols_body"]

#: How every frame of the bench's upstream begins; the sequence number follows, then a comma.
PREFIX: Final = b'{"BenchSeq":'
_TIME: Final = b'"CurrentPriceTime":"'
_SEQ_AT: Final = len(PREFIX)
_STAMP_LEN: Final = len("2026-12-02T09:00:00.123456+09:00")
#: Seconds allowed for every client to get a token, register, connect and receive a first frame.
READY_TIMEOUT: Final = 60.0
#: After ``stop``, how long the frames still on their way may take to arrive.
GRACE: Final = 3.0
_CONNECT_AT_ONCE: Final = 20


def stamp(data: bytes, sent_at: dict[int, float]) -> tuple[int, float]:
    """A bench frame's sequence number and send time; the time is parsed once per frame (``sent_at``
    remembers it for the other clients that receive the same frame), not once per client."""
    seq = int(data[_SEQ_AT : data.index(b",", _SEQ_AT)])
    sent = sent_at.get(seq)
    if sent is None:
        at = data.index(_TIME) + len(_TIME)
        sent = datetime.fromisoformat(data[at : at + _STAMP_LEN].decode()).timestamp()
        if len(sent_at) > 8192:
            sent_at.clear()
        sent_at[seq] = sent
    return seq, sent


def percentile(ordered: list[float] | array[float], fraction: float) -> float | None:
    """Nearest-rank percentile of sorted values (None for none)."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


class _Window:
    """The measuring window, shared by every client: nothing belongs to it until ``start``."""

    def __init__(self) -> None:
        self.t0 = math.inf
        self.t1 = math.inf
        self.latencies = array("d")
        self.sent_at: dict[int, float] = {}  # sequence number -> send time, for the other clients


class _Client:
    def __init__(self) -> None:
        self.token = ""
        self.first = asyncio.Event()
        self.count = 0  # frames of the window received
        self.low = math.inf  # lowest and highest sequence number of the window received
        self.high = -math.inf
        self.last_sent = 0.0  # send time of the latest frame received
        self.frame_bytes = 0
        self.closed = ""  # why the socket closed, if it did

    async def read(self, ws: Any, window: _Window) -> None:
        from websockets.exceptions import ConnectionClosed

        recv = ws.recv
        clock = time.time
        sent_at = window.sent_at
        append = window.latencies.append
        try:
            data = await recv(decode=False)
            if not data.startswith(PREFIX):
                self.closed = "a frame without the bench's sequence number: not the bench's upstream"
                return
            self.frame_bytes = len(data)
            self.first.set()
            while True:
                now = clock()
                seq, sent = stamp(data, sent_at)
                if window.t0 <= sent <= window.t1:
                    self.count += 1
                    append(now - sent)
                    if seq < self.low:
                        self.low = seq
                    if seq > self.high:
                        self.high = seq
                self.last_sent = sent
                data = await recv(decode=False)
        except ConnectionClosed as exc:
            self.closed = f"closed: {exc}"


def symbols_body(keys: list[str]) -> dict[str, object]:
    """The body of ``PUT /register`` for ``CODE@EX`` keys."""
    return {
        "Symbols": [{"Symbol": code, "Exchange": int(ex)} for code, _, ex in (k.partition("@") for k in keys)]
    }


async def _join(base_url: str, password: str, keys: list[str], clients: list[_Client]) -> None:
    """A token per client, and every client's registration of ``keys`` at the relay."""
    import httpx

    body = symbols_body(keys)
    limits = httpx.Limits(max_connections=_CONNECT_AT_ONCE)
    async with httpx.AsyncClient(
        base_url=base_url, timeout=30, limits=limits, trust_env=trust_env(base_url)
    ) as http:

        async def join(client: _Client) -> None:
            answer = await http.post("/token", json={"APIPassword": password})
            if answer.status_code != 200:
                raise RuntimeError(f"the relay refused a token: {answer.status_code} {answer.text[:200]}")
            client.token = answer.json()["Token"]
            answer = await http.put("/register", headers={"X-API-KEY": client.token}, json=body)
            if answer.status_code != 200:
                raise RuntimeError(
                    f"the relay refused a registration: {answer.status_code} {answer.text[:200]}"
                )

        await join(clients[0])  # registers the symbols at the station; the others only join them
        await asyncio.gather(*(join(client) for client in clients[1:]))


async def _crowd(
    conn: Connection, kind: str, base_url: str, ws_url: str, n: int, keys: list[str], password: str
) -> None:
    from websockets.asyncio.client import connect

    window = _Window()
    clients = [_Client() for _ in range(n)]
    if kind == "relay":
        await _join(base_url, password, keys, clients)
    gate = asyncio.Semaphore(_CONNECT_AT_ONCE)

    async def open_socket(client: _Client) -> Any:
        headers = {"X-API-KEY": client.token} if client.token else None
        async with gate:
            return await connect(
                ws_url,
                additional_headers=headers,
                ping_interval=None,
                compression=None,
                open_timeout=30,
                proxy=ws_proxy(ws_url),
            )

    sockets = await asyncio.gather(*(open_socket(client) for client in clients))
    readers = [asyncio.create_task(c.read(ws, window)) for c, ws in zip(clients, sockets, strict=True)]
    try:
        firsts = [asyncio.create_task(client.first.wait()) for client in clients]
        _, pending = await asyncio.wait(firsts, timeout=READY_TIMEOUT)
        for waiting in pending:
            waiting.cancel()
        if pending:
            why = next((c.closed for c in clients if c.closed), "no frame yet")
            raise RuntimeError(
                f"{len(pending)} of {n} clients got no frame within {READY_TIMEOUT:.0f} s ({why})"
            )
        # Not what is measured: the clients' collector should not stall every socket now and then.
        gc.collect()
        gc.freeze()
        conn.send(("ready", clients[0].frame_bytes))
        await _order(conn, "start")
        window.t0 = time.time()
        await _order(conn, "stop")
        window.t1 = t1 = time.time()
        deadline = time.monotonic() + GRACE
        while time.monotonic() < deadline and not all(c.last_sent > t1 or c.closed for c in clients):
            await asyncio.sleep(0.02)
        conn.send(("result", _result(clients, window)))
    finally:
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)


async def _order(conn: Connection, expected: str) -> None:
    """Wait for the parent's next word (in a thread: a pipe is not awaitable everywhere)."""
    message = await asyncio.to_thread(conn.recv)
    if message != expected:
        raise RuntimeError(f"the bench said {message!r}, not {expected!r}")


def _result(clients: list[_Client], window: _Window) -> dict[str, Any]:
    low = min(c.low for c in clients)
    high = max(c.high for c in clients)
    expected = int(high - low + 1) if high >= low else 0
    delivered = sum(c.count for c in clients)
    latencies = sorted(window.latencies)
    closed = [c.closed for c in clients if c.closed]
    return {
        "delivered": delivered,
        "expected_per_client": expected,
        "dropped": sum(max(0, expected - c.count) for c in clients),
        "clients_short": sum(1 for c in clients if c.count < expected),
        "window_s": window.t1 - window.t0,
        "latency_ms_p50": _ms(percentile(latencies, 0.50)),
        "latency_ms_p99": _ms(percentile(latencies, 0.99)),
        "latency_ms_max": _ms(latencies[-1] if latencies else None),
        "closed": len(closed),
        "closed_reasons": sorted(set(closed))[:3],
    }


def _ms(seconds: float | None) -> float | None:
    return round(1000 * seconds, 3) if seconds is not None else None


def crowd_main(
    conn: Connection, kind: str, base_url: str, ws_url: str, n: int, keys: list[str], password: str
) -> None:
    """The clients' process: reports ``("ready", frame_bytes)``, waits for ``start`` and ``stop``,
    then reports ``("result", {...})``; or ``("error", text)``."""
    logging.getLogger("asyncio").setLevel(logging.ERROR)  # as the other processes (see processes.py)
    try:
        asyncio.run(_crowd(conn, kind, base_url, ws_url, n, keys, password))
    except KeyboardInterrupt:
        pass  # Ctrl-C reaches the whole process group; the parent reports it
    except (EOFError, BrokenPipeError):
        pass  # the parent is gone
    except Exception as exc:
        text = f"the clients failed: {type(exc).__name__}: {exc}".splitlines()[0]
        with contextlib.suppress(OSError):
            conn.send(("error", text))
        raise SystemExit(1) from None

"""What ``bench --relay`` and ``bench --nats`` have in common: their schedule, the upstream, a turn's
measured window, and the report's arithmetic over the turns.

Both run the thing measured (the relay, or a bare baseline) in one process and its clients in
another (:mod:`.processes`); a turn lets the clients warm up, tells them to count for ``window``
seconds, and reads the CPU time of the processes over it (every thread, psutil). The report takes
each figure's best turn: noise on a shared machine only ever adds.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .processes import Child, upstream_main

__all__ = [
    "DEFAULT",
    "RATE",
    "ROUNDS",
    "START_TIMEOUT",
    "SYMBOLS",
    "WARMUP",
    "WINDOW",
    "Schedule",
    "Window",
    "best",
    "machine",
    "measure",
    "minus",
    "symbols",
    "upstream",
]

RATE: Final = 125.0  # Kabu's own pace for 50 symbols: one frame each every 400 ms
WINDOW: Final = 10.0
WARMUP: Final = 2.0
ROUNDS: Final = 2
SYMBOLS: Final = 50
START_TIMEOUT: Final = 60.0  # a spawned interpreter imports everything again; Windows is slow at it


@dataclass(frozen=True, slots=True)
class Schedule:
    """What the upstream pushes (``rate`` frames a second in all) and how each of ``rounds`` turns
    of each kind is measured (``warmup`` seconds, then ``window``)."""

    rate: float = RATE
    window: float = WINDOW
    rounds: int = ROUNDS
    warmup: float = WARMUP

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Schedule:
        # A short window (a test's) gets as short a warm-up.
        return cls(args.rate, args.window, args.rounds, min(WARMUP, args.window))


#: The benchmarks' schedule unless told otherwise.
DEFAULT: Final = Schedule()


def symbols() -> list[str]:
    """The ``CODE@EXCHANGE`` keys every client registers: the first :data:`SYMBOLS` listed."""
    from quoteboard.server.catalogue import CATALOGUE

    return list(CATALOGUE)[:SYMBOLS]


@contextlib.contextmanager
def upstream(rate: float) -> Iterator[tuple[Child, str, str]]:
    """The upstream test server (:func:`.processes.upstream_main`) pushing ``rate`` frames a second,
    ready: its process, its REST base URL and its PUSH URL."""
    with Child("the upstream test server", upstream_main, rate) as child:
        _, base_url, ws_url = child.expect("ready", START_TIMEOUT, "start")
        yield child, base_url, ws_url


@dataclass(frozen=True, slots=True)
class Window:
    """One measured window: its length, each process's CPU seconds in it, how busy the whole machine
    was (% of all its cores; None if unknown), and what the clients counted."""

    wall: float
    cpu: list[float]
    busy: float | None
    result: dict[str, Any]

    def cpu_percent(self, index: int = 0) -> float:
        """The CPU of process ``index`` (in the order given to :func:`measure`), in % of one core."""
        return round(100 * self.cpu[index] / self.wall, 2)


def measure(crowd: Child, pids: Sequence[int], window: float, warmup: float, timeout: float) -> Window:
    """Let ``crowd`` (ready) warm up ``warmup`` s, then count ``window`` s while the CPU of ``pids``
    is read; its result within ``timeout`` s."""
    import psutil

    time.sleep(warmup)
    processes = [psutil.Process(pid) for pid in pids]
    before, machine_before = [_cpu_seconds(p) for p in processes], psutil.cpu_times()
    started = time.monotonic()
    crowd.send("start")
    time.sleep(window)
    crowd.send("stop")
    wall = time.monotonic() - started
    after, machine_after = [_cpu_seconds(p) for p in processes], psutil.cpu_times()
    _, result = crowd.expect("result", timeout, "report")
    cpu = [b - a for a, b in zip(before, after, strict=True)]
    return Window(wall, cpu, _busy(machine_before, machine_after), result)


def best(turns: list[dict[str, Any]], key: str, **where: object) -> float | None:
    """The least ``key`` of the turns whose fields match ``where`` (None if none has it)."""
    values = [
        turn[key]
        for turn in turns
        if turn[key] is not None and all(turn[field] == value for field, value in where.items())
    ]
    return min(values) if values else None


def minus(a: float | None, b: float | None) -> float | None:
    return round(a - b, 3) if a is not None and b is not None else None


def machine() -> dict[str, str]:
    """The report's fields saying where it ran."""
    return {"python": platform.python_version(), "platform": platform.platform(terse=True)}


def _cpu_seconds(process: Any) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _busy(before: Any, after: Any) -> float | None:
    """How busy the whole machine was between two ``psutil.cpu_times()``, in % of all its cores."""
    total = sum(after) - sum(before)
    idle = after.idle - before.idle + getattr(after, "iowait", 0.0) - getattr(before, "iowait", 0.0)
    return round(100 * (total - idle) / total, 1) if total > 0 else None

"""``quoteboard bench --day``: a whole trading day, with its faults, through a relay to three clients.

The test station (``serve --day``, in a process of its own) plays the TSE day from 07:55 to 15:35 JST
at ``speed`` times real time, ``rate`` frames a second while anything is pushed; ``quoteboard relay``
is its one PUSH client; behind the relay, three clients at once: the board (``quoteboard --kabu``)
in a real terminal (tmux; headless without it), ``quoteboard stream`` and a plain websockets client,
each run by its command as a user would. The
day's faults are injected through ``POST /serve/fault``; the station restart is its process ended
(no close frame) and a new one started on the same port, its clock carrying on where the first
one's would be (both count station time from one wall-clock epoch).

Accounting is exact, per frame: the station numbers every frame it builds and writes the number into
``BidQty`` (a field every client keeps: the best ask's size, ``ask_qty`` in quoteboard's names) and
notes the wall time of each one it hands to the socket. Each client notes the numbers it receives
and when. So ``lost`` is the frames the station sent that a client never got (every client holds
every symbol, and joins before the first frame), ``resumed_max_s`` is, over the faults and the
clients, the time from a fault's end to the first frame *sent after it* reaching the client, and
``final_ok`` compares each client's last price of each symbol with ``GET /serve/day``'s close.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time as clock_time
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from .common import START_TIMEOUT, machine, symbols
from .dayparts import (
    Received,
    board_window,
    plain_client,
    read_board,
    read_stream,
    relay_process,
    station_main,
)
from .processes import PASSWORD, Child, ChildError, report

__all__ = ["DAY", "QUICK", "Plan", "day_bench", "run_day_bench"]

#: Where the station's frame numbers start, and the second station's (after the restart): far above
#: any real quantity, so a quote from ``GET /board`` (the market's own BidQty) is never taken for one.
FIRST_BASE: Final = 500_000_000
RESTART_BASE: Final = 600_000_000
TARGET_RESUMED_S: Final = 5.0
TARGET_RSS_MB: Final = 10.0


@dataclass(frozen=True, slots=True)
class Step:
    """One fault at station time ``at``: ``minutes`` of station time for a stall, logout or garbage."""

    at: clock_time
    fault: str
    minutes: float = 0.0


@dataclass(frozen=True, slots=True)
class Plan:
    """A day: its speed, the frames a second pushed, and its faults. The restart lasts
    ``restart_minutes`` and the relay's watchdog waits ``stall_minutes``, in station time (10 s and
    5 s at 120x), at least one real second each."""

    speed: float
    rate: float
    steps: tuple[Step, ...]
    restart_minutes: float = 20.0
    stall_minutes: float = 10.0
    start: clock_time = clock_time(7, 55)
    end: clock_time = clock_time(15, 35)

    def real(self, minutes: float) -> float:
        return minutes * 60 / self.speed

    @property
    def stall_after(self) -> float:
        return max(1.0, self.real(self.stall_minutes))

    @property
    def restart_s(self) -> float:
        return max(1.0, self.real(self.restart_minutes))

    @property
    def length_s(self) -> float:
        return self.real(_minutes(self.end) - _minutes(self.start))


def _minutes(at: clock_time) -> float:
    return at.hour * 60 + at.minute + at.second / 60


def _at(text: str) -> clock_time:
    return clock_time.fromisoformat(text)


#: The issue's day: 5 drops, a stall, a logout of 40 station minutes, a restart, 5 minutes of garbage.
DAY: Final = Plan(
    speed=120.0,
    rate=1500.0,
    steps=(
        Step(_at("09:15"), "drop"),
        Step(_at("09:40"), "garbage", 5),
        Step(_at("10:00"), "drop"),
        Step(_at("10:20"), "stall", 60),
        Step(_at("11:00"), "drop"),
        Step(_at("12:40"), "logout", 40),
        Step(_at("13:40"), "drop"),
        Step(_at("14:10"), "restart"),
        Step(_at("14:50"), "drop"),
    ),
)
#: A short day for the tests: from the end of lunch, every kind of fault once, at 600x (20 s).
QUICK: Final = Plan(
    speed=600.0,
    rate=300.0,
    steps=(
        Step(_at("12:35"), "drop"),
        Step(_at("12:45"), "stall", 30),
        Step(_at("13:05"), "garbage", 10),
        Step(_at("13:25"), "logout", 20),
        Step(_at("14:35"), "restart"),
        Step(_at("15:10"), "drop"),
    ),
    start=_at("12:20"),
)


# -- the day ---------------------------------------------------------------------------------------------


def day_bench(plan: Plan, progress: Callable[[str], object] | None = None) -> dict[str, Any]:
    """Play ``plan``'s day and return the report (see the module). :class:`ChildError` if a process
    fails or does not answer in time; every process it started is ended whatever happens."""
    import httpx

    with tempfile.TemporaryDirectory(prefix="quoteboard-bench-day-") as tmp:
        try:
            return asyncio.run(_day(plan, Path(tmp), progress or (lambda line: None)))
        except (OSError, httpx.HTTPError, subprocess.CalledProcessError) as exc:
            # A process that stopped answering, or tmux refusing: one line, as for a failed child.
            raise ChildError(f"{type(exc).__name__}: {exc}".splitlines()[0]) from None


class _Station:
    """The test station's process on one port, and the frames it sent, collected as each one ends."""

    def __init__(self, plan: Plan, start_iso: str) -> None:
        self.plan, self.start_iso = plan, start_iso
        self.port = 0
        self.child: Child | None = None
        self.sent: dict[int, float] = {}
        #: Frames the station's outbox shed because the relay read too slowly (not sent: not "lost").
        self.dropped = 0

    async def start(self, epoch: float | None, first_seq: int) -> str:
        """Start it (on the port of the last one, if any); its REST base URL once it listens."""
        plan = self.plan
        child = Child("the test station", station_main, self.port, plan.speed, plan.rate, self.start_iso,
                      epoch, first_seq).__enter__()  # fmt: skip
        self.child = child
        _, url = await _expect(child, "ready", "start")
        self.port = urlsplit(url).port or 0
        return str(url)

    def run_from(self, epoch: float) -> None:
        assert self.child is not None
        self.child.send(("epoch", epoch))

    async def end(self) -> None:
        """Stop it as a crash would (no close frame), after it says what it sent."""
        child, self.child = self.child, None
        if child is None:
            return
        try:
            child.send(("exit",))
            _, seqs_bytes, times_bytes, dropped = await _expect(child, "sent", "report")
        finally:
            child.__exit__()
        seqs, times = array("q"), array("d")
        seqs.frombytes(seqs_bytes)
        times.frombytes(times_bytes)
        self.sent.update(zip(seqs, times, strict=True))
        self.dropped += dropped

    def kill(self) -> None:
        if self.child is not None:
            self.child.__exit__()


async def _expect(child: Child, kind: str, doing: str) -> tuple[Any, ...]:
    return await asyncio.to_thread(child.expect, kind, START_TIMEOUT, doing)


@dataclass(slots=True)
class _Played:
    """What the day's schedule did: each fault's end (wall time) and log entry, and the RSS samples."""

    ends: list[float] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)
    rss_start: list[int] = field(default_factory=list)
    rss_end: list[int] = field(default_factory=list)


async def _play(
    plan: Plan, epoch: float, station: _Station, http: Any, watched: list[Any], say: Callable[[str], object]
) -> _Played:
    """Inject ``plan``'s faults on time, sampling the RSS of ``watched`` at 10 % of the day and its end.

    A fault's end is when quotes may flow again: a drop's, once the sockets are closed; a logout's
    and garbage's, when they run out; a stall's, when the relay's watchdog is due to notice it; a
    restart's, once the new station listens."""
    played = _Played()
    controls = f"http://127.0.0.1:{station.port}/serve"

    async def until(moment: float) -> None:
        await asyncio.sleep(max(0.0, moment - time.time()))

    tenth = epoch + plan.length_s / 10
    for step in plan.steps:
        at = epoch + plan.real(_minutes(step.at) - _minutes(plan.start))
        if not played.rss_start and at > tenth:
            await until(tenth)
            played.rss_start = [process.memory_info().rss for process in watched]
        await until(at)
        begun = time.time()
        if step.fault == "restart":
            await station.end()
            await asyncio.sleep(plan.restart_s)
            await station.start(epoch, RESTART_BASE)
            end = time.time()
        else:
            seconds = plan.real(step.minutes)
            answer = await http.post(f"{controls}/fault", json={"fault": step.fault, "seconds": seconds})
            if answer.status_code != 200:
                raise ChildError(f"the station refused a {step.fault}: {answer.text[:200]}")
            end = time.time() + (plan.stall_after if step.fault == "stall" else seconds)
        played.faults[step.fault] = played.faults.get(step.fault, 0) + 1
        played.ends.append(end)
        played.log.append(
            {"fault": step.fault, "at": f"{step.at:%H:%M}", "ends_after_s": round(end - begun, 2)}
        )
        say(f"{step.at:%H:%M} {step.fault}")
    if not played.rss_start:
        await until(tenth)
        played.rss_start = [process.memory_info().rss for process in watched]
    await until(epoch + plan.length_s)
    played.rss_end = [process.memory_info().rss for process in watched]
    return played


async def _stream(relay_url: str, keys: list[str], tmp: Path) -> asyncio.subprocess.Process:
    """``quoteboard stream`` on the relay, its NDJSON on a pipe (its stderr in a file of ``tmp``)."""
    with (tmp / "stream.err").open("wb") as err:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "quoteboard", "stream", "--kabu", PASSWORD, "--kabu-url", relay_url,
            "--symbols", ",".join(keys), stdout=asyncio.subprocess.PIPE, stderr=err,
            env={**os.environ, "QUOTEBOARD_CONFIG_DIR": str(tmp)},
        )  # fmt: skip


async def _day(plan: Plan, tmp: Path, say: Callable[[str], object]) -> dict[str, Any]:
    import httpx
    import psutil

    from quoteboard.server.clock import today_at

    keys = symbols()
    station = _Station(plan, today_at(plan.start).isoformat())
    board_dir = tmp / "board"
    board_dir.mkdir()
    got = {name: Received(name) for name in ("board", "stream", "plain")}
    stream: asyncio.subprocess.Process | None = None
    tasks: list[asyncio.Task[None]] = []
    try:
        station_url = await station.start(None, FIRST_BASE)
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
            with relay_process(station_url, plan.stall_after, tmp) as (relay_pid, relay_url, relay_ws):
                say(
                    f"station {station_url}, relay {relay_url}: starting the board, stream and a plain client"
                )
                tasks.append(asyncio.create_task(plain_client(relay_url, relay_ws, keys, got["plain"])))
                stream = await _stream(relay_url, keys, tmp)
                tasks.append(asyncio.create_task(read_stream(stream, got["stream"])))
                capacity = int(plan.rate * plan.length_s * 1.5) + 10_000
                with board_window(relay_url, keys, board_dir, capacity) as (last_words, terminal):
                    await _all_joined(http, relay_url, 3, tasks, last_words, board_dir)
                    epoch = time.time() + 0.2
                    station.run_from(epoch)
                    say(f"the day runs {plan.length_s:.0f} s from {plan.start:%H:%M} at {plan.speed:g}x")
                    board_pid = int((board_dir / "board.pid").read_text(encoding="utf-8"))
                    watched = [psutil.Process(relay_pid), psutil.Process(board_pid)]
                    played = await _play(plan, epoch, station, http, watched, say)
                    close = (await http.get(f"http://127.0.0.1:{station.port}/serve/day")).json()["close"]
                    board = await read_board(board_dir, got["board"], last_words)
                    board["terminal"] = terminal
                await station.end()
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        if stream is not None and stream.returncode is None:
            stream.kill()
            await stream.wait()
        station.kill()
    for result in results:
        if isinstance(result, Exception) and not isinstance(result, asyncio.CancelledError):
            raise ChildError(f"a client failed: {type(result).__name__}: {result}".splitlines()[0])
    return _report(plan, keys, station.sent, list(got.values()), close, played, station.dropped, board)


async def _all_joined(
    http: Any, relay_url: str, clients: int, tasks: list[asyncio.Task[None]], last_words: Callable[[], str],
    board_dir: Path,
) -> None:  # fmt: skip
    """Wait until ``clients`` clients hold a PUSH socket at the relay, and the board is up."""
    status_url = relay_url.removesuffix("/kabusapi") + "/relay/status"
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        for task in tasks:
            if task.done():
                task.result()  # a client that failed says why
                raise ChildError("a client ended before the day began")
        status = (await http.get(status_url)).json()
        joined = sum(1 for client in status["clients"] if client["sockets"])
        if joined >= clients and (board_dir / "board.pid").exists():
            return
        if time.monotonic() > deadline:
            raise ChildError(
                f"{joined} of {clients} clients joined the relay in time; the board: {last_words()}"
            )
        await asyncio.sleep(0.2)


def _resumed(got: Received, sent: dict[int, float], ends: list[float]) -> list[float | None]:
    """For each fault's end, how long until the first frame sent after it reached ``got``'s client."""
    pairs = sorted((sent[seq], at) for seq, at in got.seqs.items() if seq in sent)
    sent_at = [pair[0] for pair in pairs]
    earliest = [0.0] * len(pairs)  # the earliest arrival of any frame sent at or after each one
    soonest = float("inf")
    for index in range(len(pairs) - 1, -1, -1):
        soonest = min(soonest, pairs[index][1])
        earliest[index] = soonest
    resumed: list[float | None] = []
    for end in ends:
        index = bisect.bisect_left(sent_at, end)
        resumed.append(round(max(0.0, earliest[index] - end), 3) if index < len(pairs) else None)
    return resumed


def _report(
    plan: Plan, keys: list[str], sent: dict[int, float], clients: list[Received], close: dict[str, Any],
    played: _Played, station_dropped: int, board: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """The JSON report, from what the station sent and what each client received."""
    ends, log = played.ends, played.log
    lost = {got.name: sum(1 for seq in sent if seq not in got.seqs) for got in clients}
    closed = all(close.get(key) is not None for key in keys)
    final = {got.name: closed and all(got.last.get(key) == close[key] for key in keys) for got in clients}
    resumed = {got.name: _resumed(got, sent, ends) for got in clients}
    for index, entry in enumerate(log):
        entry["resumed_s"] = {name: values[index] for name, values in resumed.items()}
    every = [value for values in resumed.values() for value in values]
    growth = [
        round((after - before) / 1e6, 2)
        for before, after in zip(played.rss_start, played.rss_end, strict=True)
    ]
    return {
        "speed": plan.speed,
        "messages": len(sent),
        "faults": played.faults,
        # None when some client never got a frame sent after some fault's end.
        "resumed_max_s": None if None in every else max((v for v in every if v is not None), default=0.0),
        "rss_growth_mb_relay": growth[0],
        "rss_growth_mb_board": growth[1],
        "lost": sum(lost.values()),
        "final_ok": all(final.values()),
        "lost_by_client": lost,
        "final_ok_by_client": final,
        "accounting": "exact: every frame numbered by the station, each client's numbers compared",
        "station_dropped": station_dropped,  # frames the station's outbox shed for a slow relay
        "rate": plan.rate,
        "stall_after_s": plan.stall_after,
        "restart_s": plan.restart_s,
        "board_recorder_full": board["full"],
        "board_terminal": board["terminal"],
        "fault_log": log,
        **machine(),
    }


def _summary(result: dict[str, Any]) -> list[str]:
    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    resumed = result["resumed_max_s"]
    lines = [
        f"a trading day at {result['speed']:g}x, {result['messages']:,} frames at {result['rate']:g}/s, "
        f"faults {result['faults']}",
    ]
    for entry in result["fault_log"]:
        lines.append(f"  {entry['at']} {entry['fault']:<8} resumed (s): {entry['resumed_s']}")
    lines += [
        f"resumed max      {resumed} s (target <= {TARGET_RESUMED_S:g}): "
        f"{verdict(resumed is not None and resumed <= TARGET_RESUMED_S)}",
        f"RSS growth relay {result['rss_growth_mb_relay']} MB, board {result['rss_growth_mb_board']} MB "
        f"(target <= {TARGET_RSS_MB:g}): "
        f"{verdict(max(result['rss_growth_mb_relay'], result['rss_growth_mb_board']) <= TARGET_RSS_MB)}",
        f"lost             {result['lost']} {result['lost_by_client']} (target 0): "
        f"{verdict(result['lost'] == 0)}",
        f"final prices     {result['final_ok_by_client']}: {verdict(result['final_ok'])}",
    ]
    return lines


def run_day_bench(args: argparse.Namespace) -> int:
    """``quoteboard bench --day``; returns the exit status."""
    plan = QUICK if args.quick else DAY
    if args.speed is not None:
        plan = dataclasses.replace(plan, speed=args.speed)
    return report("bench --day", lambda progress: day_bench(plan, progress), _summary, args.json)

"""The processes and clients of ``quoteboard bench --day`` (see :mod:`.day`).

- :func:`station_main`: the day's test station, numbering its frames in ``BidQty`` and noting when
  each numbered frame leaves; a restart is this process ended and another started on the same port.
- :func:`plain_client`, :func:`read_stream` (``quoteboard stream``'s NDJSON) and :func:`probe_board`
  (the real board, in :func:`board_window`'s terminal): what each client received, as
  :class:`Received`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

import msgspec

from .common import START_TIMEOUT
from .processes import PASSWORD, ChildError, quiet_teardown
from .screen import _TMUX, SIZE, _last_words, _quote

if TYPE_CHECKING:
    from starlette.websockets import WebSocket

__all__ = [
    "Received",
    "board_window",
    "plain_client",
    "probe_board",
    "read_board",
    "read_stream",
    "relay_process",
    "station_main",
]

_SEQ: Final = re.compile(r'"BidQty":(\d+)')
_QTY: Final = re.compile(rb'"BidQty":[^,}]*')
HEADLESS: Final = "textual.drivers.headless_driver:HeadlessDriver"
_RELAY_URLS: Final = re.compile(r"base URL (\S+), PUSH (\S+)")


# -- the station, in its own process ---------------------------------------------------------------------


def station_main(
    conn: Connection, port: int, speed: float, rate: float, start: str, epoch: float | None, first_seq: int
) -> None:
    """The day's test station on ``port``; its clock stands at ``start`` until ``epoch`` (wall time,
    sent later if None) and runs from there. Numbers its frames from ``first_seq`` (see the module)."""
    from quoteboard.server import push as push_module
    from quoteboard.server.app import KabuStation
    from quoteboard.server.clock import StationClock
    from quoteboard.server.market import Market
    from quoteboard.server.outbox import send_from
    from quoteboard.server.runner import TestServer

    quiet_teardown()
    sent_seqs, sent_times = array("q"), array("d")

    class EpochClock(StationClock):
        """Station time counted from a wall-clock epoch, so a restarted station resumes the day."""

        epoch: float | None = None

        def __call__(self) -> datetime:
            if self.epoch is None:
                return self.start
            return self.start + timedelta(seconds=max(0.0, time.time() - self.epoch) * self.speed)

    class NumberedMarket(Market):
        numbered = first_seq

        def next_frame(self, key: str) -> bytes | None:
            frame = super().next_frame(key)
            if frame is None:
                return None
            self.numbered += 1
            return _QTY.sub(b'"BidQty":%d' % self.numbered, frame, count=1)

    class Noted:
        """The PUSH socket, noting each numbered text frame as it is handed over."""

        def __init__(self, websocket: Any) -> None:
            self._websocket = websocket

        async def send_text(self, text: str) -> None:
            at = time.time()  # before the await: the client may have it before this task resumes
            await self._websocket.send_text(text)
            found = _SEQ.search(text)
            if found:
                sent_seqs.append(int(found[1]))
                sent_times.append(at)

        async def send_bytes(self, data: bytes) -> None:
            await self._websocket.send_bytes(data)  # garbage: not a quote

    def noting_send_from(outbox: Any, websocket: Any, sent: Callable[[], object] | None = None) -> Any:
        return send_from(outbox, cast("WebSocket", Noted(websocket)), sent)

    # This process is the bench's station only: its sender notes what leaves, nothing else changes.
    push_module.send_from = noting_send_from  # type: ignore[attr-defined]

    clock = EpochClock(datetime.fromisoformat(start), speed)
    clock.epoch = epoch
    market = NumberedMarket(1, clock=clock, day=True)

    async def main() -> None:
        server = TestServer(port=port, rate=rate, rate_limit=None)
        server.kabu = KabuStation(rate=rate, seed=1, rate_limit=None, market=market, day=clock)
        async with server:
            conn.send(("ready", server.base_url))
            while True:
                message = await asyncio.to_thread(conn.recv)
                if message[0] == "epoch":
                    clock.epoch = message[1]
                elif message[0] == "exit":
                    dropped = server.kabu.push.dropped
                    conn.send(("sent", sent_seqs.tobytes(), sent_times.tobytes(), dropped))
                    # Ended as a crash would: no close frame, no goodbye to the relay.
                    os._exit(0)

    try:
        asyncio.run(main())
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        pass
    except Exception as exc:
        with contextlib.suppress(OSError):
            conn.send(("error", f"the test station failed: {type(exc).__name__}: {exc}".splitlines()[0]))
        raise SystemExit(1) from None


# -- the clients -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Received:
    """What one client got: each frame number's first arrival (wall time), each symbol's last price."""

    name: str
    seqs: dict[int, float] = field(default_factory=dict)
    last: dict[str, float | None] = field(default_factory=dict)

    def add(self, seq: int, at: float) -> None:
        self.seqs.setdefault(seq, at)


class _Frame(msgspec.Struct):
    """The fields of a PUSH frame the plain client reads (Kabu's names)."""

    Symbol: str
    Exchange: int
    CurrentPrice: float | None = None
    BidQty: float | None = None


async def plain_client(base_url: str, ws_url: str, keys: list[str], got: Received) -> None:
    import httpx
    from websockets.asyncio.client import connect

    from .crowd import symbols_body

    async with httpx.AsyncClient(base_url=base_url, timeout=30, trust_env=False) as http:
        token = (await http.post("/token", json={"APIPassword": PASSWORD})).json()["Token"]
        (
            await http.put("/register", headers={"X-API-KEY": token}, json=symbols_body(keys))
        ).raise_for_status()
    headers = {"X-API-KEY": token}
    decode = msgspec.json.Decoder(_Frame).decode
    async with connect(
        ws_url, additional_headers=headers, ping_interval=None, max_size=None, proxy=None
    ) as ws:
        async for frame in ws:
            at = time.time()
            try:
                quote = decode(frame)
            except msgspec.DecodeError:
                continue  # the relay passes on only what decodes; nothing else is a quote
            if quote.BidQty is not None:
                got.add(int(quote.BidQty), at)
            got.last[f"{quote.Symbol}@{quote.Exchange}"] = quote.CurrentPrice


async def read_stream(process: asyncio.subprocess.Process, got: Received) -> None:
    assert process.stdout is not None
    async for line in process.stdout:
        record = msgspec.json.decode(line)
        if record.get("ask_qty") is not None:
            got.add(int(record["ask_qty"]), datetime.fromisoformat(record["received_at"]).timestamp())
        got.last[f"{record['symbol']}@{record['exchange']}"] = record["last"]


def probe_board(base_url: str, keys: list[str], out: Path, capacity: int) -> None:
    """The board as ``quoteboard --kabu`` runs it on the relay, noting every quote it applies (frame
    number, receive time) in arrays made full size up front (their growth is not the board's);
    written to ``out`` once the file ``out/stop`` appears, and the process ends there."""
    import runpy
    import threading

    from quoteboard.board.model import Board

    if TYPE_CHECKING:
        from quoteboard.kabu.protocol import Quote

    seqs, times = array("d", bytes(8 * capacity)), array("d", bytes(8 * capacity))
    noted = 0
    last: dict[str, float | None] = dict.fromkeys(keys)
    original = Board.apply

    def apply(self: Board, quote: Quote) -> bool:
        nonlocal noted
        if quote.ask_qty is not None and noted < capacity:
            seqs[noted], times[noted] = quote.ask_qty, quote.received_at or time.time()
            noted += 1
        last[f"{quote.symbol}@{quote.exchange or 1}"] = quote.last
        return original(self, quote)

    def until_stop() -> None:
        while not (out / "stop").exists():
            time.sleep(0.2)
        (out / "seqs.bin").write_bytes(seqs[:noted].tobytes())
        (out / "times.bin").write_bytes(times[:noted].tobytes())
        (out / "board.partial").write_text(
            json.dumps({"last": last, "full": noted >= capacity}), encoding="utf-8"
        )
        (out / "board.partial").replace(out / "board.json")
        os._exit(0)  # the day is over: no goodbye needed, and the terminal is the bench's own

    # The probe wraps the model's apply in this process only (the board's, spawned for the bench).
    Board.apply = apply  # type: ignore[method-assign]
    (out / "board.pid").write_text(str(os.getpid()), encoding="utf-8")
    threading.Thread(target=until_stop, daemon=True).start()
    sys.argv = ["quoteboard", "--kabu", PASSWORD, "--kabu-url", base_url, "--symbols", ",".join(keys)]
    runpy.run_module("quoteboard", run_name="__main__", alter_sys=True)


@contextlib.contextmanager
def relay_process(station_url: str, stall_after: float, tmp: Path) -> Iterator[tuple[int, str, str]]:
    """``quoteboard relay`` on the station, on a free port: its pid, base URL and PUSH URL."""
    log = tmp / "relay.out"
    command = [sys.executable, "-m", "quoteboard", "relay", "--kabu", PASSWORD, "--kabu-url", station_url,
               "--port", "0", "--stall-after", f"{stall_after:g}"]  # fmt: skip
    env = {**os.environ, "QUOTEBOARD_CONFIG_DIR": str(tmp)}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, env=env, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not (found := _RELAY_URLS.search(log.read_text(encoding="utf-8", errors="replace"))):
            if process.poll() is not None or time.monotonic() > deadline:
                lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
                raise ChildError(f"the relay did not start: {lines[-1] if lines else 'it said nothing'}")
            time.sleep(0.1)
        yield process.pid, found[1], found[2]
    finally:
        process.kill()
        process.wait()


async def read_board(out: Path, got: Received, last_words: Callable[[], str]) -> dict[str, Any]:
    """Ask the probed board for what it received (into ``got``); its report (``full``, ``size``)."""
    (out / "stop").touch()
    deadline = time.monotonic() + 60
    while not (out / "board.json").exists():
        if time.monotonic() > deadline:
            raise ChildError(f"the board gave no result: {last_words()}")
        await asyncio.sleep(0.2)
    result: dict[str, Any] = json.loads((out / "board.json").read_text(encoding="utf-8"))
    seqs, times = array("d"), array("d")
    seqs.frombytes((out / "seqs.bin").read_bytes())
    times.frombytes((out / "times.bin").read_bytes())
    for seq, at in zip(seqs, times, strict=True):
        got.add(int(seq), at)
    got.last = result.pop("last")
    return result


@contextlib.contextmanager
def board_window(
    base_url: str, keys: list[str], out: Path, capacity: int
) -> Iterator[tuple[Callable[[], str], str]]:
    """The probed board in a tmux window (Textual's headless driver without tmux); yields a function
    giving what its pane last said, and which terminal it is."""
    use_tmux = shutil.which("tmux") is not None
    command = [sys.executable, "-m", "quoteboard.bench.dayparts", "--probe", base_url, ",".join(keys),
               str(out), str(capacity)]  # fmt: skip
    session = f"quoteboard-bench-day-{os.getpid()}"
    process = None
    if use_tmux:
        width, height = SIZE
        shell = (f"unset COLUMNS LINES; QUOTEBOARD_CONFIG_DIR={_quote(str(out))} "
                 f"{' '.join(_quote(part) for part in command)}; sleep 600")  # fmt: skip
        subprocess.run(
            [*_TMUX, "new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), shell],
            check=True,
        )
    else:
        env = {**os.environ, "QUOTEBOARD_CONFIG_DIR": str(out), "TEXTUAL_DRIVER": HEADLESS}
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        if use_tmux:
            yield (lambda: _last_words(session)), f"tmux {SIZE[0]}x{SIZE[1]}"
        else:
            yield (lambda: "the headless board said nothing"), "headless"
    finally:
        if use_tmux:
            subprocess.run([*_TMUX, "kill-session", "-t", session], check=False, capture_output=True)
        elif process is not None:
            process.kill()
            process.wait()


if __name__ == "__main__" and sys.argv[1:2] == ["--probe"]:
    _base, _keys, _out, _capacity = sys.argv[2:]
    probe_board(_base, _keys.split(","), Path(_out), int(_capacity))

"""Who writes the tick store: the board, ``stream`` and the relay when they hold the station's
socket, to the demo's own file for the demo; nobody behind a relay; and a store that cannot be
written is one line while the program goes on."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from quoteboard.feeds.contract import FeedEvents
from quoteboard.feeds.source import FeedSource
from quoteboard.history import store as store_module
from quoteboard.history.keeping import HistoryKeeper, HistoryOptions
from quoteboard.history.store import StoreCandles, TickStore
from quoteboard.history.writer import TickWriter
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.relay.runner import RelayServer
from quoteboard.server import TestServer
from tests.app_support import make_app, wait_for
from tests.history.store_support import OPEN, quote

TOYOTA = SymbolKey("7203", 1)


def quoteboard(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "quoteboard", *args],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, env={**os.environ, **env},
    )  # fmt: skip


def held_ticks(path: Path) -> int:
    return sum(day.ticks for day in TickStore(path).days())


async def test_the_board_on_the_demo_writes_the_demo_store_and_charts_read_it(tmp_path) -> None:
    data = tmp_path / "data"
    app = make_app(tmp_path, symbols=[TOYOTA], history=HistoryOptions(directory=data))
    async with app.run_test() as pilot:
        control = app.feed_control
        await wait_for(pilot, lambda: control.history is not None, what="the board's history")
        writer = control._keeping.keeper.writer
        assert writer is not None
        await wait_for(pilot, lambda: writer.stored > 0, what="a tick stored")
        assert isinstance(control.history, StoreCandles)
        history = await control.history.candles(TOYOTA, "1m")
        assert history.candles and history.since is not None
    assert writer.failed is None
    assert (data / "demo-ticks.sqlite3").exists() and not (data / "ticks.sqlite3").exists()


async def test_a_board_without_history_options_writes_nothing(tmp_path) -> None:
    app = make_app(tmp_path, symbols=[TOYOTA])
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.feed is not None and app.feed.received > 0, what="a quote")
        assert app.feed_control.history is None
    assert list(Path(os.environ["QUOTEBOARD_DATA_DIR"]).iterdir()) == []


async def test_the_relay_writes_the_store_and_a_feed_behind_it_does_not(tmp_path) -> None:
    relayed = HistoryOptions(directory=tmp_path / "relay")
    async with RelayServer(FeedSource("demo"), port=0, say=lambda line: None, history=relayed) as relay:
        assert isinstance(relay.history, StoreCandles)
        client = await FeedSource.kabu(relay.base_url, "pw").start()
        try:
            keeper = HistoryKeeper(HistoryOptions(directory=tmp_path / "client"), on_error=print)
            assert await keeper.keep(client, "kabu") is None
            assert keeper.writer is None
        finally:
            await client.close()
    assert not (tmp_path / "client").exists()
    assert (tmp_path / "relay" / "demo-ticks.sqlite3").exists()


def test_stream_writes_the_demo_store_unless_told_not_to(tmp_path) -> None:
    env = {"QUOTEBOARD_DATA_DIR": str(tmp_path)}
    result = quoteboard("stream", "--demo", "--symbols", "7203", "--count", "5", "--no-history", env=env)
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []
    result = quoteboard("stream", "--demo", "--symbols", "7203", "--count", "5", env=env)
    assert result.returncode == 0, result.stderr
    assert "history" not in result.stderr
    assert held_ticks(tmp_path / "demo-ticks.sqlite3") >= 1
    assert not (tmp_path / "ticks.sqlite3").exists()


def test_keep_days_must_be_a_positive_number() -> None:
    result = quoteboard("stream", "--demo", "--keep-days", "0", env={})
    assert result.returncode == 2
    assert "--keep-days: must be a positive number, got 0" in result.stderr


LOCKER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
"""


def test_a_store_locked_by_another_program_is_one_line_and_stream_goes_on(tmp_path) -> None:
    path = tmp_path / "demo-ticks.sqlite3"
    first = TickWriter(path, on_error=print)
    first.start()
    first.write(quote("7203", OPEN, 100, 10))
    first.close()  # a store with its tables, as another program would find it
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert locker.stdout is not None and locker.stdout.readline() == "locked\n"
        result = quoteboard("stream", "--demo", "--symbols", "7203,9433", "--count", "40",
                            env={"QUOTEBOARD_DATA_DIR": str(tmp_path)})  # fmt: skip
    finally:
        locker.communicate("", timeout=10)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 40  # the quotes flowed all along
    [line] = [line for line in result.stderr.splitlines() if "history" in line]
    assert line.startswith("quoteboard: history off: could not write the tick store ")
    assert line.endswith("(another program is writing to it)")
    assert held_ticks(path) == 1  # nothing half-written


async def test_a_full_disk_is_one_notification_and_the_board_goes_on(tmp_path, monkeypatch) -> None:
    connect = store_module._connect

    def small_disk(path: Path, *, timeout: float) -> sqlite3.Connection:
        db = connect(path, timeout=timeout)
        db.execute("PRAGMA max_page_count = 8")  # the tables fit, a few seconds of ticks do not
        return db

    monkeypatch.setattr(store_module, "_connect", small_disk)
    busy = lambda: TestServer(seed=1, rate_limit=None, rate=400)  # noqa: E731
    history = HistoryOptions(directory=tmp_path / "d")
    app = make_app(tmp_path, symbols=[TOYOTA, SymbolKey("9433")], history=history, demo_server=busy)
    async with app.run_test() as pilot:

        def said() -> list[str]:
            return [n.message for n in app._notifications if n.title == "history"]

        await wait_for(pilot, said, timeout=30, what="the history notification")
        feed = app.feed
        assert feed is not None
        received = feed.received
        await wait_for(pilot, lambda: feed.received > received + 5, what="quotes after the failure")
        await asyncio.sleep(0.6)  # a commit interval more: still said once
        [message] = said()
    assert message.startswith("history off: could not write the tick store ")
    assert message.endswith("(the disk is full)")


class _Quotes:
    """Just what the keeper uses of a feed: its quote channel (not a RelayAware one)."""

    def __init__(self) -> None:
        self.events = FeedEvents()


async def test_each_demo_run_starts_an_empty_demo_store_and_a_station_keeps_its_own(tmp_path) -> None:
    """Each run of the demo is a new made-up market: what an earlier run stored is not charted with it
    (prices would jump from one market to the other). A station's store keeps its days."""
    options = HistoryOptions(directory=tmp_path)
    for run, price in enumerate((2000.0, 3000.0)):
        for kind in ("demo", "kabu"):
            feed = _Quotes()
            keeper = HistoryKeeper(options, on_error=print)
            assert await keeper.keep(feed, kind) is not None  # type: ignore[arg-type]
            at = OPEN.replace(minute=run)
            for second in range(3):
                feed.events.quote.publish(
                    quote("7203", at.replace(second=second), price + second, 100.0 * (second + 1))
                )
            await keeper.stop()
    demo, station = (TickStore(tmp_path / name) for name in ("demo-ticks.sqlite3", "ticks.sqlite3"))
    [demo_day] = (
        await StoreCandles(tmp_path / "demo-ticks.sqlite3").candles(TOYOTA, "1d", OPEN.date())
    ).candles
    assert (demo_day.open, demo_day.high) == (3000.0, 3002.0)  # the second run's only
    assert sum(day.ticks for day in demo.days()) == 3 and sum(day.ticks for day in station.days()) == 6

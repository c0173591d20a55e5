"""``quoteboard bench``: its report, its flood server's frames, and its errors. No timing is asserted:
the numbers depend on the machine; what is pinned is that they are measured and make sense."""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedOK

import quoteboard.bench
from quoteboard.bench.flood import FloodError, FloodServer
from quoteboard.commands.cli import main
from quoteboard.kabu.protocol import Quote, decode_frame

REPORT_KEYS = {
    "pipeline_msg_s", "raw_msg_s", "ratio", "rss_growth_mb", "messages", "latency_ms_p50", "latency_ms_p99",
}  # fmt: skip


def test_bench_json_reports_both_rates_their_ratio_latency_and_memory_on_the_last_line():
    result = subprocess.run(
        [sys.executable, "-m", "quoteboard", "bench", "--messages", "3000", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report.keys() >= REPORT_KEYS
    assert report["messages"] == 3000
    assert report["raw_msg_s"] > 0 and report["pipeline_msg_s"] > 0
    assert report["ratio"] == pytest.approx(report["pipeline_msg_s"] / report["raw_msg_s"], rel=1e-3)
    assert report["ratio"] > 0
    assert 0 <= report["latency_ms_p50"] <= report["latency_ms_p99"]
    if report["rss_growth_mb"] is None:
        assert report["rss_note"]
    else:
        assert isinstance(report["rss_growth_mb"], float)
    assert report["frame_bytes"] > 1000  # full board snapshots, not a token frame


async def test_flood_sends_kabu_push_frames_stamped_with_their_send_time_then_closes_normally():
    with FloodServer(5) as flood:
        assert len(flood.keys) == 50
        async with connect(flood.websocket_url, ping_interval=None, compression=None) as ws:
            frames = [await ws.recv() for _ in range(5)]
            received_at = time.time()
            with pytest.raises(ConnectionClosedOK):
                await ws.recv()
        assert ws.close_code == 1000
    assert all(isinstance(frame, str) for frame in frames)  # text frames, as Kabu sends them
    quotes = [decode_frame(frame) for frame in frames]
    assert all(type(quote) is Quote for quote in quotes), quotes
    assert [str(quote.key) for quote in quotes] == flood.keys[:5]
    assert all(quote.bid is not None and quote.ask is not None and quote.bid < quote.ask for quote in quotes)
    sent = [datetime.fromisoformat(quote.time).timestamp() for quote in quotes]
    assert sent == sorted(sent)
    assert received_at - 5 < sent[0] <= sent[-1] <= received_at


def test_flood_server_that_cannot_listen_raises_one_line_and_leaves_no_process():
    with socket.create_server(("127.0.0.1", 0)) as busy:
        flood = FloodServer(10, port=busy.getsockname()[1])
        with pytest.raises(FloodError, match="cannot listen") as caught:
            flood.__enter__()
    assert "\n" not in str(caught.value)
    assert flood.process is not None and not flood.process.is_alive()


def test_bench_whose_server_cannot_start_exits_1_with_one_line(monkeypatch, capsys):
    with socket.create_server(("127.0.0.1", 0)) as busy:
        monkeypatch.setattr(
            quoteboard.bench, "FloodServer", functools.partial(FloodServer, port=busy.getsockname()[1])
        )
        status = main(["bench", "--messages", "10", "--json"])
    out, err = capsys.readouterr()
    assert status == 1
    assert out == ""
    assert err.startswith("quoteboard bench: the flood server cannot listen on 127.0.0.1:")
    assert err.count("\n") == 1


def test_the_screen_benchmark_run_as_a_module_is_the_bench_tui_command_with_its_exit_status():
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "quoteboard.bench.screen", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)

    helped = run("--help")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: quoteboard bench ")
    refused = run("--rounds", "many")
    assert refused.returncode == 2
    assert "argument --rounds: expected a whole number above 0, got 'many'" in refused.stderr


def test_bench_tui_without_the_screen_benchmark_module_exits_2_with_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "quoteboard.bench.screen", None)  # makes the import fail
    status = main(["bench", "--tui"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("quoteboard bench: the screen benchmark (--tui) is not available")
    assert err.count("\n") == 1


def test_screen_bench_runs_the_real_board_on_a_paced_feed_and_measures_cpu_and_delay():
    """A short headless run of what `quoteboard bench --tui` does at each rate (no tmux needed)."""
    from quoteboard.bench.screen import _run_once
    from quoteboard.server.catalogue import CATALOGUE

    keys = list(CATALOGUE)[:5]
    run = _run_once(50.0, keys, warmup=0.5, window=2.0, use_tmux=False)
    assert run["headless"] is True and run["symbols"] == 5 and run["rate"] == 50.0
    assert 20 < run["msg_s"] < 100  # about the 50 a second offered
    assert run["delays"] > 10 and 0 < run["delay_ms_p50"] <= run["delay_ms_p99"] < 5000
    assert 0 < run["cpu_percent"] < 400 and run["window_s"] >= 2.0


def test_screen_bench_with_the_chart_open_measures_the_board_under_the_chart():
    """`bench --tui --chart`, short and headless: the chart of the first symbol is open over the table
    while the board is measured, and its redraws come at most a few times a second, not a quote each."""
    from quoteboard.bench.screen import _run_once
    from quoteboard.server.catalogue import CATALOGUE

    keys = list(CATALOGUE)[:5]
    run = _run_once(50.0, keys, warmup=0.5, window=2.0, use_tmux=False, chart=True)
    assert 20 < run["msg_s"] < 100 and 0 < run["cpu_percent"] < 400
    # About 10 quotes a second for the charted symbol; the chart redraws at most 4 times a second.
    assert 0 < run["chart_redraws"] <= 4 * run["window_s"] + 1


needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="the terminal run needs tmux")


@needs_tmux
def test_screen_bench_in_tmux_draws_the_board_on_the_pane(monkeypatch):
    """The terminal run: the board's screen must reach the pane (not a file), or the CPU of
    writing to a terminal would go unmeasured."""
    import quoteboard.bench.screen as screen
    from quoteboard.server.catalogue import CATALOGUE

    keys = list(CATALOGUE)[:5]
    seen: list[str] = []
    real_sleep = screen.time.sleep

    def sleep_and_look(seconds: float) -> None:
        session = f"quoteboard-bench-{os.getpid()}"
        panes = subprocess.run([*screen._TMUX, "capture-pane", "-p", "-t", session],
                               capture_output=True, text=True).stdout  # fmt: skip
        seen.append(panes)
        real_sleep(seconds)

    monkeypatch.setattr(screen.time, "sleep", sleep_and_look)
    run = screen._run_once(50.0, keys, warmup=0.5, window=2.0, use_tmux=True)
    assert run["headless"] is False and run["symbols"] == 5 and run["delays"] > 10
    assert tuple(run["size"]) == screen.SIZE  # the pane's size, not an 80x24 from COLUMNS/LINES
    assert any("Code" in pane and "Volume" in pane and keys[0] in pane for pane in seen)


@needs_tmux
def test_screen_bench_in_tmux_reports_what_a_failed_board_printed(tmp_path, monkeypatch):
    import quoteboard.bench.screen as screen

    failing = tmp_path / "failing-python"
    failing.write_text("#!/bin/sh\necho 'Traceback: the board could not start'\nexit 3\n")
    failing.chmod(0o755)
    monkeypatch.setattr(screen, "BOARD_PYTHON", str(failing))
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"the board exited before the end: .*could not start"):
        screen._run_once(50.0, ["7203@1"], warmup=0.5, window=2.0, use_tmux=True)
    assert time.monotonic() - started < 30  # said at once, not after the deadline


# -- bench --relay ---------------------------------------------------------------------------------------

RELAY_REPORT_KEYS = {
    "clients", "rate", "relay_cpu_ratio", "added_latency_ms_p50", "added_latency_ms_p99", "dropped",
}  # fmt: skip


def test_bench_relay_json_reports_the_cpu_ratio_added_latency_and_drops_on_the_last_line():
    """A tiny `bench --relay`: four processes, one turn of each kind, a 2 s window."""
    result = subprocess.run(
        [sys.executable, "-m", "quoteboard", "bench", "--relay", "--clients", "3", "--rate", "50",
         "--window", "2", "--rounds", "1", "--json"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report.keys() >= RELAY_REPORT_KEYS
    assert report["clients"] == 3 and report["rate"] == 50.0
    assert report["relay_cpu_ratio"] > 0
    assert report["relay_cpu_ratio"] == pytest.approx(
        report["relay_cpu_us_per_frame"] / report["bare_cpu_us_per_frame"], rel=1e-2
    )
    assert report["added_latency_ms_p99"] == pytest.approx(
        report["relay_latency_ms_p99"] - report["bare_latency_ms_p99"], abs=1e-3
    )
    assert isinstance(report["dropped"], int) and report["dropped"] >= 0
    turns = report["turns"]
    assert [turn["kind"] for turn in turns] == ["relay", "bare"]
    for turn in turns:
        assert turn["delivered"] > 0 and turn["expected_per_client"] > 0 and turn["closed"] == 0
        # every client should have every frame of the window: what one lacks is dropped
        assert turn["delivered"] + turn["dropped"] == 3 * turn["expected_per_client"]
        assert 0 < turn["latency_ms_p50"] <= turn["latency_ms_p99"] < 5000
    assert report["frame_bytes"] > 1000  # full board snapshots


class _FakeSocket:
    """What the relay bench's clients read: frames, then a normal close."""

    def __init__(self, frames: list[bytes]) -> None:
        self.frames = frames

    async def recv(self, decode: bool | None = None) -> bytes:
        if not self.frames:
            from websockets.exceptions import ConnectionClosedOK
            from websockets.frames import Close

            raise ConnectionClosedOK(Close(1000, ""), Close(1000, ""), True)
        return self.frames.pop(0)


def _numbered(seq: int, sent: float) -> bytes:
    from quoteboard.bench.crowd import PREFIX
    from quoteboard.kabu.records import JST

    stamp = datetime.fromtimestamp(sent, JST).isoformat(timespec="microseconds")
    return PREFIX + f'{seq},"Symbol":"7203","CurrentPriceTime":"{stamp}","Exchange":1}}'.encode()


async def test_relay_bench_clients_count_the_frames_of_the_window_and_what_each_missed():
    from quoteboard.bench.crowd import _Client, _result, _Window

    window = _Window()
    now = time.time()
    sent = {seq: now - 13 + seq for seq in range(1, 14)}  # one a second, the last one now
    window.t0, window.t1 = now - 10.5, now - 0.5  # frames 1-2 before it, 3-12 in it, 13 after it
    everything = [_numbered(seq, sent[seq]) for seq in range(1, 14)]
    gaps = [_numbered(seq, sent[seq]) for seq in range(1, 14) if seq not in (4, 9)]
    clients = [_Client(), _Client()]
    await clients[0].read(_FakeSocket(everything), window)
    await clients[1].read(_FakeSocket(gaps), window)
    result = _result(clients, window)
    assert result["expected_per_client"] == 10
    assert result["delivered"] == 18 and result["dropped"] == 2 and result["clients_short"] == 1
    assert result["closed"] == 2  # both sockets closed after their frames
    assert 1000 < result["latency_ms_p50"] <= result["latency_ms_p99"] < 13000  # sent seconds ago


def test_relay_bench_process_that_fails_is_said_in_one_line():
    from quoteboard.bench.processes import Child, ChildError, bare_main

    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    url = f"http://127.0.0.1:{port}/kabusapi"  # nothing listens there any more
    child = Child("the bare broadcaster", bare_main, url, url.replace("http", "ws"), ["7203@1"])
    with child, pytest.raises(ChildError, match="the bare broadcaster failed: ConnectError") as failed:
        child.expect("ready", 60, "start")
    assert "\n" not in str(failed.value)
    assert not child.process.is_alive()


def test_bench_chart_without_tui_exits_2_with_one_line(capsys):
    status = main(["bench", "--chart"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "--chart goes with --tui" in err


def test_bench_relay_and_tui_together_exit_2_with_one_line(capsys):
    status = main(["bench", "--relay", "--tui"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "--relay and --tui" in err

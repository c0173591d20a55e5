"""``quoteboard bench --day``: a short day end to end, and the report's arithmetic.

The real benchmark (``quoteboard bench --day``, 4 minutes at 120x) is not a test: its figures are
in README's Performance section. Here the quick day (600x from 12:20, every kind of fault once)
runs through the real station, relay, board, ``stream`` and a plain client.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from quoteboard.bench.day import QUICK, Plan, Received, Step, _at, _Played, _report, _resumed

DAY_KEYS = {
    "speed": float, "messages": int, "faults": dict, "resumed_max_s": float, "rss_growth_mb_relay": float,
    "rss_growth_mb_board": float, "lost": int, "final_ok": bool,
}  # fmt: skip
CLIENTS = {"board", "stream", "plain"}
BOARD = {"full": False, "terminal": "tmux 200x64"}


def test_bench_day_quick_plays_the_day_through_a_relay_to_three_clients_and_reports_json_last():
    result = subprocess.run(
        [sys.executable, "-m", "quoteboard", "bench", "--day", "--quick", "--json"],
        capture_output=True, text=True, timeout=150, stdin=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    for key, kind in DAY_KEYS.items():
        assert isinstance(report[key], kind), (key, report[key])
    assert report["speed"] == QUICK.speed
    planned: dict[str, int] = {}
    for step in QUICK.steps:
        planned[step.fault] = planned.get(step.fault, 0) + 1
    assert report["faults"] == planned
    assert report["messages"] > 1000
    # Every client got quotes again after every fault, and ended on the station's closing prices.
    assert len(report["fault_log"]) == len(QUICK.steps)
    for entry in report["fault_log"]:
        assert set(entry["resumed_s"]) == CLIENTS
        assert all(value is not None and value >= 0 for value in entry["resumed_s"].values()), entry
    assert report["resumed_max_s"] == max(v for e in report["fault_log"] for v in e["resumed_s"].values())
    assert report["final_ok_by_client"] == dict.fromkeys(CLIENTS, True)
    assert report["final_ok"] is True
    assert report["lost"] == sum(report["lost_by_client"].values()) >= 0


def _plan() -> Plan:
    return Plan(speed=600.0, rate=10.0, steps=(Step(_at("13:00"), "drop"),))


def test_day_report_compares_every_clients_last_price_with_the_close_and_counts_what_it_lacks():
    sent = {501: 10.0, 502: 11.0, 503: 12.0}
    close = {"7203@1": 2850.0, "9433@1": 4100.0}
    good = Received("plain", {501: 10.1, 502: 11.1, 503: 12.1}, {"7203@1": 2850.0, "9433@1": 4100.0})
    late = Received("stream", {501: 10.2, 503: 12.2}, {"7203@1": 2850.0, "9433@1": 4099.0})
    played = _Played([10.5], [{"fault": "drop", "at": "13:00"}], {"drop": 1}, [100_000_000, 200_000_000],
                     [101_000_000, 203_000_000])  # fmt: skip
    report = _report(_plan(), list(close), sent, [good, late], close, played, 0, BOARD)
    assert report["final_ok_by_client"] == {"plain": True, "stream": False}
    assert report["final_ok"] is False
    assert report["lost_by_client"] == {"plain": 0, "stream": 1}  # frame 502 never reached stream
    assert report["lost"] == 1
    assert report["rss_growth_mb_relay"] == 1.0 and report["rss_growth_mb_board"] == 3.0
    # After the fault's end (10.5 s) the first frame sent (502 at 11.0) reached plain at 11.1; stream
    # never got 502, and 503 (sent 12.0) reached it at 12.2.
    assert report["fault_log"][0]["resumed_s"] == {"plain": pytest.approx(0.6), "stream": pytest.approx(1.7)}
    assert report["resumed_max_s"] == pytest.approx(1.7)


def test_day_report_without_a_close_is_not_final_ok_and_a_client_that_never_resumed_is_none():
    sent = {501: 10.0, 502: 11.0}
    close = {"7203@1": None}
    stopped = Received("board", {501: 10.1}, {"7203@1": None})
    played = _Played([10.5], [{"fault": "drop", "at": "13:00"}], {"drop": 1}, [0, 0], [0, 0])
    report = _report(_plan(), ["7203@1"], sent, [stopped], close, played, 0, BOARD)
    assert report["final_ok"] is False  # both None: equal, but the day never closed
    assert report["resumed_max_s"] is None


def test_resumed_ignores_frames_sent_before_the_faults_end_even_if_they_arrive_after_it():
    sent = {1: 5.0, 2: 9.0, 3: 20.0}
    got = Received("plain", {1: 12.0, 2: 19.0, 3: 20.5})  # 1 and 2 were queued through the fault
    assert _resumed(got, sent, [10.0]) == [pytest.approx(10.5)]


def test_bench_day_with_another_benchmark_exits_2_with_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "quoteboard", "bench", "--day", "--relay"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 2
    err = result.stderr
    assert (
        err.startswith("quoteboard bench: --day, --relay, --nats and --tui are separate")
        and err.count("\n") == 1
    )

"""The arithmetic bench --relay and bench --nats share: best of the turns, the difference, the schedule."""

from __future__ import annotations

import argparse

from quoteboard.bench import common

TURNS = [
    {"kind": "relay", "subscribers": 1, "cpu_percent": 5.0},
    {"kind": "relay", "subscribers": 100, "cpu_percent": 7.0},
    {"kind": "relay", "subscribers": 100, "cpu_percent": 6.0},
    {"kind": "bare", "subscribers": 100, "cpu_percent": None},
]


def test_best_is_the_least_of_the_matching_turns_and_none_without_one():
    assert common.best(TURNS, "cpu_percent") == 5.0
    assert common.best(TURNS, "cpu_percent", kind="relay", subscribers=100) == 6.0
    assert common.best(TURNS, "cpu_percent", kind="bare") is None


def test_minus_needs_both_figures():
    assert common.minus(3.5, 1.25) == 2.25
    assert common.minus(None, 1.0) is None and common.minus(1.0, None) is None


def test_a_short_window_gets_as_short_a_warm_up():
    args = argparse.Namespace(rate=50.0, window=0.5, rounds=1)
    assert common.Schedule.from_args(args) == common.Schedule(50.0, 0.5, 1, 0.5)
    long = argparse.Namespace(rate=1.0, window=30.0, rounds=2)
    assert common.Schedule.from_args(long).warmup == common.WARMUP

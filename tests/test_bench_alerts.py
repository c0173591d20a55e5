"""``quoteboard bench --alerts N``: the pipeline checks N armed alerts that no flood price crosses,
and the report gives the ratio with them and without. No timing is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import msgspec
import pytest

from quoteboard.bench.flood import PLACEHOLDER, build_frames, stamp
from quoteboard.bench.runs import idle_alerts
from quoteboard.kabu.protocol import Quote


def test_the_benchmarks_alerts_are_all_armed_and_no_flood_frame_fires_one() -> None:
    keys, frames = build_frames()
    book = idle_alerts(keys, 200)
    assert len(book) == 200 and len(book.armed_keys()) == len(keys)
    assert {alert.rule.kind for alert in book} == {">", "<", "+%", "-%"}
    decode = msgspec.json.Decoder(Quote).decode
    for head, tail in frames:
        # The pre-framed bytes: the JSON starts after the 4-byte WebSocket header.
        quote = decode((head + stamp(0.0) + tail)[4:])
        assert quote.last is not None and quote.change_pct is not None
        assert book.check(quote) is None
    assert len(PLACEHOLDER) == len(stamp(0.0))


def test_bench_alerts_reports_the_ratio_with_and_without_alerts() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "quoteboard", "bench", "--messages", "3000", "--alerts", "200", "--json"],
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["alerts"] == 200
    assert report["ratio"] == pytest.approx(report["pipeline_msg_s"] / report["raw_msg_s"], rel=1e-3)
    assert report["ratio_without_alerts"] == pytest.approx(
        report["pipeline_without_alerts_msg_s"] / report["raw_msg_s"], rel=1e-3
    )
    assert len(report["runs_msg_s"]["without_alerts"]) == len(report["runs_msg_s"]["pipeline"]) == 3

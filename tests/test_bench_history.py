"""``quoteboard bench --history``: its report's keys and what they must be. No timing is asserted:
the figures depend on the machine; what is pinned is that they are measured and make sense."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from quoteboard.commands.cli import main

KEYS = {
    "write_ticks_per_s",
    "ingest_ratio_with_store",
    "bytes_per_tick",
    "candles_query_ms",
    "chart_render_ms",
}


def test_bench_history_json_reports_the_store_s_figures_on_the_last_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "quoteboard", "bench", "--history", "--quick", "--messages", "3000", "--json"],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, env={**os.environ},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert set(report) >= KEYS
    assert report["chart_render_ms"] > 0
    assert report["day_ticks"] == 600 * 125  # ten minutes of 50 symbols at 2.5 quotes a second
    assert report["bytes_per_tick"] == round(report["day_bytes"] / report["day_ticks"], 2)
    assert 0 < report["bytes_per_tick"] < 200
    assert report["write_ticks_per_s"] > 0 and report["candles_query_ms"] > 0
    runs = report["ingest_runs_msg_s"]
    assert len(runs["with_store"]) == len(runs["without"]) == 5
    assert report["ingest_ratio_with_store"] == round(max(runs["with_store"]) / max(runs["without"]), 4)


def test_bench_history_with_another_benchmark_exits_2_with_one_line(capsys) -> None:
    assert main(["bench", "--history", "--relay"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "separate benchmarks: choose one" in line

"""``quoteboard bench --nats`` on a short run (its report, no timing asserted), and the board's
sources when a NATS server is configured (``f`` cycles demo → Kabu → NATS)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from quoteboard.board.launch import board_app
from quoteboard.feeds.source import FeedSource
from quoteboard.nats.link import NatsTarget

ROOT = Path(__file__).resolve().parents[2]


def test_bench_nats_json_has_the_issues_keys_on_its_last_line():
    command = ["bench", "--nats", "--subscribers", "3", "--window", "1", "--rounds", "1", "--json"]
    done = subprocess.run(
        [sys.executable, "-m", "quoteboard", *command], cwd=ROOT, capture_output=True, text=True, timeout=110
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"subscribers", "rate", "cpu_ratio_vs_one", "added_latency_ms_p50", "added_latency_ms_p99",
            "snapshot_s"} <= set(report)  # fmt: skip
    assert report["subscribers"] == 3 and report["rate"] == 125.0
    assert [(t["kind"], t["subscribers"]) for t in report["turns"]] == [
        ("relay", 1),
        ("relay", 3),
        ("bare", 3),
    ]
    assert all(turn["received"] > 0 for turn in report["turns"])
    assert report["snapshot_s"] > 0


def test_f_cycles_demo_kabu_then_nats_when_a_nats_server_is_configured(tmp_path):
    nats = FeedSource.of_nats(NatsTarget.parse("nats://127.0.0.1:4222"))
    kabu = FeedSource.kabu("http://127.0.0.1:18080/kabusapi")
    app = board_app(FeedSource("demo"), kabu, symbols=[], nats=nats)
    assert [source.kind for source in app.feed_control._sources] == ["demo", "kabu", "nats"]
    app = board_app(nats, kabu, symbols=[])
    assert [source.kind for source in app.feed_control._sources] == ["nats", "demo", "kabu"]
    app = board_app(FeedSource("demo"), kabu, symbols=[])
    assert [source.kind for source in app.feed_control._sources] == ["demo", "kabu"]  # no NATS: as before

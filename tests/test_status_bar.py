"""The status bar's line: its clock in JST whatever the machine's zone, and what it leaves out when narrow."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from quoteboard.board.widgets.status_bar import StatusSnapshot, status_text
from quoteboard.feeds.contract import FeedStatus

#: 2026-11-25 10:31:02 in Tokyo (01:31:02 UTC, 20:31:02 the day before in New York).
AT = 1795570262.0
ROOT = Path(__file__).resolve().parents[1]


def snapshot(**changes: object) -> StatusSnapshot:
    values: dict[str, object] = {
        "feed": "demo",
        "status": FeedStatus("live", ""),
        "rate": 23.0,
        "last_message_at": AT,
        "rejected": 0,
        "last_rejection": None,
        "symbols": 9,
        "max_symbols": 50,
        "sort": "change",
    }
    values.update(changes)
    return StatusSnapshot(**values)  # type: ignore[arg-type]


def test_the_clock_is_in_jst_and_says_so_on_a_machine_in_new_york() -> None:
    # A process of its own, so that the zone is the machine's from the start (time.tzset is POSIX's).
    code = (
        "from quoteboard.feeds.contract import FeedStatus\n"
        "from quoteboard.board.widgets.status_bar import StatusSnapshot, status_text\n"
        f"snap = StatusSnapshot('demo', FeedStatus('live', ''), 1.0, {AT}, 0, None, 1, 50, 'added')\n"
        f"print(status_text(snap, now={AT} + 1).plain)\n"
        f"print(status_text(snap, now={AT} + 60).plain)\n"
        "import time; print(time.strftime('%H', time.localtime(" + str(AT) + ")))\n"
    )
    # The probe prints with a bare print(), not through quoteboard's entry point: its pipe is read as
    # UTF-8 here, so it writes UTF-8 whatever code page the suite runs under (CI tries cp1252).
    env = {**os.environ, "TZ": "America/New_York", "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, encoding="utf-8", timeout=60
    )
    assert done.returncode == 0, done.stderr
    live, quiet, local_hour = done.stdout.splitlines()
    if sys.platform != "win32":
        assert local_hour == "20"  # the machine's clock is New York's, 9 h + 5 h away
    assert "last 10:31:02 JST" in live
    assert "no updates since 10:31:02 JST" in quiet


@pytest.mark.parametrize("width", [100, 80, 60, 40])
def test_a_narrow_bar_leaves_whole_parts_out_least_useful_first(width: int) -> None:
    snap = snapshot()
    full = status_text(snap, now=AT + 1).plain
    line = status_text(snap, now=AT + 1, width=width).plain
    assert len(line) <= width
    parts = full.split(" │ ")
    shown = line.split(" │ ")
    assert all(part in parts for part in shown), line  # nothing cut mid-word
    # The feed and its state stay; the clock goes only after the rate, the sort and "rejected 0".
    assert shown[0] == " DEMO  ● live"
    if "last 10:31:02 JST" not in shown:
        assert shown == [" DEMO  ● live"]
    for least in ("rejected 0", "sort: change", "23 msg/s"):
        if least in shown:
            assert "last 10:31:02 JST" in shown and "9/50 symbols" in shown
    assert ("9/50 symbols" in shown) == (width >= 60)


def test_a_long_reason_is_cut_at_a_word_with_an_ellipsis() -> None:
    reason = "connection refused by 127.0.0.1:18080 (is Kabu Station running and logged in?)"
    snap = snapshot(status=FeedStatus("reconnecting", reason, 3, 2.0), rejected=2, last_rejection="bad frame")
    assert status_text(snap, now=AT + 1).plain.endswith(reason)
    line = status_text(snap, now=AT + 1, width=160).plain
    assert len(line) <= 160 and "rejected 2 (bad frame)" in line
    last = line.split(" │ ")[-1]
    assert last.endswith("…") and reason.startswith(last[:-1]) and reason[len(last) - 1] == " ", last

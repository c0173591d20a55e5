"""A writer killed with SIGKILL in the middle of its writes loses at most the last second of
ticks, and the store opens as it was at its last commit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from quoteboard.history.store import TickStore, open_for_writing

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import sys, time
from datetime import timedelta
from pathlib import Path
from quoteboard.history.writer import TickWriter
from tests.history.store_support import OPEN, quote

writer = TickWriter(Path(sys.argv[1]), on_error=lambda line: print("error", line, flush=True))
writer.start()
n = 0
while True:
    for _ in range(6):  # some 500 quotes a second: 4 times Kabu at its peak
        n += 1  # each quote moves the cumulative volume: every one is a tick to keep
        writer.write(quote("7203" if n % 2 else "9433", OPEN + timedelta(seconds=n // 6), 1000 + n % 7, n))
    print(n, flush=True)
    time.sleep(0.01)
"""


def test_a_killed_writer_loses_at_most_a_second_and_the_store_opens(tmp_path) -> None:
    path = tmp_path / "ticks.sqlite3"
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    handed: list[tuple[float, int]] = []  # when the child said it had handed n quotes to the writer
    try:
        assert child.stdout is not None
        start = time.monotonic()
        while time.monotonic() - start < 4.3:
            line = child.stdout.readline()
            assert line and not line.startswith("error"), line
            handed.append((time.monotonic(), int(line)))
    finally:
        child.kill()  # SIGKILL on POSIX: no clean-up of any kind
        killed = time.monotonic()
        child.wait(timeout=10)
    # Every quote handed over more than a second before the kill is in the store.
    due = max(n for at, n in handed if at <= killed - 1.0)
    stored = sum(day.ticks for day in TickStore(path).days())
    assert stored >= due
    assert stored <= handed[-1][1]
    db, note = open_for_writing(path)  # not damaged: nothing to move aside
    db.close()
    assert note is None
    assert not list(tmp_path.glob("*.bak*"))

"""``--event-command`` and ``stream --events``: the station's changes of state told to a real program
(its environment only, never a shell) and printed as NDJSON among the quotes, through the real CLI
against a real test server that goes away and comes back."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from quoteboard.feeds.contract import FeedEvents, FeedStatus
from quoteboard.feeds.event_watch import EventWatch
from quoteboard.feeds.events import Event
from quoteboard.feeds.source import FeedSource
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.relay.runner import RelayServer
from quoteboard.server import TestServer
from tests.ndjson_support import event_line, quote_line
from tests.test_alert_command import NASTY

# Appends one JSON line per run: its argv and the QUOTEBOARD_EVENT* environment.
EVENT_DUMP = (
    "import json, os, sys\n"
    "values = {k: v for k, v in os.environ.items() if k.startswith('QUOTEBOARD_EVENT')}\n"
    "with open(sys.argv[1], 'a', encoding='utf-8') as out:\n"
    "    out.write(json.dumps({'argv': sys.argv[2:], 'env': values}) + '\\n')\n"
)


def dump_command(tmp_path: Path) -> tuple[list[str], Path]:
    script = tmp_path / "dump_event.py"
    script.write_text(EVENT_DUMP, encoding="utf-8")
    out = tmp_path / "events.ndjson"
    return [sys.executable, str(script), str(out), NASTY], out


class StatusOnly:
    """What :class:`EventWatch` reads of a feed: its status channel (statuses published by the test)."""

    def __init__(self) -> None:
        self.events = FeedEvents()


def status(state: str, detail: str = "") -> FeedStatus:
    return FeedStatus(state, detail)  # type: ignore[arg-type]  # the new state names


async def test_the_command_gets_the_event_in_its_environment_and_no_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where a `touch pwned` run by a shell would leave its file
    argv, out = dump_command(tmp_path)
    told: list[Event] = []
    failures: list[str] = []
    watch = EventWatch(on_event=told.append, command=argv, on_failure=failures.append, grace=0.2)
    feed = StatusOnly()
    watch.attach(feed)  # type: ignore[arg-type]
    feed.events.status.publish(status("live"))
    feed.events.status.publish(status("reconnecting", NASTY))  # station text, metacharacters and all
    for _ in range(200):  # the grace's timer, then the command's run
        if out.exists() and len(out.read_text(encoding="utf-8").splitlines()) == 2:
            break
        await asyncio.sleep(0.05)
    await watch.aclose()
    assert [(e.event, e.previous) for e in told] == [("live", None), ("reconnecting", "live")]
    runs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [run["argv"] for run in runs] == [[NASTY], [NASTY]]
    assert runs[1]["env"] == {
        "QUOTEBOARD_EVENT": "reconnecting", "QUOTEBOARD_EVENT_PREVIOUS": "live",
        "QUOTEBOARD_EVENT_DETAIL": NASTY, "QUOTEBOARD_EVENT_TIME": told[1].time,
    }  # fmt: skip
    assert runs[0]["env"]["QUOTEBOARD_EVENT_PREVIOUS"] == ""
    assert sorted(os.listdir(tmp_path)) == ["dump_event.py", "events.ndjson"]  # nothing was touched
    assert failures == []


async def test_a_failing_or_hanging_command_is_reported_and_watching_goes_on() -> None:
    failing = [sys.executable, "-c", "import sys; sys.stderr.write('no pager\\n'); sys.exit(3)"]
    failures: list[str] = []
    watch = EventWatch(command=failing, on_failure=failures.append)
    feed = StatusOnly()
    watch.attach(feed)  # type: ignore[arg-type]
    feed.events.status.publish(status("live"))
    feed.events.status.publish(status("unreachable", "nothing listens"))
    await watch.aclose()  # waits for both runs
    assert sorted(failures) == [
        "event command '" + sys.executable + "' for live failed with exit status 3: no pager",
        "event command '" + sys.executable + "' for unreachable failed with exit status 3: no pager",
    ]


def quoteboard(*args: str, **popen: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "quoteboard", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, encoding="utf-8", **popen,  # type: ignore[call-overload]
    )  # fmt: skip


def start_server(port: int = 0) -> tuple[subprocess.Popen[str], int]:
    server = quoteboard("serve", "--port", str(port), "--rate", "20")
    assert server.stdout is not None
    said = server.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:(\d+)/kabusapi", said)
    assert found, said
    return server, int(found.group(1))


def stop(process: subprocess.Popen[str]) -> None:
    process.kill()
    process.communicate(timeout=30)


def test_stream_events_interleaves_event_lines_with_quotes_across_a_station_restart(tmp_path: Path) -> None:
    argv, dumped = dump_command(tmp_path)
    server, port = start_server()
    stream = quoteboard(
        "stream", "--kabu", "any-key", "--kabu-url", f"http://127.0.0.1:{port}/kabusapi",
        "--symbols", "7203@1,9433@1", "--events", "--event-command",
        subprocess.list2cmdline(argv) if os.name == "nt" else shlex.join(argv),
        stderr=subprocess.DEVNULL, env={**os.environ, "QUOTEBOARD_CONFIG_DIR": str(tmp_path)},
    )  # fmt: skip
    guard = threading.Timer(90, stream.kill)  # a stream that never resumes must not hang the suite
    guard.start()
    lines: list[str] = []
    try:
        assert stream.stdout is not None

        def read_quotes(n: int) -> None:
            seen = 0
            while seen < n:
                line = stream.stdout.readline()  # type: ignore[union-attr]
                assert line, f"the stream ended after {lines}"
                lines.append(line)
                seen += '"symbol"' in line

        read_quotes(3)
        stop(server)  # the station goes away...
        away = len(lines)
        server, _ = start_server(port)  # ...and is back on the same port
        read_quotes(3)
        back = len(lines)
    finally:
        guard.cancel()
        stop(stream)
        stop(server)
    assert lines[away:back], "no line after the station came back"
    events = [event_line(line) for line in lines if line.startswith('{"event"')]
    quotes = [quote_line(line) for line in lines if not line.startswith('{"event"')]
    assert len(events) + len(quotes) == len(lines)
    assert (events[0].event, events[0].previous) == ("live", None) and lines[0].startswith('{"event"')
    # Each event's previous is the one before it; a restart of seconds is no `reconnecting` event.
    assert [e.previous for e in events[1:]] == [e.event for e in events[:-1]]
    assert "reconnecting" not in [e.event for e in events] and events[-1].event == "live"
    assert not lines[-1].startswith('{"event"')  # quotes flow after the last event
    runs = [json.loads(line) for line in dumped.read_text(encoding="utf-8").splitlines()]
    assert runs[0] == {"argv": [NASTY], "env": {
        "QUOTEBOARD_EVENT": "live", "QUOTEBOARD_EVENT_PREVIOUS": "",
        "QUOTEBOARD_EVENT_DETAIL": events[0].detail, "QUOTEBOARD_EVENT_TIME": events[0].time,
    }}  # fmt: skip


def test_a_failing_event_command_is_one_stderr_line_and_the_stream_goes_on() -> None:
    failing = f"{sys.executable} -c \"import sys; sys.stderr.write('no pager'); sys.exit(4)\""
    result = subprocess.run(
        [sys.executable, "-m", "quoteboard", "stream", "--demo", "--count", "2", "--event-command", failing],
        capture_output=True, text=True, encoding="utf-8", timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [quote_line(line).symbol for line in result.stdout.splitlines()]  # quotes only: no --events
    assert len(result.stdout.splitlines()) == 2
    [said] = [line for line in result.stderr.splitlines() if "event command" in line]
    assert said.startswith("quoteboard: event command ")
    assert said.endswith("for live failed with exit status 4: no pager")
    assert "Traceback" not in result.stderr


async def test_the_relay_says_a_failing_event_command_as_one_of_its_lines(server: TestServer) -> None:
    failing = [sys.executable, "-c", "import sys; sys.stderr.write('no pager'); sys.exit(5)"]
    lines: list[str] = []
    source = FeedSource.kabu(server.base_url, "any-key")
    async with RelayServer(source, port=0, say=lines.append, event_command=failing):
        for _ in range(300):  # its upstream socket opens: live, and the command's run
            if any("event command" in line for line in lines):
                break
            await asyncio.sleep(0.05)
    [said] = [line for line in lines if "event command" in line]
    assert said.endswith("for live failed with exit status 5: no pager")


async def test_the_board_runs_the_event_command_and_reports_its_failure_as_a_notification(
    tmp_path: Path,
) -> None:
    from tests.app_support import make_app, wait_for

    failing = [sys.executable, "-c", "import sys; sys.stderr.write('pager down'); sys.exit(6)"]
    app = make_app(tmp_path, symbols=[SymbolKey("7203")], event_command=failing)
    async with app.run_test(size=(160, 48)) as pilot:

        def reported() -> list[str]:
            return [n.message for n in app._notifications if n.title == "event command"]

        await wait_for(pilot, reported, what="the failure reported")  # the demo feed's first live
        [said] = reported()
        assert said.endswith("for live failed with exit status 6: pager down")
        assert app.feed is not None
        pushed = app.feed.received
        await wait_for(pilot, lambda: app.feed is not None and app.feed.received >= pushed + 3, what="quotes")

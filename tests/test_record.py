"""Recording a feed and replaying it: the file format, the feed's frame hook, and the command line.

The station's side of a replay is tested in ``tests/server/test_server_replay.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import types
from pathlib import Path

import pytest
from websockets.asyncio.server import serve

from quoteboard.commands import cli
from quoteboard.feeds.kabu import KabuFeed
from quoteboard.history.recording import (
    SESSION_GAP,
    Pacer,
    Recorder,
    RecordingError,
    check_record_target,
    frame_key,
    iter_frames,
    scan_recording,
)
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.server import TestServer, serve_forever
from quoteboard.server.replay import Replay
from tests.record_support import (
    board,
    lines,
    record,
    sample_recording,
)
from tests.test_cli import aquoteboard, quoteboard

# --------------------------------------------------------------------------------------------------
# The file: writing and reading
# --------------------------------------------------------------------------------------------------


def test_recorder_writes_a_header_then_each_frame_flushed_as_it_comes(tmp_path):
    path = tmp_path / "rec.ndjson"
    with Recorder(path, [SymbolKey("7203"), "9433@1"], source="kabu", started_at=100.0) as rec:
        rec.write(board("7203", 2500).encode(), 100.25)
        rec.write(b"not json", 100.5)
        # Flushed: another reader sees both lines while the recorder is still open.
        written = lines(path)
    assert written == [
        {"quoteboard_recording": 1, "started_at": 100.0, "source": "kabu", "symbols": ["7203@1", "9433@1"]},
        {"t": 100.25, "frame": board("7203", 2500)},
        {"t": 100.5, "frame": "not json"},
    ]
    assert rec.frames == 2 and rec.closed


def test_a_closed_recorder_ignores_further_frames(tmp_path):
    path = tmp_path / "rec.ndjson"
    rec = Recorder(path)
    rec.write(b"{}", 1.0)
    rec.close()
    rec.write(b"{}", 2.0)
    assert len(lines(path)) == 2 and rec.frames == 1


def test_a_frame_that_is_not_utf8_is_kept_as_base64_and_read_back_as_bytes(tmp_path):
    path = record(tmp_path / "rec.ndjson", [(1.0, b"\x00\xff\xfe"), (2.0, "ｱ")])
    assert "frame_b64" in lines(path)[1]
    assert [f.data for f in iter_frames(path)] == [b"\x00\xff\xfe", "ｱ"]


def test_recording_again_appends_a_session_starting_on_a_line_of_its_own(tmp_path):
    path = record(tmp_path / "rec.ndjson", [(10.0, board("7203", 1)), (11.0, board("7203", 2))])
    with path.open("ab") as file:
        file.write(b'{"t": 12.0, "fra')  # a crash in the middle of a line
    record(path, [(500.0, board("9433", 3)), (500.5, board("9433", 4))], symbols=["9433@1"])
    scan = scan_recording(path)
    assert (scan.sessions, scan.frames, scan.skipped) == (2, 4, 1)
    assert scan.symbols == ["7203@1", "9433@1"]
    # Within a session the recorded gaps stay; the time nothing was recording shrinks to SESSION_GAP.
    assert [f.offset for f in iter_frames(path)] == [0.0, 1.0, 1.0 + SESSION_GAP, 1.5 + SESSION_GAP]
    assert scan.duration == 1.5 + SESSION_GAP


def test_bad_lines_are_skipped_and_counted_never_fatal(tmp_path):
    path = tmp_path / "rec.ndjson"
    good = json.dumps({"t": 5.0, "frame": board("7203", 1)})
    path.write_text(
        "\n".join(
            [
                json.dumps({"quoteboard_recording": 1, "symbols": ["6758@1"], "started_at": 5.0}),
                good,
                "not json at all",
                json.dumps({"frame": board("7203", 2)}),  # no t
                json.dumps({"t": 6.0}),  # no frame
                json.dumps({"t": "later", "frame": "x"}),  # t not a number
                json.dumps({"t": 6.0, "frame_b64": "!!not base64!!"}),
                json.dumps([1, 2]),
                "",  # blank lines are not counted
                json.dumps({"t": 7.0, "frame": board("9433", 3), "note": "unknown keys are fine"}),
                '{"t": 8.0, "frame": "{\\"Symbol\\": \\"72',  # cut short: the last line of a crash
            ]
        ),
        encoding="utf-8",
    )
    scan = scan_recording(path)
    assert (scan.frames, scan.skipped) == (2, 7)
    assert scan.symbols == ["6758@1", "7203@1", "9433@1"]
    assert [(f.offset, f.key) for f in iter_frames(path)] == [(0.0, "7203@1"), (2.0, "9433@1")]


def test_a_byte_order_mark_and_crlf_line_ends_are_tolerated(tmp_path):
    path = record(tmp_path / "rec.ndjson", [(1.0, board("7203", 1))])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    scan = scan_recording(path)
    assert (scan.sessions, scan.frames, scan.skipped) == (1, 1, 0)


@pytest.mark.parametrize("make", [lambda p: p / "missing.ndjson", lambda p: p], ids=["missing", "directory"])
def test_a_missing_or_unreadable_recording_is_one_clear_error(tmp_path, make):
    with pytest.raises(RecordingError, match=r"^cannot read .+: .+"):
        scan_recording(make(tmp_path))


def test_a_recording_without_frames_cannot_be_replayed(tmp_path):
    path = tmp_path / "stream-output.ndjson"
    path.write_text('{"symbol": "7203", "last": 1}\n', encoding="utf-8")
    with pytest.raises(RecordingError, match=r"holds no frames to replay \(1 unreadable line:"):
        Replay.open(path)


def test_recording_to_an_impossible_path_is_one_clear_error(tmp_path):
    with pytest.raises(RecordingError, match=r"cannot record to .*missing"):
        Recorder(tmp_path / "missing" / "rec.ndjson")


def _untouched(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def _state(path: Path) -> object:
    """What a refused recording must leave as it was: a file's bytes and mtime (a link's target's),
    a directory's listing; a FIFO or a device only has to stay what it is."""
    if path.is_dir():
        return sorted(path.iterdir())
    if path.is_file():
        return path.is_symlink(), _untouched(path)
    return os.lstat(path).st_mode


NOTES = b"shopping: rice, miso\nring the broker\n"


def _notes(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_bytes(NOTES)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))  # an old mtime: a write would change it
    return path


def _file(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _symlink_to_recording(tmp_path: Path) -> Path:
    target = record(tmp_path / "elsewhere.ndjson", [(1.0, board("7203", 1))])
    link = tmp_path / "link.ndjson"
    try:
        link.symlink_to(target)
    except OSError:  # Windows without the symlink privilege: nothing to refuse there
        pytest.skip("this account cannot make symbolic links")
    return link


def _fifo(tmp_path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


def _device(tmp_path: Path) -> Path:
    if not Path(os.devnull).exists() or os.name == "nt":
        pytest.skip("no device file to name on this platform")
    return Path(os.devnull)


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (_notes, "not a quoteboard recording"),
        (lambda p: _file(p / "one.json", '{"note": 1}\n'), "not a quoteboard recording"),
        # A stream's output is NDJSON too, but not a recording.
        (lambda p: _file(p / "out.ndjson", '{"symbol": "7203", "last": 1}\n'), "not a quoteboard recording"),
        (_symlink_to_recording, "symbolic link"),
        (lambda p: p, "directory"),
        (_fifo, "FIFO"),
        (_device, "device"),
    ],
    ids=["notes", "other-json", "stream-output", "symlink", "directory", "fifo", "device"],
)
@pytest.mark.parametrize("how", ["check", "recorder"])
def test_recording_refuses_anything_but_a_new_file_or_a_recording_and_leaves_it_untouched(
    tmp_path, make, said, how
):
    path = make(tmp_path)
    before = _state(path)
    with pytest.raises(RecordingError) as refused:
        if how == "check":
            check_record_target(path)
        else:
            Recorder(path, ["7203@1"], source="test")
    message = str(refused.value)
    assert said in message and str(path) in message and "\n" not in message
    assert _state(path) == before


def test_recording_goes_to_a_new_file_an_empty_one_or_an_earlier_recording(tmp_path):
    empty = tmp_path / "empty.ndjson"
    empty.touch()
    earlier = record(tmp_path / "earlier.ndjson", [(1.0, board("7203", 1))])
    with_bom = tmp_path / "bom.ndjson"
    with_bom.write_bytes(b"\xef\xbb\xbf" + earlier.read_bytes().replace(b"\n", b"\r\n"))
    paths = [tmp_path / "new.ndjson", empty, earlier, with_bom]
    for path in paths:
        check_record_target(path)
        record(path, [(5.0, board("9433", 2))], symbols=["9433@1"])
    assert [scan_recording(p).sessions for p in paths] == [1, 1, 2, 2]


def test_frame_key_is_code_at_exchange_with_null_meaning_the_tse():
    assert frame_key(board("7203", 1, exchange=3)) == "7203@3"
    assert frame_key(board("7203", 1, exchange=None)) == "7203@1"
    assert (
        frame_key("not json") is None and frame_key(b"\xff") is None and frame_key('{"Symbol": ""}') is None
    )


def test_pacer_scales_recorded_time_by_speed_and_can_be_reanchored():
    pacer = Pacer(speed=4)
    pacer.start(clock=100.0, offset=0.0)
    assert pacer.due(2.0) == 100.5
    pacer.start(clock=300.0, offset=2.0)  # resumed later, where it stopped
    assert pacer.due(6.0) == 301.0
    with pytest.raises(ValueError):
        Pacer(0)


# --------------------------------------------------------------------------------------------------
# The feed's hook
# --------------------------------------------------------------------------------------------------


async def test_feed_hands_every_raw_frame_to_its_frame_subscribers_before_decoding(unused_tcp_port):
    sent = ["not json", board("7203", 2500), b"\x00\xff"]
    seen: list[tuple[str, object]] = []

    async def station(ws):
        for frame in sent:
            await ws.send(frame)
        await ws.wait_closed()

    async with serve(station, "127.0.0.1", unused_tcp_port):
        feed = KabuFeed(f"http://127.0.0.1:{unused_tcp_port}/kabusapi")
        feed.events.frame.subscribe(lambda f, t: seen.append(("frame", f)))
        feed.events.quote.subscribe(lambda q: seen.append(("quote", q.symbol)))
        feed.events.reject.subscribe(seen.append)
        task = asyncio.create_task(feed.run())
        try:
            async with asyncio.timeout(5):
                while len(seen) < 6:
                    await asyncio.sleep(0.01)
        finally:
            await feed.close()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert [kind for kind, _ in seen[::2]] == ["frame"] * 3
    assert [f for _, f in seen[::2]] == [b"not json", board("7203", 2500).encode(), b"\x00\xff"]
    assert seen[3] == ("quote", "7203")


@pytest.fixture
def recording(tmp_path) -> Path:
    return sample_recording(tmp_path / "rec.ndjson")


# --------------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------------


def without_received_at(output: str) -> list[dict]:
    records = [json.loads(line) for line in output.splitlines()]
    for r in records:
        assert r.pop("received_at")
    return records


def test_stream_record_then_replay_prints_the_identical_quotes_in_order(tmp_path):
    rec = tmp_path / "rec.ndjson"
    live = quoteboard("stream", "--demo", "--record", str(rec), "--count", "60")
    assert live.returncode == 0, live.stderr
    replayed = quoteboard("stream", "--replay", str(rec), "--count", "60")
    assert replayed.returncode == 0, replayed.stderr
    assert len(live.stdout.splitlines()) == 60
    assert without_received_at(replayed.stdout) == without_received_at(live.stdout)
    # Recording stops at the 60th quote: the file holds exactly what was printed.
    assert len(lines(rec)) == 1 + 60
    assert "Traceback" not in live.stderr + replayed.stderr


def test_stream_replay_ends_with_the_recording_and_says_so(tmp_path, recording):
    result = quoteboard("stream", "--replay", str(recording), "--speed", "10")
    assert result.returncode == 0, result.stderr
    assert [(r["symbol"], r["last"]) for r in without_received_at(result.stdout)] == [
        ("7203", 2500), ("9433", 4000), ("7203", 2501), ("1301", 3000), ("7203", 2502)
    ]  # fmt: skip
    assert "replay of" in result.stderr and "ended after 5 quotes" in result.stderr
    assert "1 undecodable frames were skipped" in result.stderr


def test_stream_replay_with_symbols_streams_only_those(recording):
    result = quoteboard("stream", "--replay", str(recording), "--speed", "10", "--symbols", "9433")
    assert result.returncode == 0, result.stderr
    assert [r["symbol"] for r in without_received_at(result.stdout)] == ["9433"]


def test_stream_replay_reports_bad_lines_on_one_line_and_plays_the_rest(recording):
    with recording.open("a", encoding="utf-8") as file:
        file.write('not json\n{"t": 1000.6, "frame": "{\\"Sym')
    result = quoteboard("stream", "--replay", str(recording), "--speed", "10", "--count", "5")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 5
    assert f"quoteboard: replay skipped 2 bad lines of {recording}\n" in result.stderr


def test_stream_replay_of_a_missing_file_is_a_usage_error_naming_it(tmp_path):
    result = quoteboard("stream", "--replay", str(tmp_path / "nope.ndjson"))
    assert result.returncode == 2 and result.stdout == ""
    last = result.stderr.splitlines()[-1]
    assert last.startswith("quoteboard stream: error: argument --replay: cannot read")
    assert "nope.ndjson" in last
    assert "Traceback" not in result.stderr


async def test_stream_record_to_a_file_that_is_not_a_recording_refuses_at_start_and_keeps_it(tmp_path):
    notes = _notes(tmp_path)
    before = _untouched(notes)
    result = quoteboard("stream", "--demo", "--symbols", "7203", "--count", "3", "--record", str(notes))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"quoteboard: cannot record to {notes}: it is not a quoteboard recording")
    assert _untouched(notes) == before


async def test_the_password_is_never_written_to_the_recording(tmp_path):
    rec = tmp_path / "rec.ndjson"
    async with TestServer(seed=1, rate_limit=None, password="s3cret-pw") as srv:
        code, _out, err = await aquoteboard(
            "stream", "--kabu", "s3cret-pw", "--kabu-url", srv.base_url, "--symbols", "7203",
            "--count", "3", "--record", str(rec),
        )  # fmt: skip
    assert code == 0, err
    text = rec.read_text("utf-8")
    assert "s3cret-pw" not in text and srv.base_url not in text
    assert lines(rec)[0]["source"] == "kabu" and len(lines(rec)) == 4


@pytest.mark.parametrize(
    "args",
    [
        ["stream", "--demo", "--replay", "r.ndjson"],
        ["stream", "--kabu", "k", "--replay", "r.ndjson"],
        ["--demo", "--replay", "r.ndjson"],
        ["serve", "--rate", "5", "--replay", "r.ndjson"],
        ["stream", "--demo", "--speed", "2"],
        ["serve", "--loop"],
    ],
)
def test_replay_options_that_contradict_each_other_are_usage_errors(args, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.ndjson").touch()  # a file that exists: --replay's own check passes
    with pytest.raises(SystemExit) as stop:
        cli.main(args)
    err = capsys.readouterr().err
    assert stop.value.code == 2
    assert "not allowed with" in err or "apply to --replay" in err


def test_board_gets_replay_speed_and_record(monkeypatch, tmp_path):
    calls = []
    fake = types.ModuleType("quoteboard.board.launch")
    fake.run_board = lambda source, kabu, **kwargs: calls.append((source, kabu, kwargs)) or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "quoteboard.board.launch", fake)
    day = sample_recording(tmp_path / "day.ndjson")
    assert cli.main(["--replay", str(day), "--speed", "30", "--record", "again.ndjson"]) == 0
    assert cli.main(["--demo"]) == 0
    (replay, kabu, options), (demo, _, plain) = calls
    assert replay.kind == "replay" and kabu.kind == "kabu" and options["record"] == Path("again.ndjson")
    assert replay.server.speed == 30.0 and replay.server.path == day
    assert options["recorded"] == [SymbolKey("7203"), SymbolKey("9433"), SymbolKey("1301")]
    assert demo.kind == "demo" and plain["record"] is None and plain["recorded"] is None


def test_serve_replay_of_a_missing_file_is_one_line_and_status_1(tmp_path, capsys):
    assert serve_forever("127.0.0.1", 0, replay=tmp_path / "nope.ndjson") == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "cannot read" in err

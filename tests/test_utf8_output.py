"""Text out is UTF-8 whatever the console's code page, and a closed pipe ends ``stream`` quietly.

Windows gives a redirected stdout the ANSI code page; ``PYTHONIOENCODING`` simulates it here (cp1252:
English Windows and CI runners, cp932: Japanese Windows), without ``PYTHONUTF8``, which would hide it.
"""

from __future__ import annotations

import argparse
import errno
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from quoteboard.commands.cli import build_parser, main
from quoteboard.commands.stream import run_stream
from quoteboard.feeds.source import FeedSource
from quoteboard.kabu.protocol import parse_symbol

ROOT = Path(__file__).resolve().parent.parent
CODE_PAGES = ["cp1252", "cp932"]
SUBCOMMANDS = sorted(
    name
    for action in build_parser()._actions
    if isinstance(action, argparse._SubParsersAction)
    for name in action.choices
)


def run_redirected(args: list[str], code_page: str, tmp_path: Path) -> tuple[int, bytes, bytes]:
    """``python -m quoteboard ARGS > out 2> err`` under ``code_page``: the exit status and both files."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUTF8"}
    env |= {"PYTHONIOENCODING": code_page, "PYTHONPATH": str(ROOT),
            "QUOTEBOARD_CONFIG_DIR": str(tmp_path / "config")}  # fmt: skip
    out, err = tmp_path / "out", tmp_path / "err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        done = subprocess.run([sys.executable, "-m", "quoteboard", *args], stdout=stdout, stderr=stderr,
                              stdin=subprocess.DEVNULL, env=env, timeout=60)  # fmt: skip
    return done.returncode, out.read_bytes(), err.read_bytes()


@pytest.mark.parametrize("code_page", CODE_PAGES)
def test_stream_redirected_to_a_file_writes_utf8_json_with_the_japanese_names(code_page: str, tmp_path: Path):
    code, out, err = run_redirected(["stream", "--demo", "--duration", "3"], code_page, tmp_path)
    assert code == 0, err.decode("utf-8", "replace")
    records = [json.loads(line) for line in out.decode("utf-8").splitlines()]  # strict: UTF-8 or fail
    assert records, "no quotes in 3 s"
    names = {record["symbol"]: record["name"] for record in records}
    assert names.get("7203") == "トヨタ自動車", names


@pytest.mark.parametrize("code_page", CODE_PAGES)
@pytest.mark.parametrize("command", [None, *SUBCOMMANDS])
def test_help_redirected_to_a_file_exits_0_in_utf8(command: str | None, code_page: str, tmp_path: Path):
    code, out, err = run_redirected([*([command] if command else []), "--help"], code_page, tmp_path)
    assert code == 0, err.decode("utf-8", "replace")
    text = out.decode("utf-8")
    assert text.startswith("usage: ")
    if command is None:
        assert "kabuステーション" in text


@pytest.mark.parametrize("code_page", CODE_PAGES)
def test_an_error_line_names_a_japanese_path_in_utf8(code_page: str, tmp_path: Path):
    code, _, err = run_redirected(["stream", "--replay", str(tmp_path / "記録.ndjson")], code_page, tmp_path)
    assert code == 2
    said = err.decode("utf-8")
    assert "error: argument --replay: " in said and "記録.ndjson" in said and "Traceback" not in said


class Console(io.TextIOWrapper):
    """A console whose code page cannot show every character (what ``isatty`` says decides)."""

    def isatty(self) -> bool:
        return True


def test_a_console_that_cannot_show_a_character_gets_a_question_mark_not_a_crash(monkeypatch):
    raw = io.BytesIO()
    console = Console(raw, encoding="ascii")
    monkeypatch.setattr(sys, "stdout", console)
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    console.flush()
    assert exited.value.code == 0
    assert "kabuステーション".encode("ascii", "replace").decode() in raw.getvalue().decode("ascii")
    assert console.encoding == "ascii"  # a console keeps its own encoding


class ClosedPipe(io.StringIO):
    """A stdout whose reader has gone: Windows reports it as EINVAL, POSIX as EPIPE."""

    def __init__(self, error: int) -> None:
        super().__init__()
        self.error = error

    def write(self, text: str) -> int:
        raise OSError(self.error, os.strerror(self.error))

    def fileno(self) -> int:
        raise io.UnsupportedOperation("no file descriptor")


@pytest.mark.parametrize("error", [errno.EINVAL, errno.EPIPE], ids=["EINVAL", "EPIPE"])
def test_a_closed_pipe_ends_stream_quietly(error: int, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", ClosedPipe(error))
    code = run_stream(FeedSource("demo"), symbols=[parse_symbol("7203")], count=100, duration=None)
    assert code == 0
    assert "Traceback" not in capsys.readouterr().err


def test_another_write_error_is_not_taken_for_a_closed_pipe(monkeypatch):
    monkeypatch.setattr(sys, "stdout", ClosedPipe(errno.ENOSPC))
    with pytest.raises(OSError, match=os.strerror(errno.ENOSPC)):
        run_stream(FeedSource("demo"), symbols=[parse_symbol("7203")], count=100, duration=None)

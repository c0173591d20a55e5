"""The headless commands as a user runs them: real subprocesses, real servers."""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import subprocess
import sys

import pytest

from quoteboard.commands.echo import echo_session
from tests.ndjson_support import quote_line

STREAM_KEYS = [
    "symbol", "exchange", "name", "last", "change", "change_pct", "bid", "bid_qty", "ask", "ask_qty",
    "volume", "vwap", "high", "low", "time", "received_at",
]  # fmt: skip


def quoteboard(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "quoteboard", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


async def aquoteboard(*args: str, env: dict | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "quoteboard", *args,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
def server_factory():
    """Test servers with settings of the test's choosing (a password, say)."""
    from quoteboard.server import TestServer

    return lambda **settings: TestServer(seed=1, rate_limit=None, **settings)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_help_lists_the_commands():
    result = quoteboard("--help")
    assert result.returncode == 0
    for word in ("--demo", "--kabu", "stream", "serve", "echo", "bench", "QUOTEBOARD_KABU_KEY"):
        assert word in result.stdout
    assert "Prefer $QUOTEBOARD_KABU_KEY or the prompt" in result.stdout  # over a KEY others can read


def test_stream_demo_prints_30_quotes_as_ndjson():
    result = quoteboard("stream", "--demo", "--symbols", "7203@1,9433@1", "--count", "30")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 30
    records = [json.loads(line) for line in lines]
    assert all(list(r) == STREAM_KEYS for r in records)
    for line in lines:
        quote_line(line)  # every key's type, and the conventions alert lines share
    assert {r["symbol"] for r in records} == {"7203", "9433"}
    assert all(r["bid"] < r["ask"] for r in records)
    assert "Traceback" not in result.stderr


def test_stream_duration_ends_the_stream():
    result = quoteboard("stream", "--demo", "--symbols", "7203", "--duration", "1.5")
    assert result.returncode == 0, result.stderr
    assert 1 <= len(result.stdout.splitlines()) <= 20


async def test_stream_wrong_password_is_one_line_with_kabus_message(server_factory):
    async with server_factory(password="right-one") as srv:
        code, out, err = await aquoteboard(
            "stream",
            "--kabu",
            "wrong-secret",
            "--kabu-url",
            srv.base_url,
            "--symbols",
            "7203",
            "--count",
            "1",
        )
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "4001013" in err and "password is wrong" in err
    assert "wrong-secret" not in err and "Traceback" not in err


async def test_stream_kabu_key_from_the_environment(server_factory):
    async with server_factory(password="env-secret") as srv:
        code, out, err = await aquoteboard(
            "stream", "--kabu", "--kabu-url", srv.base_url, "--symbols", "6758", "--count", "2",
            env={"QUOTEBOARD_KABU_KEY": "env-secret"},
        )  # fmt: skip
    assert code == 0, err
    assert [json.loads(line)["name"] for line in out.splitlines()] == ["ソニーグループ", "ソニーグループ"]
    assert "env-secret" not in out + err


async def test_stream_prints_only_its_symbols_and_counts_what_other_programs_registered(server_factory):
    # The station pushes every symbol registered on it, by any program: a bot has 9433 and 6758.
    from tests.server.support import register

    async with server_factory() as srv:
        await register(srv, "9433", "6758")
        code, out, err = await aquoteboard(
            "stream", "--kabu", "k", "--kabu-url", srv.base_url, "--symbols", "7203", "--count", "12"
        )
        assert sorted(srv.registered) == ["6758@1", "7203@1", "9433@1"]  # all three were pushed
    assert code == 0, err
    assert {json.loads(line)["symbol"] for line in out.splitlines()} == {"7203"}
    skipped = [line for line in err.splitlines() if "not asked for were skipped" in line]
    assert len(skipped) == 1 and int(skipped[0].split()[1]) > 0, err


def test_stream_unreachable_station_says_so():
    url = f"http://127.0.0.1:{free_port()}/kabusapi"
    result = quoteboard("stream", "--kabu", "k", "--kabu-url", url, "--symbols", "7203", "--count", "1")
    assert result.returncode == 1
    assert "cannot reach Kabu Station" in result.stderr and "Traceback" not in result.stderr


def test_stream_kabu_without_a_key_and_no_terminal_explains():
    env = {k: v for k, v in os.environ.items() if k != "QUOTEBOARD_KABU_KEY"}
    result = subprocess.run(
        [sys.executable, "-m", "quoteboard", "stream", "--kabu", "--symbols", "7203"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env, timeout=30,
    )  # fmt: skip
    assert result.returncode != 0 and "QUOTEBOARD_KABU_KEY" in result.stderr


def test_stream_names_a_symbol_the_station_refuses_and_exits_1():
    result = quoteboard("stream", "--demo", "--symbols", "7203,1111", "--count", "1")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == (
        "quoteboard: the station refused 1111@1: 4002001 no such symbol (銘柄が見つからない) [HTTP 400]"
    )


def test_bad_symbols_are_a_usage_error():
    result = quoteboard("stream", "--demo", "--symbols", "72-03")
    assert result.returncode == 2 and "not a symbol code" in result.stderr


@pytest.mark.parametrize(
    "url", ["localhost:18080/kabusapi", "ws://localhost:18080", "http://", "http://h:x/"]
)
def test_a_kabu_url_that_is_not_an_http_url_is_a_usage_error(url: str):
    result = quoteboard("stream", "--kabu", "--kabu-url", url, env={"QUOTEBOARD_KABU_KEY": "pw"})
    assert result.returncode == 2 and "--kabu-url: expected an http:// URL" in result.stderr
    assert "Traceback" not in result.stderr


async def test_echo_client_gets_its_echoes(server):
    out = io.StringIO()
    matched = await echo_session(server.echo_url, 0.01, 3, out)
    assert matched == 3
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("connected") and all("rtt" in line for line in lines[1:])


def test_echo_to_nothing_is_a_clear_error():
    result = quoteboard("echo", f"ws://127.0.0.1:{free_port()}/", "--count", "1")
    assert result.returncode == 1
    assert "cannot connect" in result.stderr and "Traceback" not in result.stderr


def test_stream_ends_cleanly_when_the_reader_goes_away():
    """`quoteboard stream | head -1`: a closed pipe ends the stream; it must not reconnect forever."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "quoteboard", "stream", "--demo", "--symbols", "7203", "--count", "1000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    first = proc.stdout.readline()
    proc.stdout.close()
    try:
        code = proc.wait(timeout=20)
    finally:
        proc.kill()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert json.loads(first)["symbol"] == "7203"
    assert code == 0, err
    assert "reconnecting" not in err and "Traceback" not in err


def test_a_list_name_that_cannot_be_a_tab_is_a_usage_error():
    result = quoteboard("--demo", "--list", "x" * 30)
    assert result.returncode == 2 and "--list: a list name has at most 24 characters" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["serve", "--port", "99999"], "--port"),
        (["relay", "--demo", "--port", "99999"], "--port"),
        (["serve", "--port", "-1"], "--port"),
        (["serve", "--port", "nine"], "--port"),
        (["stream", "--demo", "--count", "0"], "--count"),
        (["stream", "--demo", "--count", "many"], "--count"),
        (["stream", "--demo", "--duration", "nan"], "--duration"),
        (["serve", "--rate", "inf"], "--rate"),
        (["--demo", "--speed", "-2"], "--speed"),
        (["relay", "--demo", "--lease", "0"], "--lease"),
        (["relay", "--demo", "--max-clients", "-5"], "--max-clients"),
        (["echo", "--interval", "0"], "--interval"),
        (["bench", "--window", "0"], "--window"),
        (["echo", "http://127.0.0.1:9000/"], "url"),
        (["stream", "--nats", "http://desk:hidden-pw@natshost:4222"], "--nats"),
        (["--demo", "--stall-after", "0"], "--stall-after"),
        (["stream", "--demo", "--stall-after", "-1"], "--stall-after"),
        (["relay", "--demo", "--stall-after", "soon"], "--stall-after"),
        (["stream", "--nats", "nats://desk:hidden-pw@natshost:99999"], "--nats"),
    ],
)
def test_a_bad_number_port_or_url_is_one_usage_line_naming_the_flag(args: list[str], flag: str):
    result = quoteboard(*args)
    assert result.returncode == 2, result.stderr
    *usage, last = result.stderr.strip().splitlines()
    assert usage[0].startswith("usage: quoteboard")
    assert f": error: argument {flag}: " in last, last
    assert "Traceback" not in result.stderr and "hidden-pw" not in result.stderr


def test_input_files_must_be_readable_files_at_parse_time(tmp_path):
    missing = tmp_path / "nope.json"
    for args in (
        ["stream", "--replay", str(missing)],
        ["serve", "--replay", str(missing)],
        ["serve", "--positions", str(tmp_path)],  # a directory
        ["relay", "--demo", "--nats", "nats://127.0.0.1:4222", "--nats-creds", str(missing)],
    ):
        result = quoteboard(*args)
        flag = next(arg for arg in args if arg in ("--replay", "--positions", "--nats-creds"))
        assert result.returncode == 2, (args, result.stderr)
        last = result.stderr.strip().splitlines()[-1]
        assert f"argument {flag}: cannot read {args[args.index(flag) + 1]}" in last, last
        assert "Traceback" not in result.stderr


def test_record_needs_a_writable_directory_at_parse_time(tmp_path):
    for target, why in ((tmp_path / "no-dir" / "day.ndjson", "no directory"), (tmp_path, "a directory")):
        result = quoteboard("stream", "--demo", "--symbols", "7203", "--count", "1", "--record", str(target))
        assert result.returncode == 2 and result.stdout == ""
        last = result.stderr.strip().splitlines()[-1]
        assert "argument --record: cannot write" in last and why in last, last
    assert not (tmp_path / "no-dir").exists()


@pytest.mark.parametrize(
    ("args", "module", "runner"),
    [
        (["--demo"], "quoteboard.board.launch", "run_board"),
        (["stream", "--demo"], "quoteboard.commands.stream", "run_stream"),
        (["relay", "--demo"], "quoteboard.relay.runner", "run_relay"),
    ],
)
def test_stall_after_reaches_the_feed_source_of_board_stream_and_relay(args, module, runner, monkeypatch):
    import importlib

    from quoteboard.commands.cli import main

    seen = []
    fake = lambda source, *a, **k: seen.append(source) or 0  # noqa: E731
    monkeypatch.setattr(importlib.import_module(module), runner, fake)
    assert main([*args, "--stall-after", "2.5"]) == 0
    assert main(args) == 0
    assert [source.stall_after for source in seen] == [2.5, 30.0]

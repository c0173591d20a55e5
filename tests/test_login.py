"""``quoteboard login`` / ``logout``: the API password kept in the OS credential store (a stand-in
backend here), used by ``--kabu`` when no KEY and no ``$QUOTEBOARD_KABU_KEY`` is given, and never
written to a file of ours, a screen or a log; a system without a store says so in one line."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from quoteboard.commands.cli import main
from quoteboard.commands.credentials import SERVICE
from quoteboard.commands.options import KEY_ENV
from quoteboard.server import TestServer
from tests.keyring_backends import MemoryKeyring

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Kq9-login-hunter2"
NO_STORE = "keyring.backends.fail.Keyring"


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(before)


def environment(tmp_path: Path, backend: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    env.update(
        PYTHONPATH=str(ROOT),  # the backend lives in tests/
        PYTHON_KEYRING_BACKEND=backend,
        QUOTEBOARD_TEST_KEYRING=str(tmp_path / "os-credential-store.json"),
        QUOTEBOARD_CONFIG_DIR=str(tmp_path / "home" / "config"),
        HOME=str(tmp_path / "home"),  # platformdirs' data and cache dirs, on Linux and macOS
        XDG_DATA_HOME=str(tmp_path / "home" / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "home" / "xdg-config"),
        XDG_CACHE_HOME=str(tmp_path / "home" / "cache"),
    )
    return env


async def quoteboard(*args: str, env: dict[str, str], stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "quoteboard", *args, env=env, cwd=env["HOME"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(stdin), 60)
    return subprocess.CompletedProcess(args, proc.returncode, out.decode(), err.decode())


async def test_login_keeps_the_password_that_kabu_then_uses_and_writes_it_nowhere(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    env = environment(tmp_path, "tests.keyring_backends.FileKeyring")
    recording = tmp_path / "home" / "session.ndjson"
    async with TestServer(seed=1, rate_limit=None, password=PASSWORD) as station:
        url = station.base_url
        login = await quoteboard("login", "--kabu-url", url, env=env, stdin=f"{PASSWORD}\n".encode())
        assert login.returncode == 0, login.stderr
        assert "kept in the credential store" in login.stdout
        # No KEY, no $QUOTEBOARD_KABU_KEY, no terminal: before login this was "no API password".
        stream = await quoteboard("stream", "--kabu", "--kabu-url", url, "--symbols", "7203", "--count", "1",
                                  "--record", str(recording), env=env)  # fmt: skip
        assert stream.returncode == 0, stream.stderr
        assert '"symbol":"7203"' in stream.stdout
        # Another station's URL is another entry: nothing kept for it, so nothing is sent to it.
        other = await quoteboard("stream", "--kabu", "--kabu-url", "http://127.0.0.1:9/kabusapi",
                                 "--count", "1", env=env)  # fmt: skip
        assert other.returncode == 1 and "no API password" in other.stderr
    shown = "".join(r.stdout + r.stderr for r in (login, stream, other))
    written = {p: p.read_bytes() for p in (tmp_path / "home").rglob("*") if p.is_file()}
    assert recording in written and len(written[recording]) > 0  # the recording was written, and searched
    assert PASSWORD not in shown
    assert [p for p, data in written.items() if PASSWORD.encode() in data] == []
    # Only the stand-in for the OS store holds it.
    assert PASSWORD in (tmp_path / "os-credential-store.json").read_text(encoding="utf-8")


def test_logout_forgets_the_password(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "http://localhost:18081/kabusapi"
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{PASSWORD}\r\n"))
    assert main(["login", "--kabu-url", url]) == 0
    assert memory_keyring.secrets == {(SERVICE, url): PASSWORD}  # the line ending is not part of it
    assert main(["logout", "--kabu-url", url]) == 0
    assert memory_keyring.secrets == {}
    assert main(["logout", "--kabu-url", url]) == 0
    out = capsys.readouterr().out
    assert f"forgot the API password kept for {url}" in out and f"no API password kept for {url}" in out
    assert PASSWORD not in out


def test_login_with_nothing_on_stdin_keeps_nothing(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["login"]) == 1
    assert memory_keyring.secrets == {}
    assert capsys.readouterr().err == "quoteboard: no API password given: nothing kept\n"


async def test_without_a_credential_store_login_says_so_and_kabu_asks_as_before(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    env = environment(tmp_path, NO_STORE)
    login = await quoteboard("login", env=env, stdin=f"{PASSWORD}\n".encode())
    assert login.returncode == 1 and login.stdout == ""
    [line] = login.stderr.splitlines()
    assert line.startswith("quoteboard: no credential store on this system") and PASSWORD not in line
    logout = await quoteboard("logout", env=env)
    assert logout.returncode == 1 and len(logout.stderr.splitlines()) == 1
    stream = await quoteboard("stream", "--kabu", "--count", "1", env=env)
    assert stream.returncode == 1
    assert stream.stderr == (
        f"quoteboard: no API password: pass --kabu KEY or set {KEY_ENV}, or keep it with `quoteboard login`\n"
    )

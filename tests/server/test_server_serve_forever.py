"""``serve_forever``, what ``quoteboard serve`` runs: one ready line, clean Ctrl-C, clear busy port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

from quoteboard.server import serve_forever


def test_busy_port_is_one_line_and_a_nonzero_status(capsys):
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        status = serve_forever("127.0.0.1", port, None, None)
    out, err = capsys.readouterr()
    assert status == 1
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"cannot listen on 127.0.0.1:{port}" in err


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX-only")
def test_ready_line_then_ctrl_c_exits_zero():
    code = "import sys; from quoteboard.server import serve_forever; sys.exit(serve_forever('127.0.0.1', 0))"
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = child.stdout.readline()
        assert "http://127.0.0.1:" in line and "/kabusapi" in line
        assert "ws://127.0.0.1:" in line and "/kabusapi/websocket" in line
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=10)
    finally:
        child.kill()
    assert child.returncode == 0, err
    assert "Traceback" not in err and out == ""

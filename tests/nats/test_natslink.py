"""NATS URLs and credentials: parsed, shown with the password masked; the base install without nats."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from quoteboard.nats.link import NatsTarget, find_nats_server

ROOT = Path(__file__).resolve().parents[2]


def test_a_url_with_a_password_is_shown_masked_and_kept_apart():
    target = NatsTarget.parse("nats://alice:s3cret-pw@10.0.0.5:4333")
    assert target.url == "nats://10.0.0.5:4333" and target.user == "alice"
    assert target.password is not None and target.password.reveal() == "s3cret-pw"
    assert target.shown() == "nats://alice:***@10.0.0.5:4333"
    assert "s3cret-pw" not in repr(target) and "s3cret-pw" not in str(target)
    assert target.host_port == "10.0.0.5:4333" and not target.is_loopback and target.has_credentials


def test_bare_hosts_tls_and_the_default_port():
    assert NatsTarget.parse("127.0.0.1").url == "nats://127.0.0.1"
    assert NatsTarget.parse("127.0.0.1").host_port == "127.0.0.1:4222"
    assert NatsTarget.parse("tls://nats.example:4443").url == "tls://nats.example:4443"
    assert NatsTarget.parse("localhost:4222").is_loopback


@pytest.mark.parametrize("text", ["http://host:4222", "nats://:4222", "nats://host:99999"])
def test_a_bad_url_is_refused_without_repeating_it(text):
    with pytest.raises(ValueError, match="expected a NATS URL"):
        NatsTarget.parse(text)


def test_the_environment_names_the_server(monkeypatch):
    monkeypatch.delenv("QUOTEBOARD_NATS_URL", raising=False)
    monkeypatch.setenv("NATS_URL", "nats://u:pw-from-env@127.0.0.1:4999")
    target = NatsTarget.from_env()
    assert target is not None and target.shown() == "nats://u:***@127.0.0.1:4999"
    monkeypatch.setenv("QUOTEBOARD_NATS_URL", "nats://127.0.0.1:5000")
    assert NatsTarget.from_env() == NatsTarget("nats://127.0.0.1:5000")


def test_the_test_extra_brings_a_nats_server_binary():
    binary = find_nats_server()
    assert binary is not None and Path(binary).is_file()


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_the_base_install_never_imports_nats():
    done = _python(
        "import sys\n"
        "import quoteboard.commands.cli, quoteboard.feeds.source, quoteboard.nats.link\n"
        "import quoteboard.feeds.nats, quoteboard.relay.runner, quoteboard.commands.stream\n"
        "from quoteboard.commands.cli import build_parser\n"
        "build_parser().parse_args(['stream', '--nats', 'nats://127.0.0.1:1', '--symbols', '7203'])\n"
        "assert 'nats' not in sys.modules, sorted(m for m in sys.modules if m.startswith('nats'))\n"
    )
    assert done.returncode == 0, done.stderr


def test_without_nats_py_the_user_is_told_the_extra_to_install():
    done = _python(
        "import sys\n"
        "sys.modules['nats'] = None  # as if nats-py were not installed\n"
        "from quoteboard.commands.cli import main\n"
        "sys.exit(main(['stream', '--nats', 'nats://u:hidden-pw@127.0.0.1:1', '--symbols', '7203']))\n"
    )
    assert done.returncode == 1
    assert 'pip install ".[nats]" in the clone' in done.stderr and "hidden-pw" not in done.stderr


async def test_a_creds_file_without_nkeys_says_what_to_install(tmp_path, monkeypatch):
    import importlib.util

    from quoteboard.nats.link import NatsUnavailable, connect

    if importlib.util.find_spec("nkeys") is not None:
        monkeypatch.setitem(sys.modules, "nkeys", None)  # find_spec then answers None, as if absent
    creds = tmp_path / "desk.creds"
    creds.write_text("-----BEGIN NATS USER JWT-----\n")
    with pytest.raises(NatsUnavailable, match=r"pip install 'nats-py\[nkeys\]'"):
        await connect(NatsTarget.parse("nats://127.0.0.1:1", creds), name="t")


async def test_a_connect_given_up_by_its_caller_leaves_no_task_behind():
    import asyncio

    from quoteboard.nats.link import connect

    # A server that accepts and never says INFO: nats-py waits on it until its own timeout.
    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    before = asyncio.all_tasks()
    try:
        attempt = asyncio.create_task(connect(NatsTarget.parse(f"nats://127.0.0.1:{port}"), name="gave-up"))
        await asyncio.sleep(0.3)
        attempt.cancel()
        await asyncio.gather(attempt, return_exceptions=True)
        assert attempt.cancelled()
        await asyncio.sleep(0.1)
        left = {task for task in asyncio.all_tasks() - before if not task.done()}
        assert left == set(), left
    finally:
        server.close()
        await server.wait_closed()

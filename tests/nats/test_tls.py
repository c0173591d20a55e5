"""TLS to a real nats-server that takes TLS only, on a throwaway CA's certificate, with a password:
the relay publishes and subscribers receive over tls:// when ``$SSL_CERT_FILE`` trusts the CA; an
untrusted certificate, for tls:// and for nats://, is said in one line without the password."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from quoteboard.feeds.nats import NatsFeed
from quoteboard.feeds.source import FeedSource
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.nats.link import NatsTarget, NatsUnavailable, connect
from quoteboard.relay.runner import RelayServer, RelayStartError
from quoteboard.server import TestServer
from tests.nats.support import NatsServer, TlsFiles, eventually, make_certs

PASSWORD = "station-secret-pw"
NATS_PASSWORD = "nats-Tls-pw-7351"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_certs(Path(tmp_path_factory.mktemp("certs")))


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """Another CA: trusting it is not trusting the server's."""
    return make_certs(Path(tmp_path_factory.mktemp("stranger")), name="stranger")


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, certs: TlsFiles) -> Iterator[NatsServer]:
    store = Path(tmp_path_factory.mktemp("nats-tls"))
    with NatsServer(store, user="qb", password=NATS_PASSWORD, tls=certs) as server:
        yield server


@pytest_asyncio.fixture
async def station() -> AsyncIterator[TestServer]:
    async with TestServer(seed=5, rate_limit=None, password=PASSWORD) as srv:
        yield srv


def _stream(url: str, ca: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "quoteboard", "stream", "--nats", url, "--symbols", "7203"]
    command += ["--count", "2"]
    env = {**os.environ, "SSL_CERT_FILE": str(ca)}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


async def test_the_relay_publishes_over_tls_and_subscribers_receive(station, tls_server, certs, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certs.ca))
    url = tls_server.url_with_password
    assert url.startswith("tls://")
    lines: list[str] = []
    source = FeedSource.kabu(station.base_url, PASSWORD)
    async with RelayServer(source, port=0, say=lines.append, nats=NatsTarget.parse(url), lease_check=0.1):
        feed = NatsFeed(NatsTarget.parse(url), client_id="tls-board")
        feed.registry.replace_watch([SymbolKey("7203", 1)])
        assert await feed.start() == []
        got: list[str] = []
        feed.events.quote.subscribe(lambda quote: got.append(quote.symbol))
        run = asyncio.create_task(feed.run())
        try:
            await eventually(lambda: "7203" in got, 10, "a quote over tls://")
        finally:
            run.cancel()
            await asyncio.gather(run, return_exceptions=True)
            await feed.close()
        stream = await asyncio.to_thread(_stream, url, certs.ca)
    assert stream.returncode == 0, stream.stderr
    assert len(stream.stdout.splitlines()) == 2, stream.stderr
    for text in (stream.stdout, stream.stderr, *lines):
        assert NATS_PASSWORD not in text


async def test_an_untrusted_certificate_is_said_without_a_traceback_or_the_password(
    station, tls_server, stranger, monkeypatch
):
    monkeypatch.setenv("SSL_CERT_FILE", str(stranger.ca))
    url = tls_server.url_with_password
    source = FeedSource.kabu(station.base_url, PASSWORD)
    with pytest.raises(RelayStartError) as refused:
        async with RelayServer(source, port=0, say=lambda line: None, nats=NatsTarget.parse(url)):
            raise AssertionError("an untrusted NATS server must not start the relay")
    said = str(refused.value)
    assert "certificate was not trusted" in said and "SSL_CERT_FILE" in said, said
    assert f"tls://qb:***@127.0.0.1:{tls_server.port}" in said and NATS_PASSWORD not in said
    stream = await asyncio.to_thread(_stream, url, stranger.ca)
    assert stream.returncode != 0 and stream.stdout == ""
    assert "certificate was not trusted" in stream.stderr, stream.stderr
    assert "Traceback" not in stream.stderr and NATS_PASSWORD not in stream.stderr


async def test_a_plain_url_to_the_tls_only_server_never_sends_the_password_in_clear(
    tls_server, certs, stranger, monkeypatch
):
    # nats-py follows the server's tls_required: it starts TLS before it logs in, so nats:// is
    # refused when the certificate is not trusted and goes over TLS when it is.
    plain = tls_server.url_with_password.replace("tls://", "nats://")
    monkeypatch.setenv("SSL_CERT_FILE", str(stranger.ca))
    with pytest.raises(NatsUnavailable) as refused:
        await connect(NatsTarget.parse(plain), name="plain")
    said = str(refused.value)
    assert "certificate was not trusted" in said and NATS_PASSWORD not in said, said
    stream = await asyncio.to_thread(_stream, plain, stranger.ca)
    assert stream.returncode != 0 and "certificate was not trusted" in stream.stderr, stream.stderr
    assert "Traceback" not in stream.stderr and NATS_PASSWORD not in stream.stderr
    monkeypatch.setenv("SSL_CERT_FILE", str(certs.ca))
    nc = await connect(NatsTarget.parse(plain), name="plain")
    try:
        assert nc.is_connected  # the server takes nothing but TLS
    finally:
        await nc.close()

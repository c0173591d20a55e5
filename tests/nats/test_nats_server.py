"""The fixture's nats-server: it accepts, JetStream works, and it comes back after a kill."""

from __future__ import annotations

import asyncio

import nats

from tests.nats.support import NatsServer


async def _round_trip(url: str) -> bytes:
    nc = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=0)
    try:
        kv = await nc.jetstream().create_key_value(bucket="fixture_check", history=1)
        await kv.put("k", b"v")
        return (await kv.get("k")).value or b""
    finally:
        await nc.close()


async def test_the_fixture_server_accepts_and_keeps_jetstream(nats_server):
    assert await _round_trip(nats_server.url) == b"v"


async def test_a_killed_server_restarts_on_its_port_with_its_store(tmp_path):
    with NatsServer(tmp_path) as server:
        assert await _round_trip(server.url) == b"v"
        port = server.port
        server.restart()
        assert server.port == port
        nc = await nats.connect(server.url, connect_timeout=2, max_reconnect_attempts=0)
        try:
            kv = await nc.jetstream().key_value("fixture_check")
            assert (await kv.get("k")).value == b"v"  # the store survived the kill
        finally:
            await nc.close()
        await asyncio.sleep(0)
    assert server.process is None

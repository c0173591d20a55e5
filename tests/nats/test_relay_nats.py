"""The relay publishing to a real nats-server, with the real test server as its station: quotes and
frames on their subjects, the KV snapshot and status, registration by request sharing the relay's
book with its Kabu-API clients, the lease, and the error replies."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest_asyncio

from quoteboard.feeds.source import FeedSource
from quoteboard.nats.link import NatsTarget
from quoteboard.relay.runner import RelayServer
from quoteboard.server import TestServer
from quoteboard.server.catalogue import CATALOGUE
from tests.nats.support import NatsServer, ask, eventually, names, symbols
from tests.relay.support import Kabu

PASSWORD = "station-secret-pw"
STREAM_KEYS = {"symbol", "exchange", "name", "last", "change", "change_pct", "bid", "bid_qty", "ask",
               "ask_qty", "volume", "vwap", "high", "low", "time", "received_at"}  # fmt: skip


@pytest_asyncio.fixture
async def station() -> AsyncIterator[TestServer]:
    async with TestServer(seed=5, rate_limit=None, password=PASSWORD) as srv:
        yield srv


@pytest_asyncio.fixture
async def relay(station: TestServer, nats_server: NatsServer) -> AsyncIterator[RelayServer]:
    lines: list[str] = []
    source = FeedSource.kabu(station.base_url, PASSWORD)
    target = NatsTarget.parse(nats_server.url)
    async with RelayServer(source, port=0, say=lines.append, nats=target, lease_check=0.1) as srv:
        srv.lines = lines  # type: ignore[attr-defined]
        yield srv


@pytest_asyncio.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[Any]:
    client = await nats.connect(nats_server.url, connect_timeout=2, max_reconnect_attempts=0)
    yield client
    await client.close()


async def _first(nc: Any, subject: str, timeout: float = 5.0) -> bytes:
    got: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    async def take(msg: Any) -> None:
        if not got.done():
            got.set_result(msg.data)

    sub = await nc.subscribe(subject, cb=take)
    try:
        return await asyncio.wait_for(got, timeout)
    finally:
        await sub.unsubscribe()


async def test_a_registered_symbol_is_published_as_a_quote_a_frame_and_a_kv_entry(station, relay, nc):
    answer = await ask(nc, "kabu.ctl.register", symbols("t1", "7203"))
    assert names(answer) == ["7203@1"]
    quote, frame = await asyncio.gather(_first(nc, "kabu.quote.1.7203"), _first(nc, "kabu.frame.1.7203"))
    record = json.loads(quote)
    assert set(record) == STREAM_KEYS and record["symbol"] == "7203" and record["exchange"] == 1
    assert json.loads(frame)["Symbol"] == "7203"  # the station's frame, in Kabu's names
    kv = await nc.jetstream().key_value("kabu_quotes")

    async def stored() -> dict[str, Any]:
        return json.loads((await kv.get("1.7203")).value)

    for _ in range(100):  # the KV is written a few times a second, not on every quote
        try:
            entry = await stored()
            break
        except Exception:
            await asyncio.sleep(0.05)
    assert entry["symbol"] == "7203" and json.loads(entry["frame"])["Symbol"] == "7203"
    relay_kv = await nc.jetstream().key_value("kabu_relay")
    for _ in range(100):  # kept within a tenth of a second of a change
        status = json.loads((await relay_kv.get("status")).value)
        if status["upstream"] == "live" and status["symbols"] == 1:
            break
        await asyncio.sleep(0.05)
    assert status["upstream"] == "live" and status["symbols"] == 1 and status["limit"] == 50
    assert status["nats_clients"] == 1
    assert station.registered == ["7203@1"]


async def test_nats_and_kabu_api_clients_share_one_union(station, relay, nc):
    async with Kabu(relay, PASSWORD) as kabu:
        assert await kabu.register("7203", "9433") == ["7203@1", "9433@1"]
        assert names(await ask(nc, "kabu.ctl.register", symbols("n1", "7203", "6758"))) == [
            "7203@1",
            "6758@1",
        ]
        assert sorted(station.registered) == ["6758@1", "7203@1", "9433@1"]
        assert names(await ask(nc, "kabu.ctl.unregister", symbols("n1", "7203"))) == ["6758@1"]
        assert "7203@1" in station.registered  # still the Kabu-API client's
        assert await kabu.unregister_all() == []
        assert station.registered == ["6758@1"]  # the NATS client's stays
    n2 = await ask(nc, "kabu.ctl.register", symbols("n2", "6758"))
    assert names(n2) == ["6758@1"]
    assert names(await ask(nc, "kabu.ctl.unregister", symbols("n1", "6758"))) == []
    assert station.registered == ["6758@1"]  # n2 still wants it
    assert station.kabu.push.opened == 1  # one socket at the station, however many clients


async def test_bad_requests_unknown_codes_and_a_51st_symbol_get_kabu_style_error_replies(station, relay, nc):
    garbage = await ask(nc, "kabu.ctl.register", b"{not json")
    assert garbage["Code"] == 4001011 and "RegistList" not in garbage
    no_client = await ask(nc, "kabu.ctl.register", {"Symbols": [{"Symbol": "7203", "Exchange": 1}]})
    assert no_client["Code"] == 4001011
    wrong_type = await ask(nc, "kabu.ctl.register", {"client": "x", "Symbols": [{"Symbol": 7203}]})
    assert wrong_type["Code"] == 4001011
    unknown = await ask(nc, "kabu.ctl.register", symbols("x", "0000"))
    assert unknown["Code"] == 4002001 and unknown["Message"]
    fifty = [key.split("@")[0] for key in list(CATALOGUE)[:50]]
    assert len(names(await ask(nc, "kabu.ctl.register", symbols("x", *fifty)))) == 50
    extra = next(key.split("@")[0] for key in CATALOGUE if key.split("@")[0] not in fifty)
    over = await ask(nc, "kabu.ctl.register", symbols("y", extra))
    assert over["Code"] == 4002006
    assert len(station.registered) == 50  # the refused request changed nothing
    lease = await ask(nc, "kabu.ctl.lease", {"client": "never-registered"})
    assert lease["Code"] == 4001009  # unknown: register again


async def test_a_client_whose_lease_lapses_is_released_and_a_renewing_one_is_kept(station, nats_server, nc):
    lines: list[str] = []
    source = FeedSource.kabu(station.base_url, PASSWORD)
    target = NatsTarget.parse(nats_server.url)
    async with RelayServer(source, port=0, say=lines.append, nats=target, nats_lease=0.6, lease_check=0.1):
        await ask(nc, "kabu.ctl.register", symbols("quiet", "7203", "9433"))
        await ask(nc, "kabu.ctl.register", symbols("renewing", "9433"))
        for _ in range(15):  # 1.5 s: well past the lease for the quiet one
            assert names(await ask(nc, "kabu.ctl.lease", {"client": "renewing"})) == ["9433@1"]
            await asyncio.sleep(0.1)
        await eventually(lambda: station.registered == ["9433@1"], what="7203 released")
        assert (await ask(nc, "kabu.ctl.lease", {"client": "quiet"}))["Code"] == 4001009
        assert any("quiet" in line and "no lease renewal" in line for line in lines)


async def test_a_new_subscriber_gets_the_kv_snapshot_before_any_live_quote(station, relay, nats_server, nc):
    from quoteboard.feeds.nats import NatsFeed
    from quoteboard.kabu.protocol import Quote, SymbolKey

    await ask(nc, "kabu.ctl.register", symbols("early", "7203", "9433"))
    kv = await nc.jetstream().key_value("kabu_quotes")

    async def stored(key: str) -> bool:
        try:
            await kv.get(key)
            return True
        except Exception:
            return False

    for _ in range(200):
        if await stored("1.7203") and await stored("1.9433"):
            break
        await asyncio.sleep(0.05)
    feed = NatsFeed(NatsTarget.parse(nats_server.url), client_id="late")
    feed.registry.replace_watch([SymbolKey("7203", 1), SymbolKey("9433", 1)])
    assert await feed.start() == []
    first: list[tuple[Quote, int]] = []
    feed.events.quote.subscribe(lambda quote: first.append((quote, feed.received)))
    started = time.time()
    run = asyncio.create_task(feed.run())
    try:
        await eventually(lambda: len(first) >= 2, 5, "the snapshot")
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
        await feed.close()
    assert {quote.symbol for quote, _ in first[:2]} == {"7203", "9433"}
    # From the store: received by the relay before this subscriber ran (a live quote is stamped on arrival).
    assert all(quote.received_at < started for quote, _ in first[:2])
    assert all(quote.last is not None for quote, _ in first[:2])

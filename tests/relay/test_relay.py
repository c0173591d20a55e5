"""The real relay on loopback, with the real test server as its station and real clients downstream:
raw HTTP and websockets, quoteboard's own feed, and (in test_third_party.py) py-kabusapi."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from quoteboard.feeds.source import FeedSource
from quoteboard.hosting import BindError
from quoteboard.relay.runner import RelayServer, RelayStartError
from quoteboard.server import TestServer
from tests.relay.support import Kabu, frames_of, said_lines

PASSWORD = "station-secret-pw"


@pytest_asyncio.fixture
async def station() -> AsyncIterator[TestServer]:
    async with TestServer(seed=5, rate_limit=None, password=PASSWORD, max_symbols=5) as srv:
        yield srv


@pytest_asyncio.fixture
async def relay(station: TestServer) -> AsyncIterator[RelayServer]:
    lines: list[str] = []
    async with RelayServer(FeedSource.kabu(station.base_url, PASSWORD), port=0, say=lines.append) as srv:
        srv.lines = lines  # type: ignore[attr-defined]
        yield srv


async def test_each_client_gets_its_own_token_and_only_its_symbols(station, relay):
    async with Kabu(relay, PASSWORD) as a, Kabu(relay, PASSWORD) as b:
        assert a.token != b.token  # tokens do not void each other
        assert await a.register("7203") == ["7203@1"]
        assert await b.register("9433", "6758") == ["9433@1", "6758@1"]  # its own list, not the union
        async with a.push() as ws_a, b.push() as ws_b:
            got_a, got_b = await frames_of(ws_a, 6), await frames_of(ws_b, 6)
        assert await a.register("9984") == ["7203@1", "9984@1"]  # the token still works
    assert {f["Symbol"] for f in got_a} == {"7203"}
    assert {f["Symbol"] for f in got_b} == {"9433", "6758"}
    assert sorted(station.registered) == ["6758@1", "7203@1", "9433@1", "9984@1"]
    assert station.kabu.push.opened == 1 and station.kabu.push.peak == 1  # one socket, one token


async def test_registrations_are_counted_per_client(station, relay):
    async with Kabu(relay, PASSWORD) as a, Kabu(relay, PASSWORD) as b:
        await a.register("7203", "9433")
        await b.register("7203")
        assert await a.unregister("7203") == ["9433@1"]
        assert sorted(station.registered) == ["7203@1", "9433@1"]  # b still wants 7203
        assert await a.unregister_all() == []
        assert station.registered == ["7203@1"]  # only a's own: 9433 goes, 7203 stays for b
        async with b.push() as ws:
            assert {f["Symbol"] for f in await frames_of(ws, 3)} == {"7203"}  # b flows on
        assert await b.unregister("7203") == []
        assert station.registered == []


async def test_the_cap_is_shared_and_passing_it_answers_4002006(station, relay):
    async with Kabu(relay, PASSWORD) as a, Kabu(relay, PASSWORD) as b:
        await a.register("7203", "9433", "6758")
        answer = await b.call("PUT", "/register", json=Kabu.symbols("9984", "8306", "7974"))
        assert answer.status_code == 400 and answer.json()["Code"] == 4002006
        assert await b.register("9984", "7203") == ["9984@1", "7203@1"]  # within the station's five
    assert len(station.registered) == 4


async def test_a_client_that_lets_its_lease_lapse_is_released(station):
    lines: list[str] = []
    source = FeedSource.kabu(station.base_url, PASSWORD)
    relay = RelayServer(source, port=0, lease=0.5, lease_check=0.1, say=lines.append)
    async with relay, Kabu(relay, PASSWORD) as a, Kabu(relay, PASSWORD) as b:
        await a.register("7203", "9433")
        async with b.push():  # b keeps a socket open: its lease holds however long it is quiet
            await b.register("9433")
            async with asyncio.timeout(5):
                while "7203@1" in station.registered:
                    await asyncio.sleep(0.05)
            assert station.registered == ["9433@1"]  # b's 9433 stays
            assert [c["id"] for c in (await relay_status(relay))["clients"]] == ["c2"]
        answer = await a.call("PUT", "/register", json=Kabu.symbols("7203"))
        assert answer.status_code == 401  # a's token went with it
    assert any("c1 left" in line for line in lines), lines
    assert "client c1: unregistered 7203@1 at the station (1/50)" in lines


async def test_orders_are_refused_unless_allowed(relay):
    async with Kabu(relay, PASSWORD) as a:
        answer = await a.call("POST", "/sendorder", json={"Symbol": "7203"})
        refused = await a.call("PUT", "/cancelorder", json={"OrderId": "x"})
    assert answer.status_code == 403 and answer.json()["Code"] == 4001008
    assert "--allow-orders" in answer.json()["Message"] and refused.status_code == 403


async def test_bad_requests_get_kabu_errors_and_everyone_else_is_served(relay):
    async with Kabu(relay, PASSWORD) as good, Kabu(relay, PASSWORD) as bad:
        await good.register("7203")
        async with good.push() as ws:
            answers = [
                await bad.call("PUT", "/register", content=b"{not json"),
                await bad.call("PUT", "/register", json={"Symbols": [{"Symbol": 7203, "Exchange": "one"}]}),
                await bad.call("PUT", "/register", content=b'{"Symbols": [' + b" " * 70_000 + b"]}"),
                await bad.call("GET", "/no/such/endpoint"),
                await bad.call("GET", "/board/7203"),  # no @exchange
                await bad.call("DELETE", "/register"),
            ]
            async with httpx.AsyncClient(base_url=relay.base_url) as anon:
                unknown = await anon.put(
                    "/register", json=Kabu.symbols("7203"), headers={"X-API-KEY": "nope"}
                )
                wrong = await anon.post("/token", json={"APIPassword": "not it"})
            assert len(await frames_of(ws, 3)) == 3  # the good client's prices kept coming
    statuses = [(a.status_code, a.json()["Code"]) for a in answers]
    assert statuses == [(400, 4001011), (400, 4001011), (413, 4001015), (404, 4001012), (400, 4001005),
                        (405, 4001014)]  # fmt: skip
    assert (unknown.status_code, unknown.json()["Code"]) == (401, 4001009)
    assert (wrong.status_code, wrong.json()["Code"]) == (400, 4001013)


async def test_too_many_clients_is_a_kabu_error(station):
    source = FeedSource.kabu(station.base_url, PASSWORD)
    relay = RelayServer(source, port=0, max_clients=2, say=lambda line: None)
    async with relay, Kabu(relay, PASSWORD), Kabu(relay, PASSWORD), httpx.AsyncClient() as third:
        answer = await third.post(f"{relay.base_url}/token", json={"APIPassword": PASSWORD})
    assert answer.status_code == 429 and "at most 2 clients" in answer.json()["Message"]


async def test_upstream_drops_pause_the_quotes_and_no_client_socket_closes(station, relay):
    async with Kabu(relay, PASSWORD) as a:
        await a.register("7203", "9433")
        async with a.push() as ws:
            await frames_of(ws, 2)
            for _ in range(3):
                await station.drop_sockets()
                started = asyncio.get_running_loop().time()
                await frames_of(ws, 2, timeout=3.0)  # resumes within 3 s, on the same socket
                assert asyncio.get_running_loop().time() - started < 3.0
            assert ws.close_code is None
    assert relay.feed is not None and relay.feed.connections == 4
    assert station.kabu.push.peak == 1


async def test_a_socket_that_joins_after_the_close_gets_the_latest_prices_at_once(station, relay):
    async with Kabu(relay, PASSWORD) as a, Kabu(relay, PASSWORD) as b:
        await a.register("7203", "9433")
        async with a.push() as ws:
            await frames_of(ws, 4)
        station.kabu.push.rate = 1e-9  # the close: nothing more is pushed
        await b.register("9433")
        async with b.push() as late:
            first = await frames_of(late, 1, timeout=1.0)
    assert first[0]["Symbol"] == "9433"


async def test_board_comes_from_the_latest_frame_and_a_forwarded_one_counts_against_the_cap(station, relay):
    async with Kabu(relay, PASSWORD) as a:
        await a.register("7203")
        async with a.push() as ws:
            pushed = (await frames_of(ws, 1))[0]
        cached = await a.call("GET", "/board/7203@1")
        assert cached.json()["Symbol"] == "7203" and relay.relay is not None
        forwarded = await a.call("GET", "/board/9984@1")  # no frame yet: asked of the station
        assert forwarded.status_code == 200 and forwarded.json()["Symbol"] == "9984"
        assert "9984@1" in station.registered  # the station registered it, as Kabu does
        assert await a.unregister() == ["7203@1", "9984@1"]  # so it is the client's, to let go
    assert pushed["Symbol"] == "7203"


async def test_a_socket_without_a_token_gets_every_symbol_as_at_the_station(relay):
    async with Kabu(relay, PASSWORD) as a, Kabu(relay, PASSWORD) as b:
        await a.register("7203")
        await b.register("9433")
        async with connect(relay.websocket_url, ping_interval=None) as ws:
            got = {f["Symbol"] for f in await frames_of(ws, 12)}
    assert got == {"7203", "9433"}


async def test_a_client_that_reads_nothing_costs_the_others_nothing_and_is_closed():
    lines: list[str] = []
    async with TestServer(rate=2000, rate_limit=None, password=PASSWORD) as fast:
        source = FeedSource.kabu(fast.base_url, PASSWORD)
        relay = RelayServer(source, port=0, behind_limit=1.5, say=lines.append)
        async with relay, Kabu(relay, PASSWORD) as reader, Kabu(relay, PASSWORD) as sleeper:
            await reader.register("7203", "9433", "6758", "9984")
            await sleeper.register("7203", "9433", "6758", "9984")
            # max_queue=1: the sleeper's client stops reading its socket, whose buffers fill.
            async with sleeper.push(max_queue=1, close_timeout=0.5), reader.push() as ws:
                got = await frames_of(ws, 2000, timeout=10.0)  # ~1 s of the feed, unhindered
                async with asyncio.timeout(20):  # closed, its handler gone, its client told
                    while (status := await relay_status(relay))["clients"][1]["sockets"]:
                        await asyncio.sleep(0.1)
                assert len(await frames_of(ws, 100)) == 100  # and still flowing
    assert len(got) == 2000
    sockets = {client["id"]: client["sockets"] for client in status["clients"]}
    assert sockets == {"c1": 1, "c2": 0}  # the sleeper's socket closed, the reader's open
    assert any("c2's socket" in line and "behind the feed" in line for line in lines), lines


async def test_the_relay_refuses_a_network_address_without_a_password(station):
    with pytest.raises(RelayStartError, match="without --password"):
        RelayServer(FeedSource.kabu(station.base_url, PASSWORD), host="0.0.0.0", port=0)


async def test_with_a_password_clients_use_it_and_bare_sockets_are_refused(station):
    lines: list[str] = []
    source = FeedSource.kabu(station.base_url, PASSWORD)
    async with RelayServer(source, port=0, password="relay-pw-123", say=lines.append) as relay:
        async with httpx.AsyncClient(base_url=relay.base_url) as anon:
            refused = await anon.post("/token", json={"APIPassword": PASSWORD})  # the station's: not here
        async with Kabu(relay, "relay-pw-123") as a:
            await a.register("7203")
            async with a.push() as ws:
                assert len(await frames_of(ws, 2)) == 2
        with pytest.raises(ConnectionClosed) as bare:
            async with connect(relay.websocket_url, ping_interval=None) as ws:
                await ws.recv()
        status = await relay_status(relay)
    assert refused.status_code == 400 and bare.value.rcvd is not None and bare.value.rcvd.code == 1008
    seen = json.dumps(status) + "\n".join(lines)
    assert "relay-pw-123" not in seen and PASSWORD not in seen and a.token not in seen


async def test_the_status_says_station_clients_symbols_and_limit(relay):
    async with Kabu(relay, PASSWORD) as a:
        await a.register("7203")
        async with a.push() as ws:
            await frames_of(ws, 1)
            status = await relay_status(relay)
    assert status["station"]["state"] == "live" and status["limit"] == 50
    assert status["symbols"] == ["7203@1"]
    assert status["clients"] == [
        {"id": "c1", "peer": status["clients"][0]["peer"], "symbols": ["7203@1"], "sockets": 1, "dropped": 0,
         "idle_s": status["clients"][0]["idle_s"]}
    ]  # fmt: skip
    assert any("c1 joined" in line for line in said_lines(relay))


async def relay_status(relay: RelayServer) -> dict:
    async with httpx.AsyncClient() as client:
        return (await client.get(relay.status_url)).json()


async def test_a_client_over_its_share_still_leaves_nothing_registered_behind(station, relay):
    # Twelve boards asked at once pass a client's share of the station's rate (some get 429); letting
    # them all go is the relay's own call, outside that share, so the station is left with none.
    from quoteboard.server.catalogue import CATALOGUE

    codes = [key.partition("@")[0] for key in list(CATALOGUE)[:12]]
    async with Kabu(relay, PASSWORD) as greedy:
        answers = await asyncio.gather(*(greedy.call("GET", f"/board/{code}@1") for code in codes))
        assert {a.status_code for a in answers} <= {200, 429, 400}  # 400: past the station's five
        assert 429 in {a.status_code for a in answers}
        assert await greedy.unregister_all() == []
        async with asyncio.timeout(5):
            while station.registered:
                await asyncio.sleep(0.05)
    assert (await relay_status(relay))["symbols"] == []


async def test_a_relay_pointed_at_a_relay_or_at_itself_refuses_to_start(relay):
    with pytest.raises(RelayStartError, match="is a quoteboard relay, not a station"):
        async with RelayServer(FeedSource.kabu(relay.base_url, PASSWORD), port=0, say=lambda line: None):
            pass
    itself = RelayServer(FeedSource.kabu("http://127.0.0.1:18391/kabusapi", PASSWORD), port=18391)
    with pytest.raises(RelayStartError, match="is this relay itself"):
        async with itself:
            pass


async def test_symbol_is_kept_for_the_day_and_counted_as_the_station_registers_it(station, relay):
    async with Kabu(relay, PASSWORD) as a:
        first = await a.call("GET", "/symbol/6758@1")
        assert first.status_code == 200 and first.json()["Symbol"] == "6758"
        assert station.registered == ["6758@1"]  # the station registered it, as Kabu does
        station.kabu.station.unregister_all()  # were it asked again, it would register it again
        again = await a.call("GET", "/symbol/6758@1")
        assert again.content == first.content and station.registered == []  # answered by the relay
        assert await a.unregister() == ["6758@1"]  # it is a's, to let go


async def test_a_taken_station_socket_is_said_and_the_relay_takes_it_back(station, relay):
    """The feed's Taken event, not the text of its status, makes the relay say who took the socket;
    a plain drop says nothing of the kind."""
    assert relay.feed is not None
    await asyncio.wait_for(_live(relay), 5)
    await station.drop_sockets()
    await asyncio.wait_for(_reconnected(relay, 2), 5)
    assert not any("another program" in line for line in said_lines(relay))
    async with connect(station.websocket_url, ping_interval=None):  # Kabu closes the relay's (code 1000)
        await asyncio.wait_for(_reconnected(relay, 3), 10)
    said = [line for line in said_lines(relay) if "another program may have opened" in line]
    assert len(said) == 1 and said[0].startswith("station reconnecting"), said_lines(relay)
    assert not relay.feed.taken  # the relay never gives the socket up


async def _live(relay: RelayServer) -> None:
    while relay.feed.status.state != "live":
        await asyncio.sleep(0.02)


async def _reconnected(relay: RelayServer, connections: int) -> None:
    while relay.feed.connections < connections or relay.feed.status.state != "live":
        await asyncio.sleep(0.02)


def _ipv6_loopback() -> bool:
    try:
        with socket.create_server(("::1", 0), family=socket.AF_INET6):
            return True
    except OSError:
        return False


IPV6 = _ipv6_loopback()


async def test_a_loopback_relay_is_reached_on_127_0_0_1_on_ipv6_loopback_and_by_localhost(station, relay):
    # Windows resolves localhost to ::1 first: a client given http://localhost:18090 goes there.
    assert {port for _, port in relay.addresses} == {relay.port}
    netlocs = ["127.0.0.1", "localhost", *(["[::1]"] if IPV6 else [])]
    for netloc in netlocs:
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            answer = await client.post(
                f"http://{netloc}:{relay.port}/kabusapi/token", json={"APIPassword": PASSWORD}
            )
        assert answer.status_code == 200 and answer.json()["ResultCode"] == 0, netloc
        async with connect(f"ws://{netloc}:{relay.port}/kabusapi/websocket", proxy=None) as ws:
            await ws.send("hello")  # the station ignores what a client sends; the socket stays open
    if not IPV6:
        pytest.skip("this machine has no IPv6 loopback (::1): only 127.0.0.1 and localhost were tried")
    assert sorted(host for host, _ in relay.addresses) == ["127.0.0.1", "::1"]


@pytest.mark.skipif(not IPV6, reason="needs an IPv6 loopback (::1) to occupy")
async def test_a_port_taken_on_ipv6_loopback_is_refused_rather_than_shared(station):
    with socket.create_server(("::1", 0), family=socket.AF_INET6) as taken:
        port = taken.getsockname()[1]
        relay = RelayServer(FeedSource.kabu(station.base_url, PASSWORD), port=port, say=lambda line: None)
        with pytest.raises(BindError, match=rf"\[::1\]:{port}"):
            async with relay:
                pass

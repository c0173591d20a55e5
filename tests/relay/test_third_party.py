"""A third-party Kabu client through the relay, unchanged but for its base URL: py-kabusapi (requests
for REST, websocket-client in a thread for PUSH, pydantic models of the vendor's answers)."""

from __future__ import annotations

import asyncio
import json
import threading

from py_kabusapi import KabuStationAPI
from py_kabusapi.const import ApiResultCategory
from websockets.asyncio.client import ClientConnection

from quoteboard.feeds.source import FeedSource
from quoteboard.relay.runner import RelayServer
from quoteboard.server import TestServer
from quoteboard.server.wallet import ACCOUNT_CASH
from tests.relay.support import Kabu
from tests.test_cli import aquoteboard

PASSWORD = "station-secret-pw"


def py_kabusapi_session(relay: RelayServer, pushed: list[str], enough: threading.Event) -> list[object]:
    """What a user's py-kabusapi script does, pointed at the relay: token, register, PUSH, unregister."""
    api = KabuStationAPI()
    api.base_url, api.websocket_url = relay.base_url, relay.websocket_url  # the only change
    answers: list[object] = [api.token(PASSWORD), api.register([{"Symbol": "6758", "Exchange": 1}])]

    def on_message(data: object) -> None:
        pushed.append(data.Symbol)  # type: ignore[attr-defined]
        if len(pushed) >= 5:
            enough.set()

    api.start_websocket(on_message=on_message)
    enough.wait(10)
    api.stop_websocket()
    answers.append(api.unregister_all())
    return answers


async def read_into(ws: ClientConnection, symbols: list[str]) -> None:
    while True:
        symbols.append(json.loads(await ws.recv())["Symbol"])


async def test_py_kabusapi_works_through_the_relay_beside_quoteboard_and_a_raw_client():
    async with TestServer(seed=5, rate_limit=None, password=PASSWORD) as station:
        source = FeedSource.kabu(station.base_url, PASSWORD)
        async with (
            RelayServer(source, port=0, say=lambda line: None) as relay,
            Kabu(relay, PASSWORD) as other,
        ):
            await other.register("7203")
            pushed: list[str] = []
            enough = threading.Event()
            async with other.push() as ws:
                # The other client reads all along (one that reads nothing could not read its close).
                others: list[str] = []
                reader = asyncio.create_task(read_into(ws, others))
                session = asyncio.to_thread(py_kabusapi_session, relay, pushed, enough)
                stream = aquoteboard("stream", "--kabu", PASSWORD, "--kabu-url", relay.base_url,
                                     "--symbols", "9984", "--count", "5")  # fmt: skip
                (token, registered, unregistered), (code, out, err) = await asyncio.gather(session, stream)
                # py-kabusapi's 6758 went; the raw client's 7203 and quoteboard's 9984 stayed
                assert sorted(station.registered) == ["7203@1", "9984@1"]
                count = len(others)
                await asyncio.sleep(1.0)
                assert len(others) > count and set(others) == {"7203"}  # the other client still flows
                reader.cancel()
            assert station.kabu.push.peak == 1
    assert [a.api_result_category for a in (token, registered, unregistered)] == [
        ApiResultCategory.SUCCESS
    ] * 3
    assert [item.Symbol for item in registered.content.RegistList] == ["6758"]  # type: ignore[attr-defined]
    assert unregistered.content.RegistList == []  # type: ignore[attr-defined]
    assert len(pushed) >= 5 and set(pushed) == {"6758"}
    assert code == 0 and {json.loads(line)["symbol"] for line in out.splitlines()} == {"9984"}, err


def py_kabusapi_wallet(relay: RelayServer) -> list[object]:
    """A py-kabusapi script asking for its buying power, pointed at the relay."""
    api = KabuStationAPI()
    api.base_url, api.websocket_url = relay.base_url, relay.websocket_url  # the only change
    return [api.token("any password: the demo station takes it"), api.wallet_cash()]


async def test_py_kabusapi_gets_wallet_cash_through_a_demo_relay():
    async with RelayServer(FeedSource("demo"), port=0, say=lambda line: None) as relay:
        token, wallet = await asyncio.to_thread(py_kabusapi_wallet, relay)
    assert [a.api_result_category for a in (token, wallet)] == [ApiResultCategory.SUCCESS] * 2
    content = wallet.content  # type: ignore[attr-defined]
    # The demo account: its cash, less nothing (the demo's margin positions are well covered).
    assert content.StockAccountWallet == content.AuKCStockAccountWallet == ACCOUNT_CASH
    assert content.AuJbnStockAccountWallet == 0

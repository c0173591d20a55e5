"""Unchanged Kabu clients through the relay: quoteboard's own stream and board, and the command."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import httpx
from websockets.asyncio.client import connect

from quoteboard.feeds.source import FeedSource
from quoteboard.relay.runner import RelayServer
from quoteboard.server import TestServer
from tests.relay.support import Kabu, frames_of
from tests.test_cli import aquoteboard, free_port

PASSWORD = "station-secret-pw"


async def test_quoteboards_stream_through_the_relay_gets_only_its_symbols_beside_another_client():
    async with TestServer(seed=5, rate_limit=None, password=PASSWORD) as station:
        source = FeedSource.kabu(station.base_url, PASSWORD)
        async with RelayServer(source, port=0, say=lambda line: None) as relay, Kabu(relay, PASSWORD) as bot:
            await bot.register("9433", "6758")
            async with bot.push() as ws:
                code, out, err = await aquoteboard(
                    "stream",
                    "--kabu",
                    PASSWORD,
                    "--kabu-url",
                    relay.base_url,
                    "--symbols",
                    "7203",
                    "--count",
                    "8",
                )
                bot_frames = await frames_of(ws, 8)  # the bot was not cut off
            assert sorted(station.registered) == ["6758@1", "7203@1", "9433@1"]
            assert station.kabu.push.peak == 1
    assert code == 0, err
    assert {json.loads(line)["symbol"] for line in out.splitlines()} == {"7203"}
    assert "not asked for" not in err  # the relay sent it nothing else: its token named its symbols
    assert {frame["Symbol"] for frame in bot_frames} <= {"9433", "6758"}


def test_the_relay_command_refuses_the_network_without_a_password():
    result = subprocess.run(
        [sys.executable, "-m", "quoteboard", "relay", "--demo", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "quoteboard relay: refusing to listen on 0.0.0.0 without --password: anyone on the network could "
        "use your station; give --password (clients then use it as their API password)"
    ]


async def test_the_relay_command_serves_and_says_what_happens_without_any_password():
    async with TestServer(seed=5, rate_limit=None, password=PASSWORD) as station:
        port = free_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "quoteboard", "relay", "--kabu", "--kabu-url", station.base_url,
            "--port", str(port), "--password",
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "QUOTEBOARD_KABU_KEY": PASSWORD, "QUOTEBOARD_RELAY_PASSWORD": "relay-pw-9"},
        )  # fmt: skip
        assert proc.stdout is not None
        try:
            first = await asyncio.wait_for(proc.stdout.readline(), 30)
            url = f"http://127.0.0.1:{port}/kabusapi"
            async with httpx.AsyncClient() as http:
                token = (await http.post(f"{url}/token", json={"APIPassword": "relay-pw-9"})).json()["Token"]
                await http.put(f"{url}/register", headers={"X-API-KEY": token},
                               json={"Symbols": [{"Symbol": "7203", "Exchange": 1}]})  # fmt: skip
                status = (await http.get(f"http://127.0.0.1:{port}/relay/status")).json()
            await asyncio.sleep(0.3)
        finally:
            proc.terminate()
            out, err = await asyncio.wait_for(proc.communicate(), 30)
    said = first.decode() + out.decode() + err.decode()
    assert f"http://127.0.0.1:{port}/kabusapi" in said and "c1 joined" in said and "registered 7203@1" in said
    assert status["symbols"] == ["7203@1"] and station.registered == ["7203@1"]
    for secret in (PASSWORD, "relay-pw-9", token):
        assert secret not in said + json.dumps(status)


async def test_a_second_takeover_within_a_minute_makes_stream_give_way_and_say_so():
    # Another program (a bot) keeps opening the station's one socket: the first time, stream takes it
    # back; the second time within a minute, it stops instead of fighting all day, and says why.
    async with TestServer(seed=5, rate_limit=None) as station:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "quoteboard", "stream", "--kabu", "pw", "--kabu-url", station.base_url,
            "--symbols", "7203", stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdout is not None
        try:
            await asyncio.wait_for(proc.stdout.readline(), 30)  # streaming
            for _ in range(2):
                opened = station.kabu.push.opened
                async with connect(station.websocket_url, ping_interval=None):  # the bot
                    async with asyncio.timeout(15):  # stream took it back, or gave up
                        while station.kabu.push.opened <= opened + 1 and proc.returncode is None:
                            await asyncio.sleep(0.05)
            code = await asyncio.wait_for(proc.wait(), 15)
            err = (await proc.stderr.read()).decode() if proc.stderr else ""
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert code == 1, err
    assert "another program is using the station's PUSH socket" in err and "quoteboard relay" in err
    assert "Traceback" not in err


async def test_a_client_can_tell_a_relay_from_a_station():
    from quoteboard.kabu.rest import KabuRest

    async with TestServer(seed=5, rate_limit=None) as station:
        relay = RelayServer(FeedSource.kabu(station.base_url, "pw"), port=0, say=lambda line: None)
        async with relay, KabuRest(relay.base_url) as via, KabuRest(station.base_url) as direct:
            status = await via.relay_status()
            assert await direct.relay_status() is None
    assert status is not None and status["station"]["state"] in ("live", "connecting")


async def test_the_board_through_the_relay_says_so_and_gets_only_its_symbols(tmp_path):
    from quoteboard.kabu.protocol import SymbolKey
    from tests.app_support import make_app, wait_for

    async with TestServer(seed=5, rate_limit=None, password=PASSWORD) as station:
        relay = RelayServer(FeedSource.kabu(station.base_url, PASSWORD), port=0, say=lambda line: None)
        async with relay, Kabu(relay, PASSWORD) as bot:
            await bot.register("9433", "6758")
            app = make_app(tmp_path, demo=False, password=PASSWORD, base_url=relay.base_url,
                           symbols=[SymbolKey("7203")])  # fmt: skip
            async with app.run_test(size=(160, 48)) as pilot, bot.push() as ws:
                await wait_for(pilot, lambda: app.feed is not None and app.feed.received >= 5, what="quotes")
                await wait_for(pilot, lambda: "KABU via relay" in app.status_bar.text, what="via relay")
                await frames_of(ws, 3)  # the bot flows beside the board
                assert app.board.unwatched == 0  # nothing of the bot's reached the board
                assert sorted(station.registered) == ["6758@1", "7203@1", "9433@1"]
                assert station.kabu.push.peak == 1


async def test_the_board_gives_the_socket_up_on_a_second_takeover_and_r_takes_it_back(tmp_path):
    from quoteboard.kabu.protocol import SymbolKey
    from tests.app_support import make_app, wait_for

    async with TestServer(seed=5, rate_limit=None) as station:
        app = make_app(
            tmp_path, demo=False, password="pw", base_url=station.base_url, symbols=[SymbolKey("7203")]
        )
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_for(pilot, lambda: app.feed is not None and app.feed.received > 0, what="quotes")
            for _ in range(2):  # a bot that reconnects as often as it is cut off
                opened = station.kabu.push.opened
                async with connect(station.websocket_url, ping_interval=None):
                    back = lambda at=opened: station.kabu.push.opened > at + 1 or app.feed.taken  # noqa: E731
                    await wait_for(pilot, back,
                                   what="the board back, or giving way")  # fmt: skip
            await wait_for(pilot, lambda: "another program" in app.status_bar.text, what="said")
            assert app.feed.taken and "quoteboard relay" in app.status_bar.text
            await pilot.press("r")
            await wait_for(pilot, lambda: app.feed.status.state == "live" and not app.feed.taken, what="back")
            received = app.feed.received
            await wait_for(pilot, lambda: app.feed.received > received, what="quotes again")

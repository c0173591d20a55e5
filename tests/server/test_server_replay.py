"""The station replaying a recording (``serve --replay``), over real sockets: what is pushed, when, and
what REST answers meanwhile."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from websockets.asyncio.client import connect

from quoteboard.feeds.kabu import KabuFeed
from quoteboard.history.recording import frame_key, iter_frames
from quoteboard.kabu.protocol import Quote, SymbolKey, decode_frame
from quoteboard.server import TestServer
from quoteboard.server.replay import Replay
from tests.record_support import board, receive, record, sample_recording, silent, token_and_register


@pytest.fixture
def recording(tmp_path):
    return sample_recording(tmp_path / "rec.ndjson")


async def test_replay_pushes_the_recorded_frames_of_registered_symbols_exactly_and_in_order(recording):
    async with TestServer(rate_limit=None, replay=Replay.open(recording, speed=20)) as srv:
        client = await token_and_register(srv, "7203@1")
        async with connect(srv.websocket_url, ping_interval=None) as ws:
            frames = await receive(ws, 4)
            assert await silent(ws, 0.3)  # 9433 and 1301 were not registered: not pushed
        await client.aclose()
        assert srv.replay.finished.is_set() and srv.replay.sent == 4 and srv.frames_sent == 4
    expected = [board("7203", 2500), "garbage, as received", board("7203", 2501), board("7203", 2502)]
    assert frames == expected  # byte for byte, text frames as recorded


async def test_replay_keeps_the_recorded_timing_scaled_by_speed(recording):
    async with TestServer(rate_limit=None, replay=Replay.open(recording, speed=2)) as srv:
        client = await token_and_register(srv, "7203@1", "9433@1", "1301@1")
        async with connect(srv.websocket_url, ping_interval=None) as ws:
            stamps = []
            for _ in range(6):
                await ws.recv()
                stamps.append(time.monotonic())
        await client.aclose()
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert 0.2 <= stamps[-1] - stamps[0] <= 0.6  # 0.5 s recorded at 2x
    assert all(0.02 <= gap <= 0.15 for gap in gaps), gaps  # 0.1 s recorded at 2x


async def test_board_answers_the_recorded_state_before_and_the_last_replayed_frame_after(recording):
    async with TestServer(rate_limit=None, replay=Replay.open(recording, speed=50)) as srv:
        client = await token_and_register(srv)
        before = (await client.get("/board/7203@1")).text
        async with connect(srv.websocket_url, ping_interval=None) as ws:
            await receive(ws, 4)  # /board registered 7203 as a side effect, as Kabu does
        after = (await client.get("/board/7203@1")).text
        unrecorded = (await client.get("/board/6758@1")).json()
        only_recorded = await client.get("/symbol/1301@1")
        unknown = await client.get("/board/0001@1")
        await client.aclose()
    assert before == board("7203", 2500) and after == board("7203", 2502)
    assert unrecorded["Symbol"] == "6758" and unrecorded["CurrentPrice"] is None  # nothing delivered
    assert only_recorded.status_code == 200 and only_recorded.json()["Symbol"] == "1301"
    assert unknown.json()["Code"] == 4002001


async def test_replay_pauses_while_no_socket_is_open_so_a_reconnect_misses_nothing(recording):
    async with TestServer(rate_limit=None, replay=Replay.open(recording, speed=0.5)) as srv:
        client = await token_and_register(srv, "7203@1", "9433@1", "1301@1")
        async with connect(srv.websocket_url, ping_interval=None) as ws:
            first = await receive(ws, 2)  # 0.2 s apart; the third is due 0.2 s after the second
        await asyncio.sleep(1.2)  # the rest of the recording would have come due by now
        async with connect(srv.websocket_url, ping_interval=None) as ws:
            rest = await receive(ws, 4)
        await client.aclose()
    assert [frame_key(f) for f in first + rest] == [
        "7203@1", "9433@1", None, "7203@1", "1301@1", "7203@1"
    ]  # fmt: skip


async def test_loop_starts_the_recording_over(recording):
    async with TestServer(rate_limit=None, replay=Replay.open(recording, speed=50, loop=True)) as srv:
        client = await token_and_register(srv, "9433@1")
        async with connect(srv.websocket_url, ping_interval=None) as ws:
            frames = await receive(ws, 6)
        await client.aclose()
        assert srv.replay.loops >= 2 and not srv.replay.finished.is_set()
    assert frames == [board("9433", 4000), "garbage, as received"] * 3


async def test_a_frame_recorded_as_bytes_is_replayed_as_bytes(tmp_path):
    path = record(tmp_path / "rec.ndjson", [(1.0, board("7203", 1)), (1.01, b"\x00\xff")])
    async with TestServer(rate_limit=None, replay=Replay.open(path, speed=10)) as srv:
        client = await token_and_register(srv, "7203@1")
        async with connect(srv.websocket_url, ping_interval=None) as ws:
            frames = await receive(ws, 2)
        await client.aclose()
    assert frames == [board("7203", 1), b"\x00\xff"]


async def test_the_real_feed_on_a_replay_gets_the_recorded_quotes_and_rejects_the_garbage(recording):
    async with TestServer(rate_limit=None, replay=Replay.open(recording, speed=20)) as srv:
        quotes: list[Quote] = []
        feed = KabuFeed(srv.base_url, "pw", name="replay")
        feed.events.quote.subscribe(quotes.append)
        await feed.register([SymbolKey("7203"), SymbolKey("9433"), SymbolKey("1301")])
        task = asyncio.create_task(feed.run())
        try:
            await asyncio.wait_for(srv.replay.finished.wait(), 5)
            async with asyncio.timeout(2):
                while len(quotes) + feed.rejected < 6:
                    await asyncio.sleep(0.01)
        finally:
            await feed.close()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    recorded = [decode_frame(f.data) for f in iter_frames(recording)]
    assert [(q.key, q.last, q.bid, q.ask) for q in quotes] == [
        (q.key, q.last, q.bid, q.ask) for q in recorded if isinstance(q, Quote)
    ]
    assert feed.rejected == 1 and feed.connections == 1

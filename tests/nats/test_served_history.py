"""History for every client: the relay's tick store answered on NATS (``kabu.ctl.candles``), and the
same candles on a board behind the relay, a board on a real nats-server and the store itself."""

from __future__ import annotations

from pathlib import Path

import nats

from quoteboard.board.app import QuoteboardApp
from quoteboard.feeds.source import FeedSource
from quoteboard.history.remote import NatsCandles, RelayCandles
from quoteboard.history.store import StoreCandles
from quoteboard.history.wire import decode_history
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.nats.link import NatsTarget
from quoteboard.store.watchlist import WatchlistStore
from tests.app_support import wait_for
from tests.nats.support import NatsServer, ask
from tests.relay.candles_support import KEY, PASSWORD, day_of_candles, relay_with_history
from tests.relay.support import Kabu


async def test_kabu_ctl_candles_answers_what_the_store_holds_and_refuses_in_kabus_words(
    nats_server: NatsServer, tmp_path: Path
):
    store = tmp_path / "ticks.sqlite3"
    async with relay_with_history(store, nats=nats_server.url) as relay, Kabu(relay, PASSWORD) as kabu:
        await kabu.register("7203")
        held = await day_of_candles(relay, store)
        nc = await nats.connect(nats_server.url, connect_timeout=2, max_reconnect_attempts=0)
        try:
            msg = await nc.request(
                "kabu.ctl.candles", b'{"Symbol":"7203","Exchange":1,"interval":"1m"}', timeout=5
            )
            assert decode_history(msg.data, KEY, "1m") == held
            hourly = await ask(nc, "kabu.ctl.candles", {"Symbol": "7203", "Exchange": 1, "interval": "1h"})
            assert [c["open"] for c in hourly["candles"]] == [held.candles[0].open]
            garbage = await ask(nc, "kabu.ctl.candles", b"{not json")
            bad = await ask(nc, "kabu.ctl.candles", {"Symbol": "7203", "Exchange": 1, "interval": "7m"})
            dated = await ask(
                nc, "kabu.ctl.candles", {"Symbol": "7203", "Exchange": 1, "interval": "1m", "date": "03/12"}
            )
        finally:
            await nc.close()
    assert garbage["Code"] == 4001011
    assert bad["Code"] == 4001005 and "interval is one of" in bad["Message"]
    assert dated["Code"] == 4001005 and "date is YYYY-MM-DD" in dated["Message"]


async def test_a_board_behind_the_relay_and_a_board_on_nats_show_the_relays_candles(
    nats_server: NatsServer, tmp_path: Path
):
    store = tmp_path / "ticks.sqlite3"
    async with relay_with_history(store, nats=nats_server.url) as relay:
        behind = QuoteboardApp(sources=[FeedSource.kabu(relay.base_url, PASSWORD)], symbols=[KEY],
                               store=WatchlistStore(tmp_path / "a.toml"))  # fmt: skip
        on_nats = QuoteboardApp(sources=[FeedSource.of_nats(NatsTarget.parse(nats_server.url))],
                                symbols=[KEY], store=WatchlistStore(tmp_path / "b.toml"))  # fmt: skip
        async with behind.run_test(size=(120, 30)) as a, on_nats.run_test(size=(120, 30)) as b:
            await wait_for(a, lambda: behind.feed_control.history is not None, 15, "the relay's history")
            await wait_for(b, lambda: on_nats.feed_control.history is not None, 15, "NATS history")
            assert isinstance(behind.feed_control.history, RelayCandles)
            assert isinstance(on_nats.feed_control.history, NatsCandles)
            held = await day_of_candles(relay, store)
            assert await behind.feed_control.history.candles(KEY, "1m") == held
            assert await on_nats.feed_control.history.candles(KEY, "1m") == held
            fifteen = await StoreCandles(store).candles(KEY, "15m")
            assert await on_nats.feed_control.history.candles(KEY, "15m") == fifteen
            other = SymbolKey("9433", 1)  # never registered: an empty day, not an error
            empty = await behind.feed_control.history.candles(other, "1m")
            assert (empty.candles, empty.since) == ([], None)

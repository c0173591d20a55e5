"""History for every client: the relay's tick store answered on NATS (``kabu.ctl.candles``)."""

from __future__ import annotations

from pathlib import Path

import nats

from quoteboard.history.wire import decode_history
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

"""``GET /relay/candles/{code}@{ex}``: the relay's tick store, served to its clients over HTTP, with
Kabu's errors for a bad code, interval or date, and the same auth as the relay's other calls."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from quoteboard.feeds.source import FeedSource
from quoteboard.history.remote import RelayCandles, served_history
from quoteboard.history.store import StoreCandles
from quoteboard.history.wire import decode_history
from quoteboard.kabu.errors import KabuError
from quoteboard.kabu.records import JST
from tests.relay.candles_support import KEY, PASSWORD, day_of_candles, relay_with_history
from tests.relay.support import Kabu


def origin(relay) -> str:
    return relay.status_url.removesuffix("/relay/status")


async def test_the_relay_answers_the_candles_its_store_holds(tmp_path):
    store = tmp_path / "ticks.sqlite3"
    async with relay_with_history(store) as relay, Kabu(relay, PASSWORD) as kabu:
        assert await kabu.register("7203") == ["7203@1"]
        held = await day_of_candles(relay, store)
        url = f"{origin(relay)}/relay/candles/7203@1"
        answer = await kabu.call("GET", f"{url}?interval=1m")
        assert answer.status_code == 200, answer.text
        assert decode_history(answer.content, KEY, "1m") == held
        body = answer.json()
        assert body["date"] == datetime.fromtimestamp(held.candles[0].start, JST).date().isoformat()
        assert len(body["candles"]) == len(held.candles) >= 3
        # The same day asked by its date, and longer candles merged from the same store.
        dated = await kabu.call("GET", f"{url}?interval=1m&date={body['date']}")
        assert decode_history(dated.content, KEY, "1m") == held
        five = await kabu.call("GET", f"{url}?interval=5m")
        assert decode_history(five.content, KEY, "5m") == await StoreCandles(store).candles(KEY, "5m")
        empty = (await kabu.call("GET", f"{url}?interval=1m&date=2001-01-05")).json()
        assert (empty["candles"], empty["since"], empty["date"]) == ([], None, "2001-01-05")


async def test_a_board_behind_the_relay_reads_the_relays_candles_through_its_own_token(tmp_path):
    store = tmp_path / "ticks.sqlite3"
    async with relay_with_history(store) as relay, FeedSource.kabu(relay.base_url, PASSWORD).open() as feed:
        feed.registry.replace_watch([KEY])
        assert await feed.start() == []
        held = await day_of_candles(relay, store)
        via_relay, history = await served_history(feed, FeedSource.kabu(relay.base_url, PASSWORD))
        assert via_relay and isinstance(history, RelayCandles)
        assert await history.candles(KEY, "1m") == held
        with pytest.raises(KabuError) as refused:
            await history.candles(KEY._replace(code="72-03"), "1m")
        assert refused.value.code == 4001005


@pytest.mark.parametrize(
    ("path", "code", "words"),
    [
        ("7203@1?interval=2m", 4001005, "interval is one of 1m, 5m, 15m, 1h, 1d, not '2m'"),
        ("7203@1", 4001005, "interval is one of"),
        ("7203@1?interval=1m&date=2026-13-01", 4001005, "date is YYYY-MM-DD"),
        ("7203@1?interval=1m&date=yesterday", 4001005, "date is YYYY-MM-DD"),
        ("7203?interval=1m", 4001005, "CODE@EXCHANGE"),
        ("72%2003@1?interval=1m", 4001005, "is not a symbol code"),
    ],
)
async def test_a_bad_code_interval_or_date_is_kabus_parameter_error(tmp_path, path, code, words):
    async with relay_with_history(tmp_path / "ticks.sqlite3") as relay, Kabu(relay, PASSWORD) as kabu:
        answer = await kabu.call("GET", f"{origin(relay)}/relay/candles/{path}")
    assert answer.status_code == 400
    assert answer.json()["Code"] == code and words in answer.json()["Message"], answer.text


async def test_candles_need_a_clients_token_and_a_relay_with_history(tmp_path):
    async with relay_with_history(tmp_path / "ticks.sqlite3", history=False) as relay:
        url = f"{origin(relay)}/relay/candles/7203@1?interval=1m"
        async with httpx.AsyncClient() as plain:
            anonymous = await plain.get(url)
            assert anonymous.status_code == 401 and anonymous.json()["Code"] == 4001009
        async with Kabu(relay, PASSWORD) as kabu:
            none = await kabu.call("GET", url)
    assert none.status_code == 403 and none.json()["Code"] == 4001008
    assert "keeps no history" in none.json()["Message"]


async def test_a_store_that_cannot_be_read_is_one_kabu_error_and_the_relay_goes_on(tmp_path):
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"not a database at all" * 100)
    async with relay_with_history(tmp_path / "ticks.sqlite3", history=False) as relay:
        relay.relay.history = StoreCandles(damaged)
        async with Kabu(relay, PASSWORD) as kabu:
            answer = await kabu.call("GET", f"{origin(relay)}/relay/candles/7203@1?interval=1m")
            said = answer.json()
            assert answer.status_code == 500 and said["Code"] == 4001001
            assert "cannot be read" in said["Message"] and "damaged.sqlite3" in said["Message"]
            assert await kabu.register("7203") == ["7203@1"]  # the relay itself goes on

"""``KabuRest.ranking`` against the real test server, and the pure reading of its answers."""

from __future__ import annotations

import httpx
import msgspec
import pytest

from quoteboard.kabu.errors import KabuError
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.ranking import MARKETS, RANKING_TYPES, exchange_of, parse_ranking
from quoteboard.kabu.rest import KabuRest
from tests.schemas import spec


async def test_every_type_and_market_reads_into_rows_with_every_column(server):
    async with KabuRest(server.base_url, "pw") as rest:
        for number, kind in RANKING_TYPES.items():
            for division, _name in MARKETS:
                ranking = await rest.ranking(number, division)
                assert ranking.type is kind and ranking.division == division
                if division not in ("ALL", "T", "TP") and not kind.sectors:
                    assert ranking.movers == ()  # the test station lists TSE Prime only
                    continue
                assert ranking.movers, (number, division)
                for mover in ranking.movers:
                    assert (mover.key is None) == kind.sectors
                    assert all(mover.values[c.field] is not None for c in kind.columns), (number, mover)
    assert server.kabu.rankings.asked["5", "TG"] == 1
    assert server.registered == []  # a ranking takes no registration slot


async def test_volume_and_turnover_come_in_thousands_of_shares_and_millions_of_yen(server):
    async with KabuRest(server.base_url, "pw") as rest:
        top = (await rest.ranking(3, "ALL")).movers[0]
    assert top.key is not None
    board = server.kabu.market.board(str(top.key))
    assert top.values["TradingVolume"] == pytest.approx(board.TradingVolume / 1000, abs=0.05)
    assert top.values["Turnover"] == pytest.approx(board.TradingValue / 1e6, abs=0.05)


def test_the_columns_name_fields_of_their_vendor_schema():
    schemas = spec()["components"]["schemas"]
    by_type = {1: "Default", 2: "Default", 3: "Default", 4: "Default", 5: "ByTickCount",
               6: "ByTradeVolume", 7: "ByTradeValue", 14: "ByCategory", 15: "ByCategory"}  # fmt: skip
    for number, kind in RANKING_TYPES.items():
        name = f"Ranking{by_type.get(number, 'ByMargin')}Response"
        fields = schemas[name]["properties"]["Ranking"]["items"]["properties"]
        assert {c.field for c in kind.columns} <= set(fields), number


def test_a_cleared_ranking_is_an_answer_with_no_movers():
    assert parse_ranking(b'{"Type": "1", "ExchangeDivision": "ALL", "Ranking": []}', 1, "ALL").movers == ()


def test_a_mover_is_registered_on_its_own_market():
    body = {"Ranking": [{"No": 1, "Symbol": "5021", "SymbolName": "x", "ExchangeName": "名証メ"},
                        {"No": 1, "Symbol": "130A", "ExchangeName": "東証グ"}]}  # fmt: skip
    movers = parse_ranking(msgspec.json.encode(body), 1, "ALL").movers
    assert [m.key for m in movers] == [SymbolKey("5021", 3), SymbolKey("130A", 1)]
    assert [m.rank for m in movers] == [1, 1] and movers[1].name == "130A"
    assert exchange_of(None) == 1 and exchange_of("札証") == 6


@pytest.mark.parametrize(
    ("body", "why"),
    [(b"<html>", "not a ranking answer"), (b'{"Ranking": [{"No": 1}]}', "names no symbol")],
)
async def test_an_unreadable_answer_is_one_kabu_error(body, why):
    def station(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"ResultCode": 0, "Token": "t"})
        return httpx.Response(200, content=body)

    async with KabuRest("http://127.0.0.1:1/kabusapi", "pw", transport=httpx.MockTransport(station)) as rest:
        with pytest.raises(KabuError, match=why):
            await rest.ranking(1)


def test_station_text_is_made_safe_for_a_terminal():
    body = {"Ranking": [{"No": 1, "Symbol": "7203", "SymbolName": "トヨタ\x1b[2J", "CurrentPrice": 2750,
                         "ChangeRatio": "\x07+1", "CurrentPriceTime": "15:00"}]}  # fmt: skip
    mover = parse_ranking(msgspec.json.encode(body), 1, "ALL").movers[0]
    assert mover.name == "トヨタ\ufffd[2J"
    assert mover.values["ChangeRatio"] == "\ufffd+1" and mover.values["CurrentPrice"] == 2750
    with pytest.raises(ValueError, match="names no symbol"):
        parse_ranking(b'{"Ranking": [{"No": 1, "Symbol": "72\\u001b03"}]}', 1, "ALL")

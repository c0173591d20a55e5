"""The symbol card's REST calls: ``/symbol``, ``/primaryexchange`` and ``/regulations`` read into
records that match the test station's answers; bad answers said in words (MockTransport only for
those, which a real server does not send)."""

from __future__ import annotations

import httpx
import pytest

from quoteboard.kabu.errors import KabuError
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.reference import Regulation, parse_regulations, symbol_facts
from quoteboard.kabu.rest import KabuRest
from quoteboard.server import TestServer
from tests.kabu.test_rest_errors import Station, rest_for


async def test_the_records_match_the_stations_answers(server: TestServer) -> None:
    key = SymbolKey("9984")
    async with KabuRest(server.base_url) as rest, httpx.AsyncClient(base_url=server.base_url) as raw:
        facts = symbol_facts(await rest.symbol(key))
        primary = await rest.primary_exchange("9984")
        regulations = await rest.regulations(key)
        raw.headers["X-API-KEY"] = rest.current_token or ""
        symbol_json = (await raw.get("/symbol/9984@1")).json()
        regulations_json = (await raw.get("/regulations/9984@1")).json()["RegulationsInfo"]
    assert facts.key == key and facts.symbol_name == symbol_json["SymbolName"]
    assert facts.trading_unit == symbol_json["TradingUnit"] == 100
    assert (facts.lower_limit, facts.upper_limit) == (symbol_json["LowerLimit"], symbol_json["UpperLimit"])
    assert (facts.margin_buy, facts.margin_sell) == (True, False)
    assert (facts.general_margin_buy, facts.general_margin_sell) == (True, True)
    assert facts.price_range_group == "10003" and facts.tick_at(9_500) == 1 and facts.tick_at(999) == 0.1
    assert (primary.symbol, primary.primary_exchange, primary.name) == ("9984", 1, "TSE")
    assert [r.reason for r in regulations] == [item["Reason"] for item in regulations_json]
    assert regulations[0].describe() == "buy, delivery in (TSE)"
    assert regulations[1].describe() == "sell, new standard margin (all markets)"
    assert regulations[1].level_name == "refused"
    start, end = (regulations_json[1][day].split(" ")[0] for day in ("LimitStartDay", "LimitEndDay"))
    assert regulations[1].dates == f"{start}–{end}"


async def test_a_symbol_without_regulations_has_none_and_unknown_ones_are_kabus_error(server) -> None:
    async with KabuRest(server.base_url) as rest:
        assert await rest.regulations(SymbolKey("7203")) == ()
        with pytest.raises(KabuError) as caught:
            await rest.primary_exchange("0000")
    assert caught.value.code == 4002001
    assert server.registered == []  # neither call registers


def test_a_short_selling_restriction_as_a_real_station_sends_it_with_nulls() -> None:
    body = (
        '{"Symbol":"7201","RegulationsInfo":[{"Exchange":0,"Product":4,"Side":"1","Reason":"空売り規制",'
        '"LimitStartDay":null,"LimitEndDay":null,"Level":null}]}'
    ).encode()
    (only,) = parse_regulations(body)
    assert only == Regulation(0, 4, "1", "空売り規制")
    assert (only.describe(), only.dates, only.level_name) == ("sell, new (all markets)", "", "")


@pytest.mark.parametrize(
    ("path", "body", "said"),
    [
        ("/regulations/7203@1", b"<html>busy</html>", "unreadable regulations answer: JSON is malformed"),
        ("/regulations/7203@1", {"Symbol": "7203", "RegulationsInfo": [{"Exchange": "TSE"}]},
         "unreadable regulations answer: Expected `int`, got `str` - at `$.RegulationsInfo[0].Exchange`"),
        ("/primaryexchange/7203", {"Symbol": "7203"},
         "unreadable primary exchange answer: Object missing required field `PrimaryExchange`"),
    ],
)  # fmt: skip
async def test_a_bad_answer_is_said_in_words(path: str, body: object, said: str) -> None:
    station = Station({path: [(200, body)]})
    async with rest_for(station) as rest:
        with pytest.raises(KabuError) as caught:
            if path.startswith("/regulations"):
                await rest.regulations(SymbolKey("7203"))
            else:
                await rest.primary_exchange("7203")
    assert said in str(caught.value), str(caught.value)


def test_a_symbol_answer_of_the_wrong_shape_is_said_in_words() -> None:
    with pytest.raises(ValueError) as caught:
        symbol_facts({"Symbol": "7203", "TradingUnit": "100"})
    said = "unreadable symbol answer: Expected `float | null`, got `str` - at `$.TradingUnit`"
    assert str(caught.value) == said

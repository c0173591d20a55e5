"""``GET /primaryexchange`` and ``GET /regulations``, and the margin flags of ``/symbol``: the test
station's answers against the vendor's schemas, over real HTTP; neither call registers its symbol."""

from __future__ import annotations

import pytest

from quoteboard.server import TestServer
from quoteboard.server.reference import REGULATED
from tests.schemas import validate
from tests.server.test_server_rest import assert_error, kabu


@pytest.mark.parametrize("code", ["7203", "7201", "6920", "9984"])
async def test_regulations_answers_validate_against_the_vendor_schema(server: TestServer, code: str) -> None:
    async with kabu(server) as client:
        answer = await client.get(f"/regulations/{code}@1")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    validate(body, "RegulationsResponse", strict=True)
    assert body["Symbol"] == code
    assert len(body["RegulationsInfo"]) == len(REGULATED.get(code, ()))


async def test_a_short_selling_restriction_has_no_dates_and_others_are_dated_around_today(server) -> None:
    today = server.kabu.market.now()
    async with kabu(server) as client:
        short = (await client.get("/regulations/7201@1")).json()["RegulationsInfo"]
        loan = (await client.get("/regulations/9984@1")).json()["RegulationsInfo"]
    assert short == [{"Exchange": 0, "Product": 4, "Side": "1", "Reason": "空売り規制"}]
    stamp = f"{today:%Y/%m/%d} 00:00"
    for item in loan:
        assert item["LimitStartDay"] < stamp < item["LimitEndDay"]
        assert item["Level"] == 2


async def test_primary_exchange_answers_validate_and_name_the_tse(server) -> None:
    async with kabu(server) as client:
        answer = await client.get("/primaryexchange/7203")
    assert answer.status_code == 200, answer.text
    validate(answer.json(), "PrimaryExchangeResponse", strict=True)
    assert answer.json() == {"Symbol": "7203", "PrimaryExchange": 1}


async def test_unknown_symbols_are_4002001_and_a_bad_key_4001005(server) -> None:
    async with kabu(server) as client:
        assert_error(await client.get("/primaryexchange/0000"), 400, 4002001)
        assert_error(await client.get("/regulations/0000@1"), 400, 4002001)
        assert_error(await client.get("/regulations/7203"), 400, 4001005)


async def test_neither_call_registers_nor_answers_without_a_token(server) -> None:
    async with kabu(server) as client:
        await client.get("/primaryexchange/7203")
        await client.get("/regulations/7203@1")
        assert server.registered == []
        del client.headers["X-API-KEY"]
        assert_error(await client.get("/regulations/7203@1"), 401, 4001009)
        assert_error(await client.get("/primaryexchange/7203"), 401, 4001009)


async def test_symbol_says_a_stopped_stock_loan_with_its_margin_sell_flag(server) -> None:
    async with kabu(server) as client:
        stopped = (await client.get("/symbol/9984@1")).json()
        usual = (await client.get("/symbol/7203@1")).json()
    validate(stopped, "SymbolSuccess", strict=True)
    assert stopped["MarginSell"] is False and stopped["MarginBuy"] is True
    assert stopped["KCMarginSell"] is True and stopped["PriceRangeGroup"] == "10003"
    assert usual["MarginSell"] is True and usual["TradingUnit"] == 100.0
    assert usual["LowerLimit"] < usual["UpperLimit"]

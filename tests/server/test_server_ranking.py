"""``GET /ranking``: every type and market in the vendor's ``Ranking*Response`` schemas, from the test
station's own market, over real HTTP; Kabu's errors for a bad type or market."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from quoteboard.server import TestServer
from quoteboard.server.catalogue import CATALOGUE
from quoteboard.server.clock import JST, StationClock
from quoteboard.server.market import Market
from quoteboard.server.ranking import DIVISIONS, TYPES, Rankings
from tests.schemas import validate
from tests.server.test_server_day import DAY, HandClock, at
from tests.server.test_server_rest import assert_error, kabu

SCHEMA = {
    **dict.fromkeys("1234", "RankingDefaultResponse"),
    "5": "RankingByTickCountResponse",
    "6": "RankingByTradeVolumeResponse",
    "7": "RankingByTradeValueResponse",
    **{str(n): "RankingByMarginResponse" for n in range(8, 14)},
    "14": "RankingByCategoryResponse",
    "15": "RankingByCategoryResponse",
}


async def test_every_type_and_market_validates_against_its_vendor_schema(server):
    async with kabu(server) as client:
        for type_ in TYPES:
            for division in DIVISIONS:
                answer = await client.get("/ranking", params={"Type": type_, "ExchangeDivision": division})
                assert answer.status_code == 200, answer.text
                body = answer.json()
                validate(body, SCHEMA[type_], strict=True)
                assert body["Type"] == type_
                listed = division in ("ALL", "T", "TP") or type_ in ("14", "15")
                assert bool(body["Ranking"]) == listed, (type_, division)
    assert server.kabu.rankings.asked["1", "TP"] == 1


async def test_price_rankings_are_ordered_and_agree_with_the_board(server):
    async with kabu(server) as client:
        gainers = (await client.get("/ranking", params={"Type": "1", "ExchangeDivision": "ALL"})).json()
        losers = (await client.get("/ranking", params={"Type": "2", "ExchangeDivision": "ALL"})).json()
        volume = (await client.get("/ranking", params={"Type": "3", "ExchangeDivision": "ALL"})).json()
    rows = gainers["Ranking"]
    assert len(rows) == len(CATALOGUE)
    changes = [row["ChangePercentage"] for row in rows]
    assert changes == sorted(changes, reverse=True)
    assert [row["No"] for row in rows][:2] == [1, 2]
    assert [row["ChangePercentage"] for row in losers["Ranking"]] == sorted(changes)
    volumes = [row["TradingVolume"] for row in volume["Ranking"]]
    assert volumes == sorted(volumes, reverse=True)
    top = losers["Ranking"][0]  # the last answer: the market as it is now
    board = server.kabu.market.board(f"{top['Symbol']}@1")
    # Thousands of shares and millions of yen, as the station sends them.
    assert top["TradingVolume"] == pytest.approx(board.TradingVolume / 1000, abs=0.05)
    assert top["Turnover"] == pytest.approx(board.TradingValue / 1e6, abs=0.05)
    assert top["CurrentPrice"] == pytest.approx(board.PreviousClose + top["ChangeRatio"])


async def test_sector_rankings_name_sectors_not_symbols(server):
    async with kabu(server) as client:
        up = (await client.get("/ranking", params={"Type": "14", "ExchangeDivision": "TS"})).json()
        down = (await client.get("/ranking", params={"Type": "15", "ExchangeDivision": "ALL"})).json()
    assert all("Symbol" not in row and row["CategoryName"].startswith("IS ") for row in up["Ranking"])
    assert {row["Category"] for row in up["Ranking"]} == {row["Category"] for row in down["Ranking"]}
    falls = [row["ChangePercentage"] for row in down["Ranking"]]
    assert falls == sorted(falls) and len(falls) > 10


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"Type": "16", "ExchangeDivision": "ALL"}, 400, 4001005),
        ({"Type": "x", "ExchangeDivision": "ALL"}, 400, 4001005),
        ({"Type": "1", "ExchangeDivision": "NY"}, 400, 4001005),
    ],
)
async def test_a_bad_type_or_market_is_a_parameter_error(server, query, status, code):
    async with kabu(server) as client:
        assert_error(await client.get("/ranking", params=query), status, code)


async def test_ranking_needs_a_token(server):
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        assert_error(await client.get("/ranking"), 401, 4001009)


def test_the_movers_move_as_market_time_passes():
    now = [datetime(2025, 6, 2, 10, 0, tzinfo=JST)]
    rankings = Rankings(Market(seed=1, clock=lambda: now[0]))
    first = rankings.answer("1", "ALL")["Ranking"]
    assert rankings.answer("1", "ALL")["Ranking"] == first  # no market time passed: nothing moved
    now[0] += timedelta(seconds=60)
    moved = rankings.answer("1", "ALL")["Ranking"]
    assert [row["CurrentPrice"] for row in moved] != [row["CurrentPrice"] for row in first]


async def test_price_and_sector_rankings_are_cleared_until_the_open():
    hand = HandClock()
    clock = StationClock(DAY.replace(hour=7, minute=55), monotonic=hand)
    async with TestServer(seed=3, rate_limit=None, day=clock) as srv, kabu(srv) as client:

        async def ranking(type_: str) -> list[dict]:
            answer = await client.get("/ranking", params={"Type": type_, "ExchangeDivision": "ALL"})
            assert answer.status_code == 200, answer.text
            validate(answer.json(), SCHEMA[type_], strict=True)
            return answer.json()["Ranking"]

        assert await ranking("1") == [] and await ranking("14") == []
        assert await ranking("8") != []  # the margin rankings are weekly figures, not cleared
        at(hand, clock, 9, 5)
        assert await ranking("1") != [] and await ranking("14") != []

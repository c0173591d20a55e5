"""``GET /positions`` on the test server: the vendor's schema, prices from its own market, filters,
and the portfolio from ``serve --positions FILE``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from quoteboard.commands.cli import main
from quoteboard.server import TestServer
from quoteboard.server.portfolio import DEMO_PORTFOLIO, PortfolioError, load_portfolio
from tests.schemas import REPO_ROOT, validate
from tests.server.test_server_rest import assert_error, kabu


@pytest_asyncio.fixture
async def server() -> AsyncIterator[TestServer]:
    """The test server holding the demo's portfolio (a plain one holds nothing)."""
    async with TestServer(seed=1, rate_limit=None, portfolio=DEMO_PORTFOLIO) as srv:
        yield srv


async def test_positions_are_valid_positions_success_items_priced_from_the_market(server):
    async with kabu(server) as client:
        answer = await client.get("/positions", params={"product": "0"})
    assert answer.status_code == 200, answer.text
    items = answer.json()
    assert len(items) == len(DEMO_PORTFOLIO)
    for item in items:
        validate(item, "PositionsSuccess", strict=True)
    sides = {item["Symbol"]: item["Side"] for item in items}
    assert sides["7203"] == "2" and sides["9984"] == "1"  # a long and a short
    margin = {item["Symbol"] for item in items if "MarginTradeType" in item}
    assert margin == {"8306", "9984", "6758"}
    market = server.kabu.market
    for item in items:
        last = market.last_price(f"{item['Symbol']}@1")
        sign = 1 if item["Side"] == "2" else -1
        assert item["CurrentPrice"] == last
        assert item["Valuation"] == last * item["LeavesQty"]
        assert item["ProfitLoss"] == pytest.approx(sign * (last - item["Price"]) * item["LeavesQty"])


async def test_positions_follow_the_market_as_it_moves(server):
    key = "9984@1"
    async with kabu(server) as client:
        before = (await client.get("/positions", params={"symbol": "9984"})).json()[0]
        market = server.kabu.market
        while market.last_price(key) == before["CurrentPrice"]:
            market.step(key)
        after = (await client.get("/positions", params={"symbol": "9984"})).json()[0]
    assert after["CurrentPrice"] == market.last_price(key) != before["CurrentPrice"]
    # A short gains when the price falls.
    assert after["ProfitLoss"] - before["ProfitLoss"] == pytest.approx(
        (before["CurrentPrice"] - after["CurrentPrice"]) * 100
    )


async def test_positions_filters_and_addinfo(server):
    async with kabu(server) as client:
        cash = (await client.get("/positions", params={"product": "1"})).json()
        margin = (await client.get("/positions", params={"product": "2"})).json()
        futures = (await client.get("/positions", params={"product": "3"})).json()
        shorts = (await client.get("/positions", params={"side": "1"})).json()
        bare = (await client.get("/positions", params={"addinfo": "false"})).json()
        bad = await client.get("/positions", params={"product": "9"})
    assert {i["Symbol"] for i in cash} == {"7203", "9433"}
    assert {i["Symbol"] for i in margin} == {"8306", "9984", "6758"}
    assert futures == []
    assert {i["Symbol"] for i in shorts} == {"9984", "6758"}
    for item in bare:
        validate(item, "PositionsSuccess", strict=True)
        assert "CurrentPrice" not in item and "ProfitLoss" not in item
    assert_error(bad, 400, 4001005)


async def test_a_plain_test_server_holds_nothing():
    async with TestServer(rate_limit=None) as srv, kabu(srv) as client:
        assert (await client.get("/positions")).json() == []


async def test_positions_without_a_token_is_401(server):
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        answer = await client.get("/positions")
    assert_error(answer, 401, 4001009)


async def test_a_portfolio_file_sets_what_positions_answers(tmp_path: Path):
    path = tmp_path / "positions.json"
    holdings = [
        {"symbol": "7974", "side": "long", "qty": 100, "price": 10000},
        {"symbol": "8306@1", "side": "short", "qty": 500, "price": 1950.5},
    ]
    path.write_text(json.dumps(holdings), encoding="utf-8")
    async with TestServer(seed=1, rate_limit=None, portfolio=load_portfolio(path)) as srv:
        async with kabu(srv) as client:
            items = (await client.get("/positions")).json()
        empty = TestServer(rate_limit=None, portfolio=())
        async with empty, kabu(empty) as client:
            none = (await client.get("/positions")).json()
    for item in items:
        validate(item, "PositionsSuccess", strict=True)
    assert [(i["Symbol"], i["Side"], i["LeavesQty"], i["Price"]) for i in items] == [
        ("7974", "2", 100, 10000),
        ("8306", "1", 500, 1950.5),
    ]
    assert none == []


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("not json", "is not JSON"),
        ('[{"symbol": "7203", "side": "long", "qty": 0, "price": 1}]', "`$[0].qty`"),
        ('[{"symbol": "7203", "side": "sideways", "qty": 1, "price": 1}]', "`$[0].side`"),
        ('[{"symbol": "1111", "side": "long", "qty": 1, "price": 1}]', "'1111' is not listed"),
        ('[{"symbol": "7203", "side": "short", "qty": 1, "price": 1, "margin": false}]', "always on margin"),
        ('{"symbol": "7203"}', "Expected `array`"),
    ],
)
def test_a_bad_portfolio_file_is_one_clear_line_and_exit_1(tmp_path: Path, capsys, content, says):
    path = tmp_path / "positions.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PortfolioError, match=r".*"):
        load_portfolio(path)
    assert main(["serve", "--port", "0", "--positions", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"quoteboard serve: {path}") and says in err
    assert "\n" not in err


def test_a_missing_portfolio_file_says_it_cannot_be_read(tmp_path: Path, capsys):
    with pytest.raises(SystemExit) as stop:  # a usage error, before the server starts
        main(["serve", "--port", "0", "--positions", str(tmp_path / "none.json")])
    assert stop.value.code == 2
    assert "argument --positions: cannot read" in capsys.readouterr().err


def serve_in_a_child(*args: str) -> tuple[subprocess.Popen[str], str]:
    """``quoteboard serve --port 0 ARGS`` in a child process, and its Kabu base URL once it listens."""
    child = subprocess.Popen(
        [sys.executable, "-m", "quoteboard", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        cwd=REPO_ROOT,  # this checkout's quoteboard
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    line = child.stdout.readline() if child.stdout else ""
    found = re.search(r"(http://\S+/kabusapi)", line)
    if found is None:
        child.kill()
        raise AssertionError(f"no ready line: {line!r}")
    return child, found[1]


def positions_of(base_url: str) -> list[dict]:
    with httpx.Client(base_url=base_url, timeout=5) as client:
        token = client.post("/token", json={"APIPassword": "pw"}).json()["Token"]
        return client.get("/positions", headers={"X-API-KEY": token}).json()


@pytest.mark.parametrize("given", [False, True])
def test_serve_holds_the_demo_portfolio_or_the_file_given(tmp_path: Path, given: bool):
    path = tmp_path / "positions.json"
    path.write_text('[{"symbol": "7974", "side": "short", "qty": 100, "price": 10000}]', encoding="utf-8")
    child, base_url = serve_in_a_child(*(["--positions", str(path)] if given else []))
    try:
        items = positions_of(base_url)
    finally:
        child.kill()
        child.communicate(timeout=10)
    for item in items:
        validate(item, "PositionsSuccess", strict=True)
    if given:
        assert [(i["Symbol"], i["Side"]) for i in items] == [("7974", "1")]
    else:
        assert [i["Symbol"] for i in items] == [h.symbol for h in DEMO_PORTFOLIO]

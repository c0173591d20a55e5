"""``GET /wallet/...``: the test station's buying power, in the vendor's schemas, consistent with its
portfolio and market; Kabu's errors for a bad symbol or a missing token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from quoteboard.server import TestServer
from quoteboard.server.portfolio import DEMO_PORTFOLIO, Holding
from quoteboard.server.wallet import ACCOUNT_CASH, COLLATERAL_RATE, MARGIN_RATE
from tests.schemas import validate
from tests.server.test_server_rest import assert_error, kabu

SCHEMAS = {"cash": "WalletCashSuccess", "margin": "WalletMarginSuccess",
           "future": "WalletFutureSuccess", "option": "WalletOptionSuccess"}  # fmt: skip


@pytest_asyncio.fixture
async def server() -> AsyncIterator[TestServer]:
    async with TestServer(seed=1, rate_limit=None, portfolio=DEMO_PORTFOLIO) as srv:
        yield srv


def deposit_and_margin_value(server: TestServer, holdings: tuple[Holding, ...]) -> tuple[float, float]:
    """The deposit and the margin positions' value, worked out here from the positions' own rules."""
    last = server.kabu.market.last_price
    deposit, margin_value = ACCOUNT_CASH, 0.0
    for h in holdings:
        if h.on_margin:
            loss = min(0.0, (1 if h.side == "long" else -1) * (last(h.key) - h.price) * h.qty)
            deposit, margin_value = deposit + loss, margin_value + last(h.key) * h.qty
        else:
            deposit += COLLATERAL_RATE * last(h.key) * h.qty
    return deposit, margin_value


@pytest.mark.parametrize("symbol", ["", "/7203@1"], ids=["account", "symbol"])
async def test_wallet_answers_validate_against_the_vendor_schemas(server, symbol):
    async with kabu(server) as client:
        for kind in ("cash", "margin"):
            answer = await client.get(f"/wallet/{kind}{symbol}")
            assert answer.status_code == 200, answer.text
            validate(answer.json(), SCHEMAS[kind], strict=True)
        if not symbol:  # the station lists no future or option to name
            for kind in ("future", "option"):
                answer = await client.get(f"/wallet/{kind}")
                assert answer.status_code == 200, answer.text
                validate(answer.json(), SCHEMAS[kind], strict=True)


async def test_wallet_figures_follow_the_portfolio_and_the_market(server):
    async with kabu(server) as client:
        cash = (await client.get("/wallet/cash")).json()
        margin = (await client.get("/wallet/margin/7203@1")).json()
        future = (await client.get("/wallet/future")).json()
        option = (await client.get("/wallet/option")).json()
        deposit, margin_value = deposit_and_margin_value(server, DEMO_PORTFOLIO)
        surplus = deposit - MARGIN_RATE * margin_value
        assert cash == {"StockAccountWallet": float(int(min(ACCOUNT_CASH, surplus))),
                        "AuKCStockAccountWallet": float(int(min(ACCOUNT_CASH, surplus))),
                        "AuJbnStockAccountWallet": 0.0}  # fmt: skip
        assert margin["MarginAccountWallet"] == pytest.approx(surplus / MARGIN_RATE, abs=1)
        assert margin["DepositkeepRate"] == pytest.approx(100 * deposit / margin_value, abs=0.01)
        assert margin["ConsignmentDepositRate"] == 30.0
        assert future == {"FutureTradeLimit": float(int(surplus))}
        assert option == {
            "OptionBuyTradeLimit": float(int(surplus)),
            "OptionSellTradeLimit": float(int(surplus)),
        }


async def test_a_losing_margin_position_leaves_less_to_spend():
    # Shorted at half today's price: the loss comes off the deposit.
    async with TestServer(seed=1, rate_limit=None) as srv:
        half = srv.kabu.market.last_price("9984@1") / 2
        srv.kabu.portfolio = (Holding("9984", "short", 100, half),)
        async with kabu(srv) as client:
            margin = (await client.get("/wallet/margin")).json()
            cash = (await client.get("/wallet/cash")).json()
        deposit, value = deposit_and_margin_value(srv, srv.kabu.portfolio)
    assert deposit < ACCOUNT_CASH
    assert margin["MarginAccountWallet"] == pytest.approx(
        (deposit - MARGIN_RATE * value) / MARGIN_RATE, abs=1
    )
    assert cash["StockAccountWallet"] == float(int(deposit - MARGIN_RATE * value)) < ACCOUNT_CASH


async def test_an_empty_account_has_its_cash_to_spend():
    async with TestServer(rate_limit=None) as srv, kabu(srv) as client:
        assert (await client.get("/wallet/cash")).json()["StockAccountWallet"] == ACCOUNT_CASH
        margin = (await client.get("/wallet/margin")).json()
    assert margin == {"MarginAccountWallet": ACCOUNT_CASH / MARGIN_RATE, "DepositkeepRate": 0.0}


async def test_wallet_errors_are_kabu_errors(server):
    async with kabu(server) as client:
        assert_error(await client.get("/wallet/cash/0000@1"), 400, 4002001)
        assert_error(await client.get("/wallet/margin/7203"), 400, 4001005)
        assert_error(await client.get("/wallet/future/7203@1"), 400, 4002001)
        assert_error(await client.get("/wallet/option/7203@1"), 400, 4002001)
        assert_error(await client.post("/wallet/cash"), 405, 4001014)
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        assert_error(await client.get("/wallet/cash"), 401, 4001009)

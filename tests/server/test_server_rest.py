"""The station's REST side against the official schemas and error codes, over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import jsonschema
import pytest

from quoteboard.kabu.protocol import parse_regist_list
from quoteboard.server import TestServer
from quoteboard.server.catalogue import CATALOGUE
from tests.schemas import properties, validate

DERIVATIVES_ONLY = {"ClearingPrice", "IV", "Gamma", "Theta", "Vega", "Delta"}


@asynccontextmanager
async def kabu(srv: TestServer, password: str = "pw") -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that already holds a fresh token in ``X-API-KEY``."""
    async with httpx.AsyncClient(base_url=srv.base_url) as client:
        answer = await client.post("/token", json={"APIPassword": password})
        assert answer.status_code == 200, answer.text
        validate(answer.json(), "TokenSuccess", strict=True)
        client.headers["X-API-KEY"] = answer.json()["Token"]
        yield client


def symbols(*codes: str) -> dict:
    return {"Symbols": [{"Symbol": code, "Exchange": 1} for code in codes]}


def assert_error(answer: httpx.Response, status: int, code: int, message: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    validate(body, "ErrorResponse", strict=True)
    assert body["Code"] == code
    if message is not None:
        assert body["Message"] == message


async def test_token_answer_has_result_code_zero_and_a_token(server):
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        answer = await client.post("/token", json={"APIPassword": "anything goes without a password"})
    validate(answer.json(), "TokenSuccess", strict=True)
    assert answer.json()["ResultCode"] == 0 and len(answer.json()["Token"]) == 32


async def test_rest_without_key_is_401_apikey_mismatch(server):
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        for call in (
            client.put("/register", json=symbols("7203")),
            client.put("/unregister", json=symbols("7203")),
            client.put("/unregister/all"),
            client.get("/board/7203@1"),
            client.get("/symbol/7203@1"),
        ):
            assert_error(await call, 401, 4001009, "APIキー不一致")
    assert server.registered == []


async def test_a_new_token_voids_the_previous_one(server):
    async with kabu(server) as first, kabu(server) as second:
        assert_error(await first.get("/board/7203@1"), 401, 4001009)
        assert (await second.get("/board/7203@1")).status_code == 200


async def test_void_tokens_gives_401_until_a_new_token(server):
    async with kabu(server) as client:
        assert (await client.get("/symbol/7203@1")).status_code == 200
        server.void_tokens()
        assert_error(await client.get("/symbol/7203@1"), 401, 4001009)
        fresh = (await client.post("/token", json={"APIPassword": "pw"})).json()["Token"]
        client.headers["X-API-KEY"] = fresh
        assert (await client.get("/symbol/7203@1")).status_code == 200


async def test_a_logged_out_station_refuses_tokens_with_4001007_until_it_logs_in(server):
    async with kabu(server) as client:
        assert (await client.put("/register", json=symbols("7203"))).status_code == 200
        await server.log_out()
        assert server.registered == []
        # Logged out, kabuステーション answers every call with its login error, tokens first.
        assert_error(await client.get("/symbol/7203@1"), 401, 4001007)
        assert_error(await client.post("/token", json={"APIPassword": "pw"}), 401, 4001007)
        server.log_in()
        assert (await client.post("/token", json={"APIPassword": "pw"})).status_code == 200


async def test_configured_password_is_checked_with_kabus_message():
    message = "トークン取得失敗：kabuステーションがログインしている状態で、APIパスワードが不正"
    async with (
        TestServer(password="secret", rate_limit=None) as srv,
        httpx.AsyncClient(base_url=srv.base_url) as client,
    ):
        assert_error(await client.post("/token", json={"APIPassword": "guess"}), 400, 4001013, message)
        right = await client.post("/token", json={"APIPassword": "secret"})
        assert right.status_code == 200 and right.json()["Token"]


@pytest.mark.parametrize("body", [b"not json", b"{}", b'{"APIPassword": 1}', b"[]"])
async def test_malformed_token_request_is_4001011(server, body):
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        assert_error(await client.post("/token", content=body), 400, 4001011, "リクエスト文字列不正")


async def test_register_answers_everything_registered_and_is_idempotent(server):
    async with kabu(server) as client:
        first = await client.put("/register", json=symbols("7203", "9433"))
        again = await client.put("/register", json=symbols("9433", "6758"))
    for answer in (first, again):
        assert answer.status_code == 200
        validate(answer.json(), "RegistSuccess", strict=True)
    assert again.json()["RegistList"] == [
        {"Symbol": "7203", "Exchange": 1},
        {"Symbol": "9433", "Exchange": 1},
        {"Symbol": "6758", "Exchange": 1},
    ]
    assert server.registered == ["7203@1", "9433@1", "6758@1"]


@pytest.mark.parametrize(
    "body",
    [
        b"nope",
        b"{}",
        b'{"Symbols": "7203"}',
        b'{"Symbols": [{"Symbol": 7203, "Exchange": 1}]}',
        b'{"Symbols": [{"Symbol": "7203", "Exchange": "1"}]}',
        b'{"Symbols": [{"Symbol": "7203"}]}',
    ],
)
async def test_malformed_register_body_is_4001011_and_registers_nothing(server, body):
    async with kabu(server) as client:
        assert_error(await client.put("/register", content=body), 400, 4001011)
    assert server.registered == []


async def test_over_the_cap_is_4002006_and_nothing_from_that_request_registers():
    async with TestServer(max_symbols=3, rate_limit=None) as srv, kabu(srv) as client:
        assert (await client.put("/register", json=symbols("7203", "9433"))).status_code == 200
        over = await client.put("/register", json=symbols("9433", "6758", "9984"))
        assert_error(over, 400, 4002006, "レジスト数エラー")
        assert srv.registered == ["7203@1", "9433@1"]
        assert (await client.put("/register", json=symbols("9433", "6758"))).status_code == 200
        assert srv.registered == ["7203@1", "9433@1", "6758@1"]


async def test_default_cap_is_fifty_symbols(server):
    codes = [listing.code for listing in CATALOGUE.values()]
    async with kabu(server) as client:
        assert (await client.put("/register", json=symbols(*codes[:50]))).status_code == 200
        assert_error(await client.put("/register", json=symbols(codes[50])), 400, 4002006)
    assert len(server.registered) == 50


async def test_unknown_symbol_is_4002001_not_404(server):
    async with kabu(server) as client:
        unknown = await client.put("/register", json=symbols("7203", "0000"))
        assert_error(unknown, 400, 4002001, "銘柄が見つからない")
        assert_error(await client.get("/board/0000@1"), 400, 4002001)
        assert_error(await client.get("/symbol/0000@1"), 400, 4002001)
        assert_error(await client.get("/board/7203@3"), 400, 4002001)  # listed on the TSE only
        assert_error(await client.get("/board/7203"), 400, 4001005)  # no @exchange: a parameter error
    assert server.registered == []


async def test_unregister_removes_and_answers_what_remains(server):
    async with kabu(server) as client:
        await client.put("/register", json=symbols("7203", "9433", "6758"))
        answer = await client.put("/unregister", json=symbols("9433", "9984"))
        validate(answer.json(), "RegistSuccess", strict=True)
        assert [s["Symbol"] for s in answer.json()["RegistList"]] == ["7203", "6758"]
        not_registered = await client.put("/unregister", json=symbols("9984"))
        assert_error(not_registered, 400, 4001020, "銘柄が解除できませんでした")
    assert server.registered == ["7203@1", "6758@1"]


async def test_unregister_all_empties_and_answers_an_empty_list_as_a_real_station_does(server):
    async with kabu(server) as client:
        await client.put("/register", json=symbols("7203", "9433"))
        answer = await client.put("/unregister/all")
    assert answer.status_code == 200
    # A deliberate deviation from the vendor's schema: UnregisterAllSuccess types RegistList as an
    # object, but a real station answers a list (its own API log, quoted in kabusapi #284), the shape
    # of RegistSuccess, and third-party clients (py-kabusapi) require the list. The station wins.
    assert answer.json() == {"RegistList": []}
    validate(answer.json(), "RegistSuccess", strict=True)
    with pytest.raises(jsonschema.ValidationError):  # the spec's object; if it changes, so can this
        validate(answer.json(), "UnregisterAllSuccess", strict=True)
    assert parse_regist_list(answer.content) == []  # quoteboard's client reads it
    assert server.registered == []


async def test_board_is_a_full_snapshot_in_kabus_reversed_naming_and_registers(server):
    async with kabu(server) as client:
        answer = await client.get("/board/9984@1")
    board = answer.json()
    validate(board, "BoardSuccess", strict=True)
    assert set(board) == properties("BoardSuccess") - DERIVATIVES_ONLY
    assert board["SymbolName"] == "ソフトバンクグループ"
    # "Bid" is the best SELL quote (Sell1), "Ask" the best BUY quote (Buy1): Bid above Ask.
    assert board["BidPrice"] > board["AskPrice"]
    assert board["BidPrice"] == board["Sell1"]["Price"] and board["AskPrice"] == board["Buy1"]["Price"]
    assert server.registered == ["9984@1"]


async def test_symbol_answers_symbol_success_and_registers(server):
    async with kabu(server) as client:
        full = await client.get("/symbol/6861@1")
        lean = await client.get("/symbol/6861@1", params={"addinfo": "false"})
    validate(full.json(), "SymbolSuccess", strict=True)
    validate(lean.json(), "SymbolSuccess", strict=True)
    assert full.json()["SymbolName"] == "キーエンス" and "TotalStocks" in full.json()
    assert "TotalStocks" not in lean.json()
    assert server.registered == ["6861@1"]


async def test_board_and_symbol_count_towards_the_cap():
    async with TestServer(max_symbols=1, rate_limit=None) as srv, kabu(srv) as client:
        assert (await client.get("/board/7203@1")).status_code == 200
        assert (await client.get("/board/7203@1")).status_code == 200
        assert_error(await client.get("/symbol/9433@1"), 400, 4002006)
        assert srv.registered == ["7203@1"]


async def test_over_the_rate_limit_is_429_api_call_count_error():
    async with TestServer(rate_limit=5, seed=1) as srv, kabu(srv) as client:
        answers = await asyncio.gather(*(client.get("/board/7203@1") for _ in range(12)))
        statuses = [a.status_code for a in answers]
        assert statuses.count(200) == 5, statuses
        assert_error(next(a for a in answers if a.status_code == 429), 429, 4001006, "API実行回数エラー")
        # Registration is limited separately from information.
        assert (await client.put("/register", json=symbols("9433"))).status_code == 200
        await asyncio.sleep(0.25)  # the bucket refills at 5 a second
        assert (await client.get("/board/7203@1")).status_code == 200


async def test_wrong_method_is_405_with_kabus_code(server):
    async with kabu(server) as client:
        assert_error(await client.get("/register"), 405, 4001014, "許可されていないHTTPメソッド")

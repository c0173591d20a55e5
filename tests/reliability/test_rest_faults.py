"""REST under faults: voided tokens, refused tokens, rate limits, 500s, timeouts, refused connections.

The real test server answers wherever it can (voided tokens, 429 from its rate limiter); the rest is
injected in front of it by a transport that forwards every other request to it. On the board, each
failure is a message in words in the side panel, and the board carries on.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from quoteboard.kabu.errors import KabuError
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.rest import KabuRest
from quoteboard.server import TestServer
from tests.app_support import Outcomes, frozen_demo_server, make_app, wait_for
from tests.reliability.support import forward_to

SIZE = (160, 48)
Log = list[tuple[str, str, int]]


def kabu_error(status: int, code: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"Code": code, "Message": message})


def registering(request: httpx.Request, code: str) -> bool:
    if request.method != "PUT" or not request.url.path.endswith("/register"):
        return False
    return any(s["Symbol"] == code for s in json.loads(request.content)["Symbols"])


# -- tokens -----------------------------------------------------------------------------------------


async def test_a_voided_token_gets_one_new_token_and_the_call_is_retried(server):
    log: Log = []
    async with KabuRest(server.base_url, "pw", transport=forward_to(server, log=log)) as rest:
        await rest.register([SymbolKey("7203")])
        server.void_tokens()  # the early-morning logout
        assert await rest.register([SymbolKey("9433")]) == [SymbolKey("7203"), SymbolKey("9433")]
    assert log == [
        ("POST", "/token", 200), ("PUT", "/register", 200),
        ("PUT", "/register", 401), ("POST", "/token", 200), ("PUT", "/register", 200),
    ]  # fmt: skip


async def test_a_fresh_token_refused_too_is_one_clear_error_after_one_retry(server):
    log: Log = []

    def always_401(request: httpx.Request) -> httpx.Response | None:
        return kabu_error(401, 4001009, "APIキー不一致") if request.url.path.endswith("/register") else None

    async with KabuRest(server.base_url, "pw", transport=forward_to(server, always_401, log)) as rest:
        with pytest.raises(KabuError) as caught:
            await rest.register([SymbolKey("7203")])
    assert [entry[1] for entry in log] == ["/token", "/register", "/token", "/register"]
    text = str(caught.value)
    assert text.startswith("4001009 API key mismatch") and "a new token was refused too" in text
    assert "[HTTP 401]" in text


async def test_the_board_rides_out_a_voided_token(tmp_path: Path) -> None:
    app = make_app(tmp_path, symbols=[SymbolKey("7203")])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.server is not None and app.server.registered == ["7203@1"])
        app.server.void_tokens()
        await pilot.press("a", *"6758", "enter")
        await wait_for(pilot, lambda: "6758@1 registered (2/50)" in app.panel.outcome, what="the retry")
        assert app.server.registered == ["7203@1", "6758@1"]


# -- rate limit -------------------------------------------------------------------------------------


async def test_a_real_429_is_waited_out_with_back_off():
    log: Log = []
    keys = [SymbolKey(code) for code in ("7203", "9433", "6758", "9984", "8306", "7974", "6861", "4063")]
    async with TestServer(seed=1, rate_limit=5) as server:  # a burst of 5, then 5 a second
        rest = KabuRest(server.base_url, "pw", transport=forward_to(server, log=log))
        async with rest:
            quotes = await asyncio.gather(*(rest.board(key) for key in keys))
    assert [q.key for q in quotes] == keys
    assert any(status == 429 for _, _, status in log)  # the station did say "too many"


# -- the board carries on ---------------------------------------------------------------------------


@pytest.fixture
async def station():
    """The real test server standing in for Kabu Station."""
    async with TestServer(seed=3, rate_limit=None) as srv:
        yield srv


async def test_a_500_on_a_first_snapshot_is_said_in_the_panel_and_the_board_carries_on(
    tmp_path: Path, station: TestServer
) -> None:
    def broken_board(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("/board/7203@1"):
            return httpx.Response(500, text="<html><h1>Internal\nServer Error</h1></html>")
        return None

    app = make_app(tmp_path, demo=False, password="pw", base_url=station.base_url,
                   symbols=[SymbolKey("7203"), SymbolKey("9433")],
                   rest_transport=forward_to(station, broken_board))  # fmt: skip
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "board of 7203@1 failed" in app.panel.outcome, what="the message")
        assert "internal error in the station" in app.panel.outcome and "[HTTP 500]" in app.panel.outcome
        assert "\n" not in app.panel.outcome
        # PUSH fills the row the snapshot could not.
        await wait_for(pilot, lambda: all(row.quote is not None for row in app.board), what="quotes")
        assert app.feed.status.state == "live" and app.table.order == [SymbolKey("7203"), SymbolKey("9433")]


async def test_a_timeout_registering_keeps_the_symbol_and_registers_it_when_the_station_answers(
    tmp_path: Path, station: TestServer
) -> None:
    timeouts = 0

    def slow_once(request: httpx.Request) -> httpx.Response | None:
        nonlocal timeouts
        if registering(request, "6758") and timeouts == 0:
            timeouts += 1
            raise httpx.ReadTimeout("timed out", request=request)
        return None

    app = make_app(tmp_path, demo=False, password="pw", base_url=station.base_url,
                   symbols=[SymbolKey("7203")], rest_transport=forward_to(station, slow_once))  # fmt: skip
    shown = Outcomes()
    async with app.run_test(size=SIZE, message_hook=shown) as pilot:
        await wait_for(pilot, lambda: app.feed.received > 0, what="pushed quotes")
        await pilot.press("a", *"6758", "enter")
        said = lambda: [text for text in shown if "not registered yet" in text]  # noqa: E731
        await wait_for(pilot, said, what="the message")  # (the retry may replace it at once)
        assert "no answer to PUT /register in time" in said()[0]
        assert app.table.order == [SymbolKey("7203"), SymbolKey("6758")]  # kept
        await wait_for(pilot, lambda: "6758@1" in station.registered, what="the retry, socket still up")
        await wait_for(pilot, lambda: app.board.rows[SymbolKey("6758")].quote is not None, what="its quotes")
        assert app.feed.connections == 1 and timeouts == 1


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (httpx.Response(500, text="<html>Internal Server Error</html>"), "internal error in the station"),
        (kabu_error(500, 4001001, "内部エラー"), "4001001 internal error in kabuステーション"),
        (httpx.Response(503, text=""), "[HTTP 503]"),
        (kabu_error(500, 4001017, "ログイン認証エラー"), "4001017 login failed"),
    ],
    ids=["500-html", "4001001", "503", "not-logged-in"],
)
async def test_a_station_that_fails_registering_keeps_the_row_and_registers_and_fills_it_later(
    tmp_path: Path, answer: httpx.Response, words: str
) -> None:
    failures = 0

    def fail_twice(request: httpx.Request) -> httpx.Response | None:
        nonlocal failures
        if registering(request, "6758") and failures < 2:
            failures += 1
            return answer
        return None

    # A market that pushes nothing (the evening): only a snapshot can fill the row.
    async with frozen_demo_server() as quiet:
        app = make_app(tmp_path, demo=False, password="pw", base_url=quiet.base_url,
                       symbols=[SymbolKey("7203")], rest_transport=forward_to(quiet, fail_twice))  # fmt: skip
        shown = Outcomes()
        async with app.run_test(size=SIZE, message_hook=shown) as pilot:
            await wait_for(
                pilot, lambda: app.board.rows[SymbolKey("7203")].quote is not None, what="7203's snapshot"
            )
            await pilot.press("a", *"6758", "enter")
            said = lambda: [text for text in shown if "not registered yet" in text]  # noqa: E731
            await wait_for(pilot, said, what="the message")  # (a retry may replace it soon)
            assert "6758@1 kept on the watchlist" in said()[0] and words in said()[0]
            assert app.table.order == [SymbolKey("7203"), SymbolKey("6758")]
            await wait_for(pilot, lambda: "6758@1" in quiet.registered, what="the retries")
            await wait_for(
                pilot, lambda: app.board.rows[SymbolKey("6758")].quote is not None, what="its snapshot"
            )
            assert app.board.rows[SymbolKey("6758")].quote.name == "ソニーグループ"
            assert failures == 2 and app.feed.connections == 1


async def test_a_refused_connection_unregistering_is_said_and_the_board_carries_on(
    tmp_path: Path, station: TestServer
) -> None:
    def refuse_unregister(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("/unregister"):
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return None

    app = make_app(tmp_path, demo=False, password="pw", base_url=station.base_url,
                   symbols=[SymbolKey("7203"), SymbolKey("9433")],
                   rest_transport=forward_to(station, refuse_unregister))  # fmt: skip
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: station.registered == ["7203@1", "9433@1"])
        await pilot.press("down", "d")
        await wait_for(pilot, lambda: "unregistering failed" in app.panel.outcome, what="the message")
        assert "9433@1 removed from the board" in app.panel.outcome
        assert (
            "Connection refused" in app.panel.outcome and "running with the API enabled" in app.panel.outcome
        )
        assert app.table.order == [SymbolKey("7203")]
        pushed = app.feed.received
        await wait_for(pilot, lambda: app.feed.received > pushed, what="quotes still coming")


async def test_kabus_refusals_are_shown_in_words_and_the_row_taken_away(
    tmp_path: Path, station: TestServer
) -> None:
    refusals = {
        "6758": kabu_error(400, 4002006, "銘柄登録数上限エラー"),
        "8306": kabu_error(400, 4001008, "API利用不可"),
        "7974": kabu_error(401, 4001009, "APIキー不一致"),  # again after the new token
    }

    def refuse(request: httpx.Request) -> httpx.Response | None:
        return next((answer for code, answer in refusals.items() if registering(request, code)), None)

    app = make_app(tmp_path, demo=False, password="pw", base_url=station.base_url,
                   symbols=[SymbolKey("7203")], rest_transport=forward_to(station, refuse))  # fmt: skip
    expected = {
        "6758": "6758@1 not registered: 4002006 over the symbol limit: at most 50 symbols",
        "8306": "8306@1 not registered: 4001008 the API is not enabled",
        "7974": "7974@1 not registered: 4001009 API key mismatch",
    }
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: station.registered == ["7203@1"])
        for code, words in expected.items():
            await pilot.press("a", *code, "enter")
            await wait_for(pilot, lambda w=words: w in app.panel.outcome, what=words)
            await wait_for(pilot, lambda: app.table.order == [SymbolKey("7203")], what="the row taken away")
        assert "a new token was refused too" in app.panel.outcome
        assert station.registered == ["7203@1"] and app.feed.status.state == "live"


async def test_a_station_not_logged_in_at_start_is_said_and_the_board_registers_once_it_is(
    tmp_path: Path, station: TestServer
) -> None:
    """The forced early-morning logout, or a station started but not yet logged in: every token
    request is refused with 4001017 until someone logs in; then the board fills without a keypress."""
    logged_in = False
    refused = 0

    def login_screen(request: httpx.Request) -> httpx.Response | None:
        nonlocal refused
        if request.url.path.endswith("/token") and not logged_in:
            refused += 1
            return kabu_error(500, 4001017, "ログイン認証エラー")
        return None

    app = make_app(tmp_path, demo=False, password="pw", base_url=station.base_url,
                   symbols=[SymbolKey("7203"), SymbolKey("9433")],
                   rest_transport=forward_to(station, login_screen))  # fmt: skip
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: refused >= 2, what="the token asked for again")
        # No socket is opened to a station that issues no token: the status says logged_out meanwhile.
        await wait_for(pilot, lambda: app.feed.status.state == "logged_out", what="logged_out")
        said = app.status_bar.text + app.panel.outcome
        assert "4001017 login failed: kabuステーション is not logged in" in said
        assert app.table.order == [SymbolKey("7203"), SymbolKey("9433")] and station.registered == []
        logged_in = True
        both = ["7203@1", "9433@1"]
        await wait_for(pilot, lambda: sorted(station.registered) == both, 35, "registered after the login")
        await wait_for(pilot, lambda: all(row.quote is not None for row in app.board), what="quotes")
        await wait_for(pilot, lambda: app.feed.status.state == "live", what="live again")
        assert "7203@1, 9433@1 registered (2/50)" in app.panel.outcome  # the failure is not left standing
        assert app.feed.connections == 1

"""REST error paths a real server can't easily produce, through httpx.MockTransport."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from quoteboard.feeds.kabu import KabuFeed
from quoteboard.kabu.errors import KabuClientError, KabuError, StationUnreachable, SymbolLimitError
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.rest import KabuRest

BASE = "http://station.test/kabusapi"


class Station:
    """A scripted station: records requests and answers from a list of (status, body)."""

    def __init__(self, answers: dict[str, list[tuple[int, object]]]) -> None:
        self.answers = answers
        self.requests: list[httpx.Request] = []
        self.tokens = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.url.path.startswith("/kabusapi/"), request.url
        path = request.url.path.removeprefix("/kabusapi")
        if path == "/token":
            self.tokens += 1
            return httpx.Response(200, json={"ResultCode": 0, "Token": f"t{self.tokens}"})
        status, body = self.answers[path].pop(0)
        if isinstance(body, bytes):
            return httpx.Response(status, content=body)
        return httpx.Response(status, json=body)


def rest_for(station: Station, **kwargs) -> KabuRest:
    return KabuRest(BASE, "secret-pw", transport=httpx.MockTransport(station), **kwargs)


REGISTERED = {"RegistList": [{"Symbol": "7203", "Exchange": 1}]}
VOIDED = {"Code": 4001009, "Message": "APIキー不一致"}


async def test_401_gets_one_new_token_and_one_retry():
    station = Station({"/register": [(401, VOIDED), (200, REGISTERED)]})
    async with rest_for(station) as rest:
        assert await rest.register([SymbolKey("7203")]) == [SymbolKey("7203")]
    assert station.tokens == 2
    keys = [r.headers.get("X-API-KEY") for r in station.requests if r.url.path.endswith("/register")]
    assert keys == ["t1", "t2"]


async def test_a_second_401_is_raised_not_retried_forever():
    station = Station({"/register": [(401, VOIDED), (401, VOIDED), (200, REGISTERED)]})
    async with rest_for(station) as rest:
        with pytest.raises(KabuError) as caught:
            await rest.register([SymbolKey("7203")])
    assert caught.value.code == 4001009 and caught.value.http_status == 401
    assert station.tokens == 2


async def test_429_backs_off_and_retries():
    busy = {"Code": 4001006, "Message": "API実行回数エラー"}
    station = Station({"/register": [(429, busy), (429, busy), (200, REGISTERED)]})
    async with rest_for(station, backoff_429=0.01) as rest:
        assert await rest.register([SymbolKey("7203")]) == [SymbolKey("7203")]
    assert sum(r.url.path.endswith("/register") for r in station.requests) == 3


async def test_429_retries_are_bounded():
    busy = {"Code": 4001006, "Message": "API実行回数エラー"}
    station = Station({"/register": [(429, busy)] * 10})
    async with rest_for(station, backoff_429=0.001, retries_429=2) as rest:
        with pytest.raises(KabuError) as caught:
            await rest.register([SymbolKey("7203")])
    assert caught.value.code == 4001006 and "too many API calls" in str(caught.value)
    assert sum(r.url.path.endswith("/register") for r in station.requests) == 3


async def test_500_with_a_non_json_body_is_an_error_in_words():
    station = Station({"/board/7203@1": [(500, b"<html>Internal Server Error</html>")]})
    async with rest_for(station) as rest:
        with pytest.raises(KabuError) as caught:
            await rest.board(SymbolKey("7203"))
    assert caught.value.http_status == 500 and "internal error" in str(caught.value)


async def test_a_bad_board_answer_is_an_error_not_a_crash():
    station = Station({"/board/7203@1": [(200, {"CurrentPrice": "lots"})]})
    async with rest_for(station) as rest:
        with pytest.raises(KabuError, match="unreadable board answer"):
            await rest.board(SymbolKey("7203"))


async def test_timeout_is_station_unreachable():
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with KabuRest(BASE, "pw", transport=httpx.MockTransport(slow)) as rest:
        with pytest.raises(StationUnreachable, match="no answer to POST /token in time"):
            await rest.token()


async def test_a_closed_client_is_station_unreachable_not_a_runtime_error(server):
    # A feed switched away from closes its client under any REST call still running for it.
    rest = KabuRest(server.base_url, "pw")
    await rest.token()
    await rest.aclose()
    with pytest.raises(StationUnreachable, match="GET /board/7203@1 not sent: this client was closed"):
        await rest.board(SymbolKey("7203"))


async def test_closed_port_is_station_unreachable_with_a_hint():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with KabuRest(f"http://127.0.0.1:{port}/kabusapi", "pw") as rest:
        with pytest.raises(StationUnreachable) as caught:
            await rest.register([SymbolKey("7203")])
    assert f"127.0.0.1:{port}" in str(caught.value) and "running" in str(caught.value)


async def test_the_feed_checks_the_symbol_cap_before_asking():
    station = Station({})
    feed = KabuFeed(BASE, rest=rest_for(station), max_symbols=2)
    feed.registry.station_lists([SymbolKey("7203"), SymbolKey("9433")])
    with pytest.raises(SymbolLimitError) as caught:
        await feed.register([SymbolKey("6758")])
    await feed.close()
    assert caught.value.code == 4002006 and "at most 2" in str(caught.value)
    assert station.requests == []  # nothing was sent
    assert not feed.registry.is_watched(SymbolKey("6758"))  # a refusal watches nothing


async def test_wrong_password_is_kabus_message():
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"Code": 4001013, "Message": "トークン取得失敗"})

    async with KabuRest(BASE, "wrong", transport=httpx.MockTransport(refuse)) as rest:
        with pytest.raises(KabuError) as caught:
            await rest.token()
    assert caught.value.code == 4001013 and "password is wrong" in str(caught.value)


async def test_password_is_sent_only_in_the_token_body_and_never_shown():
    station = Station({"/register": [(200, REGISTERED)]})
    rest = rest_for(station)
    await rest.register([SymbolKey("7203")])
    assert "secret-pw" not in repr(rest)
    token_request, register_request = station.requests
    assert json.loads(token_request.content) == {"APIPassword": "secret-pw"}
    assert b"secret-pw" not in register_request.content
    assert "secret-pw" not in str(register_request.headers)
    await rest.aclose()


async def test_every_error_the_client_raises_is_a_kabu_client_error_that_says_if_it_is_transient():
    # One base to catch, one property to retry by: no answer and a failing station are worth asking
    # again; a refusal is not.
    failing = {"Code": 4001001, "Message": "内部エラー"}
    unknown = {"Code": 4002001, "Message": "銘柄が見つからない"}
    station = Station({"/register": [(500, failing)], "/board/7203@1": [(400, unknown)]})
    seen: list[KabuClientError] = []
    async with rest_for(station) as rest:
        for call in (rest.register([SymbolKey("7203")]), rest.board(SymbolKey("7203"))):
            with pytest.raises(KabuClientError) as caught:
                await call
            seen.append(caught.value)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with KabuRest(f"http://127.0.0.1:{port}/kabusapi", "pw") as rest:
        with pytest.raises(KabuClientError) as caught:
            await rest.token()
        seen.append(caught.value)
    failed, refused, unreachable = seen
    assert isinstance(failed, KabuError) and failed.transient and not failed.refuses_symbols
    assert isinstance(refused, KabuError) and not refused.transient and refused.refuses_symbols
    assert isinstance(unreachable, StationUnreachable) and unreachable.transient
    assert issubclass(SymbolLimitError, KabuError) and not SymbolLimitError(51, 50).transient

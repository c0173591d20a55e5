"""The sans-I/O protocol: decoding frames, the Bid/Ask translation, symbols, bodies, errors."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quoteboard.kabu.errors import KabuError, error_from_response, explain
from quoteboard.kabu.protocol import (
    Quote,
    Rejection,
    SymbolKey,
    SymbolList,
    decode_frame,
    parse_regist_list,
    parse_symbol,
    parse_token,
    register_body,
    token_body,
    websocket_url,
)
from tests.schemas import spec

# The vendored spec (tests/schemas.py), the same one the schema tests validate against.
EXAMPLE = copy.deepcopy(spec()["components"]["schemas"]["BoardSuccess"]["example"])


@pytest.fixture
def example() -> dict:
    """The official BoardSuccess example from the vendor's spec."""
    return copy.deepcopy(EXAMPLE)


def test_official_example_decodes_with_bid_below_ask(example):
    quote = decode_frame(json.dumps(example, ensure_ascii=False).encode(), received_at=12.5)
    assert isinstance(quote, Quote)
    assert quote.key == SymbolKey("5401", 1) and type(quote.key) is SymbolKey
    assert quote.name == "新日鐵住金"
    assert quote.last == 2408.0
    # Kabu's BidPrice (2408.5) is the best SELL order: our ask. AskPrice (2407.5) is our bid.
    assert quote.ask == 2408.5 and quote.ask_qty == 100.0
    assert quote.bid == 2407.5 and quote.bid_qty == 200.0
    assert quote.bid < quote.ask
    assert quote.asks[0].price == quote.ask and quote.bids[0].price == quote.bid
    assert [lv.price for lv in quote.asks][:3] == [2408.5, 2409.0, 2409.5]
    assert quote.bids[9].qty == 3000.0
    assert quote.tick == -1  # 0058 is a down tick
    assert (quote.open, quote.high, quote.low, quote.prev_close) == (2380.0, 2418.0, 2370.0, 1048.0)
    assert quote.vwap == 2394.4262 and quote.volume == 4571500.0
    assert quote.time == "2022-04-04T15:00:00+09:00"
    assert quote.received_at == 12.5


def test_str_and_bytes_frames_decode_alike(example):
    text = json.dumps(example, ensure_ascii=False)
    assert decode_frame(text) == decode_frame(text.encode()) == decode_frame(bytearray(text.encode()))


def test_null_fields_are_allowed(example):
    frame = {key: None for key in example}
    frame["Symbol"] = "7203"
    quote = decode_frame(json.dumps(frame))
    assert isinstance(quote, Quote)
    assert quote.last is None and quote.bid is None and quote.sell1 is None and quote.exchange is None
    assert quote.key == SymbolKey("7203", 1)  # no exchange yet: the TSE
    assert quote.tick == 0


def test_unknown_fields_are_ignored(example):
    frame = dict(example, SomethingNew=[1, 2, 3], IV=0.5)
    assert isinstance(decode_frame(json.dumps(frame)), Quote)


def test_a_wire_received_at_is_overwritten(example):
    frame = dict(example, **{"quoteboard:received_at": 99.0})
    assert decode_frame(json.dumps(frame), received_at=1.0).received_at == 1.0


def test_int_prices_are_floats(example):
    frame = dict(example, CurrentPrice=2408, Sell5={"Price": 2410, "Qty": 500})
    quote = decode_frame(json.dumps(frame))
    assert quote.last == 2408.0 and isinstance(quote.last, float)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"", "truncated"),
        (b"null", "got `null`"),
        (b"[]", "got `array`"),
        (b"{}", "missing required field `Symbol`"),
        (b'{"Symbol": 7203}', "Expected `str`"),
        (b'{"Symbol": ""}', "empty `Symbol`"),
        (b'{"Symbol": "7203", "CurrentPrice": "2408"}', "$.CurrentPrice"),
        (b'{"Symbol": "7203", "Sell1": 5}', "$.Sell1"),
        (b'{"Symbol": "7203", "Exchange": 1.5}', "$.Exchange"),
        (b"\xff\xfe\x00", "malformed"),
        (b'{"Symbol": "7203"', "truncated"),
        (b"[" * 10000, ""),
        ("{" * 100000, "malformed"),
        (b"PING", "malformed"),
    ],
)
def test_garbage_becomes_a_rejection_with_a_reason(frame, reason):
    result = decode_frame(frame)
    assert isinstance(result, Rejection)
    assert reason in result.reason
    assert result.size == len(frame)


@pytest.mark.parametrize("frame", [None, 12, 3.5, object(), ["a"], {"Symbol": "7203"}])
def test_non_frames_are_rejected_not_raised(frame):
    assert isinstance(decode_frame(frame), Rejection)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300), _json.map(json.dumps)))
def test_fuzz_decoder_never_raises(frame):
    result = decode_frame(frame)
    assert isinstance(result, Quote | Rejection)


_FIELDS = ["Symbol", "CurrentPrice", "BidPrice", "AskPrice", "Sell1", "Buy3", "Exchange", "SymbolName"]


@settings(max_examples=1000, deadline=None)
@given(st.dictionaries(st.sampled_from(_FIELDS), _json, max_size=6))
def test_fuzz_mutated_official_frame_never_raises(mutation):
    frame = copy.deepcopy(EXAMPLE)
    frame.update(mutation)
    result = decode_frame(json.dumps(frame))
    assert isinstance(result, Quote | Rejection)
    if isinstance(result, Quote):
        assert result.symbol == frame["Symbol"]


@pytest.mark.parametrize(
    ("text", "key"),
    [("7203", SymbolKey("7203", 1)), ("7203@1", SymbolKey("7203", 1)), (" 9433 @ 3 ", SymbolKey("9433", 3)),
     ("130a", SymbolKey("130A", 1)), ("166090018@23", SymbolKey("166090018", 23))],
)  # fmt: skip
def test_parse_symbol(text, key):
    assert parse_symbol(text) == key
    assert str(key) == f"{key.code}@{key.exchange}"


def test_symbol_keys_print_as_kabu_writes_them_and_sort_by_code_then_exchange():
    assert str(SymbolKey("7203")) == f"{SymbolKey('7203')}" == "7203@1"
    assert str(SymbolKey("166090018", 23)) == "166090018@23"
    keys = [SymbolKey("9433", 3), SymbolKey("7203", 23), SymbolKey("7203", 3), SymbolKey("130A")]
    assert sorted(keys) == [
        SymbolKey("130A"),
        SymbolKey("7203", 3),
        SymbolKey("7203", 23),
        SymbolKey("9433", 3),
    ]


def test_symbol_keys_are_values():
    key = SymbolKey("7203")
    assert key == SymbolKey("7203", 1) != SymbolKey("7203", 3)
    assert {key: 1}[SymbolKey("7203", 1)] == 1  # a new key finds the row filed under an equal one
    with pytest.raises(AttributeError):
        key.code = "9433"  # type: ignore[misc]


def test_a_quote_is_filed_under_its_exchange():
    quote = decode_frame('{"Symbol": "7203", "Exchange": 3}')
    assert isinstance(quote, Quote)
    assert quote.key == SymbolKey("7203", 3) and str(quote.key) == "7203@3"


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "empty"), ("72-03", "not a symbol code"), ("7203@x", "must be a number"),
     ("7203@4", "unknown exchange"), ("トヨタ", "not a symbol code")],
)  # fmt: skip
def test_parse_symbol_explains_bad_input(text, message):
    with pytest.raises(ValueError, match=message):
        parse_symbol(text)


def test_request_bodies():
    body = json.loads(register_body([SymbolKey("7203", 1), SymbolKey("9433", 3)]))
    assert body == {"Symbols": [{"Symbol": "7203", "Exchange": 1}, {"Symbol": "9433", "Exchange": 3}]}
    assert json.loads(token_body("pässword")) == {"APIPassword": "pässword"}


def test_answers():
    assert parse_token(b'{"ResultCode": 0, "Token": "abc"}') == "abc"
    with pytest.raises(KabuError, match="token refused"):
        parse_token(b'{"ResultCode": 4, "Token": ""}')
    with pytest.raises(KabuError, match="unreadable"):
        parse_token(b"<html>")
    assert parse_regist_list(b'{"RegistList": [{"Symbol": "7203", "Exchange": 1}]}') == [SymbolKey("7203")]
    assert parse_regist_list(b'{"RegistList": {}}') == []
    assert parse_regist_list(b'{"RegistList": []}') == []


def test_websocket_url_is_derived_from_the_base_url():
    assert websocket_url("http://localhost:18080/kabusapi") == "ws://localhost:18080/kabusapi/websocket"
    assert websocket_url("http://localhost:18081/kabusapi/") == "ws://localhost:18081/kabusapi/websocket"
    with pytest.raises(ValueError):
        websocket_url("localhost:18080")


@pytest.mark.parametrize(
    "code",
    [4001001, 4001006, 4001007, 4001009, 4001013, 4001017, 4001018, 4001019, 4001020, 4002001, 4002006],
)
def test_codes_a_board_meets_have_an_english_explanation(code):
    assert not explain(code).startswith("Kabu error")
    assert str(code) in str(KabuError(code, "x", 400))


@pytest.mark.parametrize(
    ("code", "status", "transient"),
    [
        (4001001, 500, True),  # the station's internal error
        (4001006, 429, True),  # its rate limit
        (None, 500, True),  # a page without a code: a proxy, a crash
        (None, 503, True),
        (None, 429, True),
        (4002001, 500, False),  # no such symbol: asking again will not help, whatever the status
        (4002006, 400, False),
        (4001017, 500, True),  # the station is not logged in (yet): asked again until it is
        (4001007, 500, True),
        (4001013, 500, False),  # a wrong password stays wrong
        (4001008, 400, False),  # the API turned off
        (None, 400, False),
        (None, 404, False),
    ],
)
def test_an_error_is_transient_when_the_station_failed_rather_than_refused(code, status, transient):
    assert KabuError(code, "x", status).transient is transient


def test_error_answers_become_kabu_errors():
    err = error_from_response(400, '{"Code": 4002006, "Message": "レジスト数エラー"}'.encode())
    assert (err.code, err.message, err.http_status) == (4002006, "レジスト数エラー", 400)
    assert "over the symbol limit" in str(err) and "レジスト数エラー" in str(err)
    html = error_from_response(502, b"<html>Bad gateway</html>")
    assert html.code is None and "Bad gateway" in str(html) and "502" in str(html)
    unknown = error_from_response(400, b'{"Code": 4009999, "Message": "?"}')
    assert "4009999" in str(unknown)


def test_the_sans_io_core_imports_no_io_or_ui_library():
    code = (
        "import sys, quoteboard.kabu.protocol, quoteboard.kabu.errors, quoteboard.kabu.registry, "
        "quoteboard.kabu.codes; "
        "bad = [m for m in ('asyncio', 'httpx', 'websockets', 'textual') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_msgspec_is_the_decoder():
    # The decoder is typed: a Quote is a msgspec Struct, so field types are checked on decode.
    assert issubclass(Quote, msgspec.Struct)


def test_a_register_body_decodes_as_the_symbol_list_the_relay_reads():
    keys = [SymbolKey("7203", 1), SymbolKey("9433", 3)]
    assert msgspec.json.decode(register_body(keys), type=SymbolList).keys() == keys
    with pytest.raises(msgspec.ValidationError, match=r"\$\.Symbols\[0\]\.Symbol"):
        msgspec.json.decode(b'{"Symbols": [{"Symbol": 7203, "Exchange": 1}]}', type=SymbolList)

"""Bad PUSH frames through a real socket into the KabuFeed and the Board, and onto the board's screen.

A bare websockets server stands in for the station and sends a scripted list of frames; each bad
one is followed by a good one, so once the good quote is in, the bad one has been dealt with. None
may crash anything, become a row or a price, or pass uncounted.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from quoteboard.board.model import Board
from quoteboard.feeds.closing import MAX_FRAME
from quoteboard.feeds.kabu import KabuFeed
from quoteboard.kabu.protocol import Rejection, SymbolKey, decode_frame
from quoteboard.server import TestServer
from tests.app_support import make_app, screen_text, table_lines, wait_for
from tests.reliability.support import FeedLog, forward_to, scripted_station, wait_until

PRICE = 2512.5


def quote(**fields: object) -> str:
    return json.dumps({"Symbol": "7203", "Exchange": 1, "SymbolName": "トヨタ自動車", "CurrentPrice": PRICE,
                       "BidPrice": PRICE + 0.5, "AskPrice": PRICE, **fields})  # fmt: skip


def written(field: str, literal: str) -> str:
    """A quote with ``field`` written as ``literal`` (``NaN`` is not JSON: json.dumps would not write it)."""
    fields = json.loads(quote())
    del fields[field]
    return json.dumps(fields)[:-1] + f', "{field}": {literal}}}'


def nested(depth: int) -> str:
    """A quote with ``depth`` objects nested in an unknown field."""
    return quote()[:-1] + ', "Deep": ' + '{"a": ' * depth + "1" + "}" * depth + "}"


GOOD = quote()

#: (frame, a piece of the reason it is rejected with)
BAD_FRAMES = [
    pytest.param("not json {", "malformed", id="invalid-json"),
    pytest.param("[1, 2]", "got `array`", id="array"),
    pytest.param("42", "got `int`", id="number"),
    pytest.param('"7203"', "got `str`", id="string"),
    pytest.param("null", "got `null`", id="null"),
    pytest.param('{"Exchange": 1, "CurrentPrice": 2500}', "missing required field `Symbol`", id="no-symbol"),
    pytest.param(quote(Symbol=""), "empty `Symbol`", id="empty-symbol"),
    pytest.param(quote(Symbol=7203), "`$.Symbol`", id="symbol-as-number"),
    pytest.param(quote(CurrentPrice="abc"), "`$.CurrentPrice`", id="price-as-text"),
    pytest.param(quote(Exchange="one"), "`$.Exchange`", id="exchange-as-text"),
    pytest.param(quote(Sell1={"Price": "lots", "Qty": 100}), "`$.Sell1.Price`", id="book-price-as-text"),
    pytest.param(written("CurrentPrice", "NaN"), "malformed", id="NaN"),
    pytest.param(written("CurrentPrice", "Infinity"), "malformed", id="Infinity"),
    pytest.param(written("AskPrice", "-Infinity"), "malformed", id="-Infinity"),
    pytest.param(written("CurrentPrice", "1e999"), "out of range", id="overflow-to-infinity"),
    pytest.param(nested(5000), "recursion", id="5000-nested-objects"),
    pytest.param("{" * 5000, "malformed", id="5000-open-braces"),
    pytest.param("[" * 5000 + "]" * 5000, "got `array`", id="5000-nested-arrays"),
    pytest.param(b"\xff\xfe{\x00", "malformed", id="invalid-bytes"),
    pytest.param(b"", "truncated", id="empty-binary-frame"),
]


TOYOTA = SymbolKey("7203")


async def run_board_on(*scripts: list[str | bytes], until, watch=(TOYOTA,)) -> tuple[Board, FeedLog]:
    """KabuFeed -> Board from a scripted station until ``until(board, log)`` is true."""
    board = Board(watch)
    async with scripted_station(*scripts) as station:
        log = FeedLog(KabuFeed(station.base_url), board).start()
        try:
            await wait_until(lambda: until(board, log), what="the script to be read")
        finally:
            await log.stop()
    return board, log


@pytest.mark.parametrize(("frame", "reason"), BAD_FRAMES)
async def test_a_bad_frame_is_counted_with_its_reason_and_changes_nothing_shown(frame, reason):
    board, log = await run_board_on([frame, GOOD], until=lambda board, log: board.received == 1)
    assert board.rejected == 1 and log.feed.rejected == 1
    assert reason in board.last_rejection.reason
    assert list(board.rows) == [TOYOTA] and board.unwatched == 0
    row = board.rows[TOYOTA]
    assert row.quote.last == PRICE and list(row.history) == [PRICE]
    assert log.feed.connections == 1  # a bad frame does not cost the socket


@pytest.mark.parametrize(
    "field", ["CurrentPrice", "BidPrice", "AskPrice", "VWAP", "HighPrice", "TradingVolume"]
)
@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400"])
def test_a_non_finite_number_is_never_decoded_into_a_quote(field, value):
    frame = '{"Symbol": "7203", "Exchange": 1, "%s": %s}' % (field, value)  # noqa: UP031 (JSON braces)
    assert isinstance(decode_frame(frame), Rejection)
    book = '{"Symbol": "7203", "Exchange": 1, "Buy3": {"Price": %s, "Qty": 100}}' % value  # noqa: UP031
    assert isinstance(decode_frame(book), Rejection)


async def test_valid_json_in_a_binary_frame_is_a_quote():
    board, _ = await run_board_on([GOOD.encode()], until=lambda board, log: board.received == 1)
    assert board.rows[TOYOTA].quote.last == PRICE and board.rejected == 0


async def test_a_symbol_never_registered_is_counted_as_unwatched_and_gets_no_row():
    stray = quote(Symbol="9999", SymbolName="知らない銘柄", CurrentPrice=1.0)
    board, _ = await run_board_on([stray, GOOD], until=lambda board, log: board.received == 1)
    assert board.unwatched == 1 and board.rejected == 0
    assert list(board.rows) == [TOYOTA] and board.rows[TOYOTA].quote.last == PRICE


@pytest.mark.parametrize(
    "big",
    [
        pytest.param("x" * (MAX_FRAME + 1), id="garbage"),
        pytest.param(quote(SymbolName="長" * (MAX_FRAME // 3 + 1)), id="valid-json"),
    ],
)
async def test_a_frame_over_1_mib_costs_the_socket_is_counted_and_the_feed_reconnects(big):
    after = quote(CurrentPrice=PRICE + 1)
    board, log = await run_board_on([GOOD, big], [after], until=lambda board, log: board.received == 2)
    assert log.feed.connections == 2
    assert board.rejected == 1 and "1,048,576-byte limit" in board.last_rejection.reason
    closed = next(s for s in log.statuses if s.state == "reconnecting")
    assert "limit" in closed.detail and "1009" in closed.detail
    assert board.rows[TOYOTA].quote.last == PRICE + 1 and list(board.rows[TOYOTA].history) == [
        PRICE,
        PRICE + 1,
    ]


# -- on the board ---------------------------------------------------------------------------------

SIZE = (160, 48)
MARKUP_NAME = "[red]Evil[/red] [link=x]"


async def test_the_board_survives_a_stream_of_every_bad_frame_and_shows_the_count(tmp_path: Path) -> None:
    bad = [param.values[0] for param in BAD_FRAMES]
    stray = quote(Symbol="9999", CurrentPrice=1.0)
    oversize = "x" * (MAX_FRAME + 1)
    first = [GOOD, *bad, stray, GOOD.encode(), oversize]
    last = quote(SymbolName=MARKUP_NAME, CurrentPrice=PRICE + 1)
    expected_rejections = len(bad) + 1  # and the oversize frame
    async with (
        scripted_station(first, [last], repeat_every=0.2) as station,
        TestServer(seed=1, rate_limit=None) as rest,
    ):
        # REST (token, register, the first snapshot) from the real test server, PUSH from the script.
        app = make_app(tmp_path, demo=False, password="pw", base_url=station.base_url,
                       symbols=[TOYOTA], rest_transport=forward_to(rest))  # fmt: skip
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.board.rejected == expected_rejections, what="every bad frame")
            await wait_for(pilot, lambda: app.feed.connections == 2 and app.feed.status.state == "live")
            await wait_for(pilot, lambda: app.board.rows[TOYOTA].quote.name == MARKUP_NAME)
            app.feed_control.update_status()
            await pilot.pause(0.3)  # a frame or two for the table and the panel
            bar = app.status_bar.text
            assert f"rejected {expected_rejections} (a frame over the 1,048,576-byte limit)" in bar
            assert "live" in bar and ", 1 for symbols not on the board" in bar  # the stray 9999
            assert app.table.order == [TOYOTA] and app.board.unwatched == 1
            row = app.board.rows[TOYOTA]
            # The script's prices last (before them, perhaps the real market's REST snapshot).
            assert row.quote.last == PRICE + 1 and list(row.history)[-2:] == [PRICE, PRICE + 1]
            assert all(math.isfinite(price) for price in row.history)
            line = table_lines(app)[1]
            assert MARKUP_NAME in line and "2,513.5" in line  # the name as sent, never read as markup
            assert f"7203@1  {MARKUP_NAME}" in screen_text(app)  # the panel's title too
            assert station.pings == []


async def test_text_from_the_station_reaches_the_screen_without_control_characters(tmp_path: Path) -> None:
    hostile = "悪\x1b[2J\x1b]0;owned\x07名\r前\x00\u202e"
    frames = [quote(SymbolName=hostile, CurrentPriceTime="2026-11-25T09:00:01\x1b[5m+09:00")]
    async with (
        scripted_station(frames, repeat_every=0.2) as station,
        TestServer(seed=1, rate_limit=None) as rest,
    ):
        app = make_app(tmp_path, demo=False, password="pw", base_url=station.base_url,
                       symbols=[TOYOTA], rest_transport=forward_to(rest))  # fmt: skip
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.feed.received > 0 and app.board.rows[TOYOTA].updates > 1)
            await pilot.pause(0.3)
            screen = screen_text(app)
            assert "悪" in screen and "owned" in screen  # shown, as text
            for control in ("\x1b", "\x07", "\r", "\x00", "\u202e"):
                assert control not in screen, repr(control)

"""The board state: latest quote wins, price moves, coalescing, bounded history."""

from __future__ import annotations

import json

from quoteboard.board.model import Board
from quoteboard.kabu.protocol import Quote, SymbolKey, decode_frame


def quote(symbol: str = "7203", last: float | None = 2500.0, status: str = "0056", t: float = 1.0) -> Quote:
    frame = {"Symbol": symbol, "Exchange": 1, "CurrentPrice": last, "CurrentPriceChangeStatus": status}
    decoded = decode_frame(json.dumps(frame), received_at=t)
    assert isinstance(decoded, Quote)
    return decoded


def test_rows_keep_the_order_they_were_added():
    board = Board([SymbolKey("9433"), SymbolKey("7203")])
    board.add(SymbolKey("6758"))
    board.add(SymbolKey("9433"))  # already there: unchanged
    assert list(board.rows) == [SymbolKey("9433"), SymbolKey("7203"), SymbolKey("6758")]


def test_latest_quote_wins_and_dirty_rows_coalesce():
    board = Board([SymbolKey("7203"), SymbolKey("9433")])
    board.take_dirty()
    for price in (2500.0, 2501.0, 2502.0):
        board.apply(quote(last=price))
    assert board.take_dirty() == {SymbolKey("7203")}
    assert board.take_dirty() == set()
    assert board.rows[SymbolKey("7203")].quote.last == 2502.0
    assert board.received == 3


def test_price_direction_and_flash():
    board = Board([SymbolKey("7203")])
    board.apply(quote(last=2500.0))
    row = board.rows[SymbolKey("7203")]
    assert row.direction == 0
    board.apply(quote(last=2499.0))
    assert row.direction == -1 and row.flashing(row.changed_at + 0.1)
    assert not row.flashing(row.changed_at + 0.6)
    board.apply(quote(last=2499.0))
    assert row.direction == -1  # unchanged price keeps the last move
    board.apply(quote(last=2505.0))
    assert row.direction == 1


def test_first_quote_direction_comes_from_the_tick_flag():
    board = Board([SymbolKey("7203")])
    board.apply(quote(last=2500.0, status="0057"))
    assert board.rows[SymbolKey("7203")].direction == 1


def test_history_is_bounded_and_only_records_price_changes():
    board = Board([SymbolKey("7203")], history=5)
    for i in range(20):
        board.apply(quote(last=2500.0 + i))
        board.apply(quote(last=2500.0 + i))
    assert list(board.rows[SymbolKey("7203")].history) == [2515.0, 2516.0, 2517.0, 2518.0, 2519.0]


def test_unwatched_quotes_and_rejections_are_counted_not_shown():
    board = Board([SymbolKey("7203")])
    assert board.apply(quote(symbol="9984")) is False
    board.reject(decode_frame(b"garbage"))
    assert (board.unwatched, board.rejected, board.received) == (1, 1, 0)
    assert SymbolKey("9984") not in board
    assert board.last_rejection is not None and "malformed" in board.last_rejection.reason


def test_null_price_keeps_the_row_and_history_clean():
    board = Board([SymbolKey("7203")])
    board.apply(quote(last=None))
    row = board.rows[SymbolKey("7203")]
    assert row.quote is not None and row.quote.last is None and not row.history


def test_removed_rows_are_not_dirty():
    board = Board([SymbolKey("7203")])
    board.apply(quote())
    assert board.remove(SymbolKey("7203")) is True
    assert board.take_dirty() == set()
    assert board.remove(SymbolKey("7203")) is False


def test_the_same_code_on_two_exchanges_is_two_rows():
    board = Board([SymbolKey("7203", 1), SymbolKey("7203", 3)])
    board.take_dirty()
    board.apply(decode_frame('{"Symbol": "7203", "Exchange": 3, "CurrentPrice": 2500.0}'))
    dirty = board.take_dirty()
    assert dirty == {SymbolKey("7203", 3)} and all(type(key) is SymbolKey for key in dirty)
    assert board.rows[SymbolKey("7203", 1)].quote is None
    assert board.rows[SymbolKey("7203", 3)].quote.last == 2500.0


def test_a_quote_without_an_exchange_is_filed_under_the_tse():
    board = Board([SymbolKey("7203", 1)])
    assert board.apply(decode_frame('{"Symbol": "7203", "CurrentPrice": 2500.0}')) is True
    assert board.rows[SymbolKey("7203", 1)].quote.last == 2500.0


def test_a_row_taken_off_comes_back_with_its_last_quote_and_history():
    board = Board([SymbolKey("7203"), SymbolKey("9433")])
    board.apply(quote(last=2500.0))
    board.apply(quote(last=2510.0))
    board.replace([SymbolKey("6758")])
    assert list(board.rows) == [SymbolKey("6758")]
    assert board.apply(quote(last=2520.0)) is False and board.unwatched == 1  # no longer expected
    board.replace([SymbolKey("9433"), SymbolKey("7203")])
    row = board.rows[SymbolKey("7203")]
    assert row.quote is not None and row.quote.last == 2510.0
    assert list(row.history) == [2500.0, 2510.0] and row.direction == 1
    assert board.rows[SymbolKey("9433")].quote is None  # never quoted: nothing kept
    assert list(board.rows) == [SymbolKey("9433"), SymbolKey("7203")]
    assert [r.order for r in board] == [1, 2]


def test_pinned_symbols_off_the_board_keep_fresh_and_are_not_strays():
    board = Board([SymbolKey("9433")])
    board.pinned = frozenset({SymbolKey("7203")})
    assert board.apply(quote(last=2500.0)) is False
    assert board.apply(quote(last=2490.0)) is False
    assert board.unwatched == 0 and board.received == 0
    parked = board.parked(SymbolKey("7203"))
    assert parked is not None and parked.quote is not None and parked.quote.last == 2490.0
    assert parked.direction == -1
    board.add(SymbolKey("7203"))
    assert board.rows[SymbolKey("7203")].quote.last == 2490.0
    assert board.parked(SymbolKey("7203")) is None


def test_parked_rows_are_bounded_the_oldest_going_first():
    from quoteboard.board.model import PARKED

    board = Board()
    for n in range(PARKED + 10):
        key = SymbolKey(f"{1000 + n}")
        board.add(key)
        board.apply(quote(symbol=key.code))
        board.remove(key)
    assert board.parked(SymbolKey("1000")) is None
    assert board.parked(SymbolKey(f"{1000 + PARKED + 9}")) is not None
    assert sum(board.parked(SymbolKey(f"{1000 + n}")) is not None for n in range(PARKED + 10)) == PARKED


def test_a_new_feed_forgets_parked_rows_too():
    board = Board([SymbolKey("7203")])
    board.apply(quote())
    board.remove(SymbolKey("7203"))
    board.forget_quotes()
    assert board.add(SymbolKey("7203")).quote is None

"""The board state of a quote: each sign and status, the day's limits, the indicative price."""

from __future__ import annotations

import msgspec
import pytest
from rich.cells import cell_len

from quoteboard.kabu.protocol import Quote, decode_frame
from quoteboard.kabu.reference import symbol_facts
from quoteboard.kabu.state import (
    AUCTION,
    CAUTION,
    CLOSED,
    CONTINUOUS,
    HALT,
    LEGEND,
    LIMIT_DOWN,
    LIMIT_UP,
    MARK_CELLS,
    PRE_OPEN,
    SPECIAL,
    WORDS_CELLS,
    Limits,
    board_state,
    indicative_price,
    shown_price,
)


def quote(**fields: object) -> Quote:
    """A quote decoded from Kabu's own names, so the reversed Bid/Ask naming is exercised too."""
    frame = {"Symbol": "7203", "Exchange": 1, **fields}
    decoded = decode_frame(msgspec.json.encode(frame))
    assert isinstance(decoded, Quote)
    return decoded


LIMITS = Limits(upper=3000.0, lower=2000.0)


@pytest.mark.parametrize(
    ("fields", "state"),
    [
        ({"CurrentPrice": 2500.0, "CurrentPriceStatus": 1, "BidSign": "0101", "AskSign": "0101"}, None),
        ({"BidSign": "0102", "AskSign": "0101"}, SPECIAL),
        ({"BidSign": "0101", "AskSign": "0102"}, SPECIAL),
        ({"BidSign": "0103", "AskSign": "0103"}, CAUTION),
        ({"BidSign": "0107", "AskSign": "0107"}, PRE_OPEN),
        ({"BidSign": "0116", "AskSign": "0116"}, PRE_OPEN),
        ({"BidSign": "0117", "AskSign": "0117"}, PRE_OPEN),
        ({"CurrentPrice": 2500.0, "CurrentPriceStatus": 6}, HALT),
        ({"BidSign": "0108"}, HALT),
        ({"AskSign": "0119"}, HALT),
        ({"BidSign": "0118", "AskSign": "0118"}, CONTINUOUS),
        ({"CurrentPrice": 2500.0, "CurrentPriceStatus": 3, "BidSign": "0101"}, AUCTION),
        ({"CurrentPrice": 2500.0, "CurrentPriceStatus": 3, "BidSign": "0109"}, CLOSED),
        # A trade at the limit, or the best buy (sell) quote waiting at it with no trade.
        ({"CurrentPrice": 3000.0, "CurrentPriceStatus": 1, "BidSign": "0101"}, LIMIT_UP),
        ({"AskPrice": 3000.0, "AskSign": "0102", "BidSign": "0102"}, LIMIT_UP),
        ({"CurrentPrice": 2000.0, "CurrentPriceStatus": 1}, LIMIT_DOWN),
        ({"BidPrice": 2000.0, "BidSign": "0102"}, LIMIT_DOWN),
        # A halt is said first, even at a limit.
        ({"CurrentPrice": 3000.0, "CurrentPriceStatus": 6}, HALT),
    ],
)
def test_each_sign_and_status_has_its_state(fields: dict[str, object], state: object) -> None:
    assert board_state(quote(**fields), LIMITS) == state


def test_without_the_limits_a_price_at_them_is_only_its_sign() -> None:
    at_upper = quote(CurrentPrice=3000.0, AskPrice=3000.0, AskSign="0102", BidSign="0102")
    assert board_state(at_upper, LIMITS) == LIMIT_UP
    assert board_state(at_upper) == SPECIAL
    assert board_state(at_upper, Limits(None, 2000.0)) == SPECIAL


def test_every_mark_fits_its_column_and_says_something_different() -> None:
    marks = [state.mark for state in LEGEND]
    assert all(0 < cell_len(mark) <= MARK_CELLS for mark in marks)
    assert len(set(marks)) == len(marks)
    assert all(0 < cell_len(state.words) <= WORDS_CELLS for state in LEGEND)


def test_the_limits_come_from_a_symbol_answer() -> None:
    def of(**answer: object) -> Limits | None:
        return Limits.of(symbol_facts({"Symbol": "7203", **answer}))

    assert of(UpperLimit=3000.0, LowerLimit=2000) == Limits(3000.0, 2000.0)
    assert of(UpperLimit=None, LowerLimit=0) is None  # an index: no limits
    assert of(UpperLimit=3000.0) == Limits(3000.0, None)


def test_before_the_open_the_price_shown_is_the_indicative_one_not_a_trade() -> None:
    crossed = quote(BidSign="0117", AskSign="0117", BidPrice=2500.0, AskPrice=2500.0)
    assert crossed.last is None
    assert indicative_price(crossed) == 2500.0
    assert shown_price(crossed) == 2500.0
    apart = quote(BidSign="0116", AskSign="0116", BidPrice=2510.0, AskPrice=2500.0)
    assert indicative_price(apart) is None and shown_price(apart) is None
    traded = quote(CurrentPrice=2490.0, BidSign="0117", BidPrice=2500.0, AskPrice=2500.0)
    assert indicative_price(traded) is None and shown_price(traded) == 2490.0
    general = quote(BidSign="0101", AskSign="0101", BidPrice=2500.0, AskPrice=2500.0)
    assert indicative_price(general) is None

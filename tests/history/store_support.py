"""Quotes and candle comparisons shared by the tick store's tests."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from quoteboard.history.candles import Candle
from quoteboard.kabu.protocol import Quote
from quoteboard.kabu.records import JST

OPEN = datetime(2026, 12, 3, 9, 0, 0, tzinfo=JST)


def quote(code: str, at: datetime, price: float, volume: float | None, **more: float | None) -> Quote:
    return Quote(symbol=code, exchange=1, last=price, time=at.isoformat(), volume=volume, **more)


def market(codes: list[str], seconds: int, seed: int = 1, start: datetime = OPEN) -> Iterator[Quote]:
    """Quotes of ``codes``, about two a second each, some that move nothing (only the book changed)."""
    rnd = random.Random(seed)
    state = {code: [1000.0 + 100 * i, 0.0] for i, code in enumerate(codes)}
    for second in range(seconds):
        at = start + timedelta(seconds=second)
        for code in codes:
            for _ in range(rnd.choice((1, 2, 3))):
                price, volume = state[code]
                if rnd.random() < 0.8:
                    price = round(price + rnd.choice((-0.5, 0.0, 0.5)), 1)
                    volume += rnd.randint(1, 30) * 100
                state[code] = [price, volume]
                vwap = round(price + rnd.uniform(-3, 3), 4)
                yield quote(code, at, price, volume, vwap=vwap, bid=price - 0.5, ask=price + 0.5)


def assert_same_candles(got: list[Candle], expected: list[Candle]) -> None:
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert (a.start, a.interval, a.open, a.high, a.low, a.close, a.volume, a.ticks) == (
            b.start, b.interval, b.open, b.high, b.low, b.close, b.volume, b.ticks,
        )  # fmt: skip
        assert a.day_vwap == b.day_vwap
        assert a.vwap == pytest.approx(b.vwap, rel=1e-12)

"""The TSE price grid and daily price limits, in integer tenths of a yen.

The tick table is the finer one the TSE uses for TOPIX100 constituents (Kabu's ``PriceRangeGroup``
10003): 0.1 yen up to 1,000 yen, 0.5 up to 3,000, 1 up to 10,000, 5 up to 30,000, 10 up to 100,000,
and so on. A price on a band's upper bound belongs to that band: the tick below 3,000 is 0.5, the tick
above it is 1. Coarser ticks are multiples of finer ones, so rounding down onto the grid stays on it.
"""

from __future__ import annotations

from typing import Final

__all__ = ["on_grid", "price_limit", "snap", "tick_above", "tick_down", "tick_size", "tick_up"]

#: (upper bound of the band, tick), both in tenths of a yen. TOPIX100 table.
_TICKS: Final[tuple[tuple[int, int], ...]] = (
    (10_000, 1),
    (30_000, 5),
    (100_000, 10),
    (300_000, 50),
    (1_000_000, 100),
    (3_000_000, 500),
    (10_000_000, 1_000),
    (30_000_000, 5_000),
    (100_000_000, 10_000),
    (300_000_000, 50_000),
)
_TOP_TICK: Final = 100_000

#: (base price below which, daily limit width), in yen. TSE 値幅制限.
_LIMITS: Final[tuple[tuple[int, int], ...]] = (
    (100, 30), (200, 50), (500, 80), (700, 100), (1_000, 150), (1_500, 300), (2_000, 400),
    (3_000, 500), (5_000, 700), (7_000, 1_000), (10_000, 1_500), (15_000, 3_000), (20_000, 4_000),
    (30_000, 5_000), (50_000, 7_000), (70_000, 10_000), (100_000, 15_000), (150_000, 30_000),
    (200_000, 40_000), (300_000, 50_000), (500_000, 70_000), (700_000, 100_000),
    (1_000_000, 150_000),
)  # fmt: skip


def tick_size(tenths: int) -> int:
    """The tick of the band ``tenths`` is in (a band's upper bound belongs to it), in tenths."""
    for bound, tick in _TICKS:
        if tenths <= bound:
            return tick
    return _TOP_TICK


def tick_above(tenths: int) -> int:
    """The tick between ``tenths`` and the next price up, in tenths."""
    for bound, tick in _TICKS:
        if tenths < bound:
            return tick
    return _TOP_TICK


def tick_up(tenths: int) -> int:
    return tenths + tick_above(tenths)


def tick_down(tenths: int) -> int:
    return tenths - tick_size(tenths)


def on_grid(tenths: int) -> bool:
    return tenths > 0 and tenths % tick_size(tenths) == 0


def snap(tenths: int) -> int:
    """Round down onto the grid (coarser ticks are multiples of finer ones, so this stays on it)."""
    tenths = max(tenths, 1)
    return tenths - tenths % tick_size(tenths)


def price_limit(prev_close_tenths: int) -> int:
    """The daily price limit width for a previous close, in tenths."""
    yen = prev_close_tenths / 10
    for below, width in _LIMITS:
        if yen < below:
            return width * 10
    return 300_000 * 10

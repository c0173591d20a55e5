"""The vendor's tick tables (呼値), by ``PriceRangeGroup``, as data. Sans-I/O.

Each table is the spec's ``SymbolSuccess.PriceRangeGroup`` table, read the vendor's way: a band is
"up to and including" its bound (10000: 3,000 yen and under ticks 1 yen, above it 5), the last band
has no bound. Futures and some indices tick the same at any price.
"""

from __future__ import annotations

from typing import Final

__all__ = ["GROUP_NAMES", "TICK_TABLES", "tick_size"]

#: A band: (highest price in it, or None for no bound; its tick), in yen.
Band = tuple[float | None, float]

TICK_TABLES: Final[dict[str, tuple[Band, ...]]] = {
    "10000": (
        (3_000, 1), (5_000, 5), (30_000, 10), (50_000, 50), (300_000, 100), (500_000, 500),
        (3_000_000, 1_000), (5_000_000, 5_000), (30_000_000, 10_000), (50_000_000, 50_000),
        (None, 100_000),
    ),
    "10003": (
        (1_000, 0.1), (3_000, 0.5), (10_000, 1), (30_000, 5), (100_000, 10), (300_000, 50),
        (1_000_000, 100), (3_000_000, 500), (10_000_000, 1_000), (30_000_000, 5_000),
        (None, 10_000),
    ),
    "10004": (
        (10_000, 1), (30_000, 5), (100_000, 10), (300_000, 50), (1_000_000, 100), (3_000_000, 500),
        (10_000_000, 1_000), (30_000_000, 5_000), (None, 10_000),
    ),
    "10118": ((None, 10),),
    "10119": ((None, 5),),
    "10318": ((300, 1), (None, 5)),
    "10326": ((300, 1), (None, 5)),
    "10706": ((None, 0.25),),
    "10718": ((None, 0.5),),
    "12122": ((None, 5),),
    "14473": ((None, 1),),
    "14515": ((None, 0.05),),
    "15411": ((None, 1),),
    "15569": ((None, 0.5),),
    "17163": ((None, 0.5),),
}  # fmt: skip

#: What each group is for, as the spec says.
GROUP_NAMES: Final = {
    "10000": "stock",
    "10003": "TOPIX500 stock",
    "10004": "ETF, unit 1",
    "10118": "Nikkei 225 futures",
    "10119": "Nikkei 225 mini",
    "10318": "Nikkei 225 options",
    "10326": "Nikkei 225 mini options",
    "10706": "mini TOPIX futures",
    "10718": "TOPIX futures",
    "12122": "JPX-Nikkei 400 futures",
    "14473": "DJIA futures",
    "14515": "Nikkei VI futures",
    "15411": "Growth 250 futures",
    "15569": "TSE REIT futures",
    "17163": "TOPIX Core30 futures",
}


def tick_size(group: str, price: float) -> float | None:
    """The tick at ``price`` yen in ``group``'s table; None for a group the spec does not name."""
    for bound, tick in TICK_TABLES.get(group, ()):
        if bound is None or price <= bound:
            return tick
    return None

"""What the test station says about a symbol beyond its prices: its primary exchange
(``GET /primaryexchange/{CODE}``), its regulations (``GET /regulations/{CODE@EX}``) and whether it
can be sold on margin (the margin flags of ``/symbol``), in the vendor's schemas
(``PrimaryExchangeResponse``, ``RegulationsResponse``).

A few listed symbols carry regulations, of the kinds a real station reports (a short-selling
restriction, a raised margin deposit, a stock loan stop), dated around the market's own day so that
they are current whatever day the station runs. Neither call registers the symbol: only ``/board``
and ``/symbol`` do, at a real station.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import msgspec

__all__ = ["EXCHANGES", "REGULATED", "Regulation", "encode_regulations", "margin_flags", "regulations"]

#: Kabu's exchange codes, in the order a code's primary market is looked for.
EXCHANGES: Final = (1, 3, 5, 6)


class Regulation(msgspec.Struct, omit_defaults=True):
    """One item of ``RegulationsInfo``. A short-selling restriction has no dates and no level: the
    station sends ``null``; they are left out here, as the schema types them as plain values."""

    Exchange: int
    Product: int
    Side: str
    Reason: str
    LimitStartDay: str | None = None
    LimitEndDay: str | None = None
    Level: int | None = None


@dataclass(frozen=True, slots=True)
class _Rule:
    """A regulation of the catalogue, its dates in days from the market's day (None: no dates)."""

    exchange: int
    product: int
    side: str
    reason: str
    days: tuple[int, int] | None = None
    level: int | None = None


#: Codes that carry regulations. 7201: short selling restricted (空売り規制); 6920: a raised margin
#: deposit on new margin buys (増担保); 9984: the stock loan stopped (貸借申込停止), so no new
#: standard-margin sells, shown by its MarginSell flag too.
REGULATED: Final[dict[str, tuple[_Rule, ...]]] = {
    "7201": (_Rule(0, 4, "1", "空売り規制"),),
    "6920": (
        _Rule(0, 2, "2", "委託保証金率50%以上（うち現金20%以上）", (-3, 30), 1),
        _Rule(0, 3, "2", "委託保証金率50%以上（うち現金20%以上）", (-3, 30), 1),
    ),
    "9984": (
        _Rule(1, 8, "2", "品受停止（貸借申込停止銘柄（日証金規制））", (-10, 20), 2),
        _Rule(0, 2, "1", "新規売建停止（貸借申込停止）", (-10, 20), 2),
    ),
}
#: Codes whose new standard-margin (制度信用) sells are stopped.
_NO_MARGIN_SELL: Final = frozenset({"9984"})


def _day(today: datetime, days: int) -> str:
    """The spec's ``yyyy/MM/dd HH:mm``, at midnight ``days`` from ``today``."""
    return f"{today + timedelta(days=days):%Y/%m/%d} 00:00"


def regulations(code: str, today: datetime) -> list[Regulation]:
    """``RegulationsInfo`` for ``code`` on the market's day ``today`` (empty: none)."""
    answer = []
    for rule in REGULATED.get(code, ()):
        start = end = None
        if rule.days is not None:
            start, end = _day(today, rule.days[0]), _day(today, rule.days[1])
        answer.append(Regulation(rule.exchange, rule.product, rule.side, rule.reason, start, end, rule.level))
    return answer


def margin_flags(code: str) -> dict[str, bool]:
    """``MarginBuy``, ``MarginSell``, ``KCMarginBuy``, ``KCMarginSell`` of ``/symbol`` for ``code``."""
    return {
        "MarginBuy": True,
        "MarginSell": code not in _NO_MARGIN_SELL,
        "KCMarginBuy": True,
        "KCMarginSell": True,
    }


class _Regulations(msgspec.Struct):
    Symbol: str
    RegulationsInfo: list[Regulation]


def encode_regulations(code: str, info: list[Regulation]) -> bytes:
    """The ``RegulationsResponse`` JSON for ``code``."""
    return msgspec.json.encode(_Regulations(code, info))

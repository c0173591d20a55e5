"""The tick tables against the vendor's own: every band's bound and the price just past it, read from
the spec's ``PriceRangeGroup`` table in ``contract/kabusapi``."""

from __future__ import annotations

import re

import pytest

from quoteboard.kabu.ticks import GROUP_NAMES, TICK_TABLES, tick_size
from quoteboard.server import ticks as station_ticks
from tests.schemas import spec

_ROW = re.compile(r"<td>(\d+)</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>")


def vendor_rows() -> list[tuple[str, str, float]]:
    """(group, price level as the spec writes it, tick) for each row of the spec's table."""
    text = spec()["components"]["schemas"]["SymbolSuccess"]["properties"]["PriceRangeGroup"]["description"]
    return [(group, level.strip(), float(tick)) for group, level, tick in _ROW.findall(text)]


def vendor_groups() -> set[str]:
    text = spec()["components"]["schemas"]["SymbolSuccess"]["properties"]["PriceRangeGroup"]["description"]
    return set(re.findall(r"(\d{5})\s*[：:]", text))


def test_every_group_the_spec_names_has_a_table_and_a_name() -> None:
    assert vendor_groups() == set(TICK_TABLES) == set(GROUP_NAMES) == {row[0] for row in vendor_rows()}


@pytest.mark.parametrize(("group", "level", "tick"), vendor_rows())
def test_tick_size_matches_the_vendors_table_at_each_band_bound(group: str, level: str, tick: float) -> None:
    if level == "-":  # one tick at any price
        assert tick_size(group, 1) == tick_size(group, 123_456.75) == tick
        return
    bound = float(re.sub(r"[^\d]", "", level))
    if level.endswith("円以下"):
        assert tick_size(group, bound) == tick
        assert tick_size(group, bound - 0.05) == tick
        assert tick_size(group, bound + 0.05) != tick  # past the bound: the next band's tick
    else:
        assert level.endswith("円超"), level
        assert tick_size(group, bound) != tick
        assert tick_size(group, bound + 0.05) == tick
        assert tick_size(group, bound * 1_000) == tick


def test_a_group_the_spec_does_not_name_has_no_tick() -> None:
    assert tick_size("99999", 1_000) is None


@pytest.mark.parametrize("yen", [0.5, 999.9, 1_000, 1_000.1, 2_999.5, 3_000, 3_001, 10_000, 29_995,
                                 100_000, 2_999_500, 30_000_000, 45_000_000])  # fmt: skip
def test_the_test_stations_price_grid_is_the_vendors_10003(yen: float) -> None:
    tenths = round(yen * 10)
    assert station_ticks.tick_size(tenths) / 10 == tick_size("10003", yen)

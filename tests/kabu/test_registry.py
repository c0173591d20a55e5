"""The registration bookkeeping on its own: plain values in, plain values out, no event loop."""

from __future__ import annotations

import pytest

from quoteboard.kabu.errors import KabuError, SymbolLimitError
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.registry import DEFAULT_MAX_SYMBOLS, Registry

A, B, C, D = (SymbolKey(code) for code in ("7203", "9433", "6758", "9984"))
UNKNOWN = KabuError(4002001, "銘柄が見つからない", 400)


def test_watched_symbols_keep_the_order_they_were_added_in():
    registry = Registry([B, A])
    registry.watch([C, A])
    assert registry.watched == [B, A, C]
    registry.unwatch([A])
    assert registry.watched == [B, C] and not registry.is_watched(A)


def test_missing_is_what_is_watched_and_not_registered_at_the_station():
    registry = Registry([A, B, C])
    assert registry.missing() == [A, B, C]
    registry.station_lists([A, C, D])  # D: registered by another program on the same station
    assert registry.missing() == [B]
    assert registry.registered == [A, C, D] and registry.count() == f"3/{DEFAULT_MAX_SYMBOLS}"


def test_it_holds_a_symbol_watched_and_registered_only():
    registry = Registry([A, B])
    registry.station_lists([A, D])  # D: another program's, on the same station
    assert [registry.holds(key) for key in (A, B, D)] == [True, False, False]
    registry.unwatch([A])  # on its way out: its unregister not answered yet
    assert registry.is_registered(A) and not registry.holds(A)


def test_the_stations_answer_replaces_what_it_held():
    registry = Registry([A, B])
    registry.station_lists([A, B])
    registry.station_lists([A])  # an unregister answered with what remains
    assert registry.registered == [A] and registry.missing() == [B]


def test_a_board_snapshot_registers_its_symbol_silently():
    registry = Registry([A])
    registry.station_added(B)  # GET /board/B: Kabu registers B as a side effect
    assert registry.is_registered(B) and registry.registered == [B]
    registry.check_room([A])  # two of the limit's fifty
    assert Registry(limit=1).count() == "0/1"


def test_the_cap_counts_everything_registered_whoever_registered_it():
    registry = Registry(limit=3)
    registry.station_lists([A, B])
    registry.check_room([A, C])  # A is already counted: three in all
    with pytest.raises(SymbolLimitError) as caught:
        registry.check_room([C, D])
    assert caught.value.code == 4002006 and "at most 3" in str(caught.value)
    assert not caught.value.transient and caught.value.refuses_symbols


def test_a_refused_symbol_is_watched_no_more_and_remembered_with_the_answer():
    registry = Registry([A, B])
    registry.station_refused(B, UNKNOWN)
    assert registry.watched == [A] and registry.refused == {B: UNKNOWN}
    assert registry.missing() == [A]
    registry.watch([B])  # asked for again (on another feed, say): the old refusal is forgotten
    assert registry.refused == {} and registry.is_watched(B)


def test_a_symbol_the_station_had_lost_is_dropped_from_what_it_holds():
    registry = Registry([A, B])
    registry.station_lists([A, B])
    registry.unwatch([B])
    registry.station_dropped([B])  # 4001020: the station restarted since and did not hold it
    assert registry.registered == [A] and registry.watched == [A]


def test_a_failed_registration_is_due_for_a_retry_until_cleared():
    registry = Registry([A])
    assert not registry.retry_due
    registry.station_failed()
    assert registry.retry_due


def test_replacing_the_watch_forgets_refusals_and_keeps_the_new_order():
    registry = Registry([A])
    registry.station_refused(A, UNKNOWN)
    registry.replace_watch([C, B])
    assert registry.watched == [C, B] and registry.refused == {}

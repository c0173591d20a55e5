"""The sans-I/O alerts: rules, the book's firing, and alerts.toml (atomic, damaged file kept aside)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from quoteboard.alerts.book import Alert, AlertBook, AlertStore, Rule, alert_record, parse_rule
from quoteboard.kabu.protocol import Quote, SymbolKey, decode_frame
from quoteboard.kabu.state import Limits

TOYOTA = SymbolKey("7203")
KDDI = SymbolKey("9433")


def quote(last: float | None, *, symbol: str = "7203", pct: float | None = None, close: float | None = None,
          name: str = "トヨタ自動車", time: str = "2026-12-03T10:01:02+09:00") -> Quote:  # fmt: skip
    return Quote(symbol, name=name, exchange=1, last=last, change_pct=pct, prev_close=close, time=time)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (">1750", Rule(">", 1750)),
        ("<1700", Rule("<", 1700)),
        (" > 1,750.5 ", Rule(">", 1750.5)),
        ("+3%", Rule("+%", 3)),
        ("-2.5%", Rule("-%", 2.5)),
    ],
)
def test_rules_parse_and_print_as_typed(text: str, rule: Rule) -> None:
    assert parse_rule(text) == rule
    assert parse_rule(str(rule)) == rule


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "empty alert"),
        ("1750", "'1750' is not an alert: use >1750, <1700, +3%, -3%, limit-up, limit-down, special or open"),
        (">abc", "is not an alert"),
        (">1750%", "a price takes no %"),
        ("+3", "ends with %, such as +3%"),
        (">0", "must be above 0"),
        ("$(touch pwned)", "is not an alert"),
    ],
)
def test_bad_rules_are_refused_with_a_sentence(text: str, said: str) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        parse_rule(text)
    assert said in str(caught.value)


def test_a_price_alert_fires_once_on_the_quote_that_crosses_it() -> None:
    book = AlertBook()
    above = book.add(TOYOTA, parse_rule(">1750"))
    below = book.add(TOYOTA, parse_rule("<1700"))
    assert book.check(quote(1749.5)) is None
    assert book.check(quote(None)) is None  # no trade yet
    assert book.check(quote(1750.0)) == [above]  # at the threshold: "at or above"
    assert above.fired_price == 1750.0 and above.fired_at == "2026-12-03T10:01:02+09:00"
    assert above.name == "トヨタ自動車" and below.armed
    assert book.check(quote(1800.0)) is None  # once
    assert book.check(quote(1700.0)) == [below]
    assert book.armed_keys() == []


def test_an_alert_on_a_quote_without_its_own_time_fires_at_the_time_received_in_jst() -> None:
    book = AlertBook()
    received = book.add(TOYOTA, parse_rule(">1750"))
    untimed = quote(1751.0, time="")
    untimed.received_at = 1_700_000_000.25  # 2023-11-14 22:13:20 UTC
    assert book.check(untimed) == [received]
    assert received.fired_at == "2023-11-15T07:13:20+09:00"  # whatever the machine's own zone
    now = book.add(KDDI, parse_rule(">1"))
    assert book.check(quote(2.0, symbol="9433", time="")) == [now]  # not even received: now
    assert now.fired_at is not None and now.fired_at.endswith("+09:00")


def test_an_alert_armed_past_its_threshold_fires_on_the_first_quote() -> None:
    book = AlertBook()
    alert = book.add(TOYOTA, parse_rule(">1750"))
    assert book.check(quote(1800.0)) == [alert]


def test_percent_alerts_use_the_change_from_the_previous_close() -> None:
    book = AlertBook()
    up = book.add(TOYOTA, parse_rule("+3%"))
    down = book.add(TOYOTA, parse_rule("-3%"))
    assert book.check(quote(1020.0, pct=2.99)) is None
    assert book.check(quote(1030.0, pct=3.0)) == [up]
    # Without Kabu's percentage, it is computed from the previous close.
    assert book.check(quote(971.0, close=1000.0)) is None
    assert book.check(quote(970.0, close=1000.0)) == [down]


def test_other_symbols_and_rearm_and_remove() -> None:
    book = AlertBook()
    alert = book.add(TOYOTA, parse_rule(">1"))
    assert book.check(quote(5.0, symbol="9433")) is None
    assert book.armed_keys() == [TOYOTA]
    assert book.check(quote(5.0)) == [alert]
    later = book.add(TOYOTA, parse_rule(">100"))
    with pytest.raises(ValueError, match="7203@1 already has the alert >100"):
        book.add(TOYOTA, parse_rule(">100"))
    book.rearm(alert)
    assert alert.armed and alert.fired_price is None
    assert book.check(quote(5.0)) == [alert]
    book.remove(alert)
    assert book.of(TOYOTA) == [later] and book.armed_keys() == [TOYOTA]


def test_the_record_of_a_fired_alert() -> None:
    alert = Alert(TOYOTA, Rule(">", 1750), fired_price=1750.5, fired_at="2026-12-03T10:01:02+09:00", name="N")
    assert alert_record(alert) == {
        "symbol": "7203@1", "name": "N", "rule": ">1750", "price": "1750.5",
        "time": "2026-12-03T10:01:02+09:00",
    }  # fmt: skip
    assert alert.describe() == ">1750 fired at 1750.5 (10:01:02)"


def test_the_store_round_trips_armed_and_fired_alerts(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "sub" / "alerts.toml")
    assert store.load().book.alerts == [] and store.load().message is None
    book = AlertBook()
    book.add(TOYOTA, parse_rule(">1750"))
    fired = book.add(KDDI, parse_rule("-3%"))
    book.check(quote(4000.0, symbol="9433", pct=-4.0))
    assert store.save(book) is None
    loaded = store.load()
    assert loaded.message is None
    assert [(a.key, str(a.rule), a.fired_price, a.fired_at) for a in loaded.book] == [
        (TOYOTA, ">1750", None, None),
        (KDDI, "-3%", fired.fired_price, fired.fired_at),
    ]
    assert loaded.book.armed_keys() == [TOYOTA]
    assert not list(store.path.parent.glob("*.tmp"))


def test_a_damaged_file_is_kept_as_bak_and_the_usable_alerts_kept(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.toml")
    raw = '[[alerts]]\nsymbol = "7203@1"\nrule = ">1750"\n[[alerts]]\nsymbol = "7203@1"\nrule = "soon"\n'
    store.path.write_text(raw, encoding="utf-8")
    loaded = store.load()
    assert loaded.message is not None
    assert "'soon' is not an alert" in loaded.message and "alerts.toml.bak" in loaded.message
    assert [str(a.rule) for a in loaded.book] == [">1750"]
    assert (tmp_path / "alerts.toml.bak").read_text(encoding="utf-8") == raw
    assert store.load().message is None  # rewritten with what was usable
    # Not TOML at all: a second backup, the first is never overwritten.
    store.path.write_bytes(b"[[alerts\xff")
    loaded = store.load()
    assert loaded.book.alerts == [] and loaded.message is not None and "alerts.toml.bak.1" in loaded.message
    assert (tmp_path / "alerts.toml.bak.1").read_bytes() == b"[[alerts\xff"
    assert (tmp_path / "alerts.toml.bak").read_text(encoding="utf-8") == raw


def test_a_save_that_fails_is_a_sentence(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    store = AlertStore(tmp_path / "file" / "alerts.toml")  # its directory is a file
    failure = store.save(AlertBook())
    assert failure is not None and "could not save the alerts" in failure


def test_the_core_imports_without_textual() -> None:
    code = "import sys, quoteboard.alerts.book, quoteboard.alerts.command; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_several_alerts_on_one_symbol_fire_each_at_its_own_threshold() -> None:
    book = AlertBook()
    a, b, c = (book.add(TOYOTA, parse_rule(f">{price}")) for price in (1750, 1800, 1850))
    pct = book.add(TOYOTA, parse_rule("+5%"))
    assert book.check(quote(1749.0, pct=4.9)) is None
    assert book.check(quote(1810.0, pct=4.9)) == [a, b]
    assert book.check(quote(1820.0, pct=5.1)) == [pct]
    assert book.check(quote(1849.0, pct=5.5)) is None and c.armed
    assert book.check(quote(1850.0, pct=5.5)) == [c]
    assert book.armed_keys() == []


# -- the state rules ---------------------------------------------------------------------------------


def board(**fields: object) -> Quote:
    """A quote in Kabu's own names (its reversed Bid/Ask included)."""
    decoded = decode_frame(msgspec.json.encode({"Symbol": "7203", "Exchange": 1, **fields}))
    assert isinstance(decoded, Quote)
    return decoded


@pytest.mark.parametrize("name", ["limit-up", "limit-down", "special", "open", " Limit-Up "])
def test_a_state_rule_is_its_name_and_round_trips_the_file(tmp_path: Path, name: str) -> None:
    rule = parse_rule(name)
    assert str(rule) == name.strip().lower() and parse_rule(str(rule)) == rule
    store = AlertStore(tmp_path / "alerts.toml")
    book = AlertBook()
    book.add(SymbolKey("7203"), rule)
    assert store.save(book) is None
    assert [a.rule for a in store.load().book] == [rule]


LIMITS = {SymbolKey("7203"): Limits(3000.0, 2000.0)}


@pytest.mark.parametrize(
    ("rule", "before", "brings"),
    [
        ("special", {"CurrentPrice": 2500.0, "BidSign": "0101"}, {"AskPrice": 2600.0, "AskSign": "0102"}),
        ("limit-up", {"CurrentPrice": 2990.0}, {"CurrentPrice": 3000.0}),
        ("limit-up", {"CurrentPrice": 2990.0}, {"CurrentPrice": 2990.0, "AskPrice": 3000.0}),
        ("limit-down", {"CurrentPrice": 2010.0}, {"CurrentPrice": 2000.0}),
        ("open", {"BidSign": "0107", "OpeningPrice": None}, {"CurrentPrice": 2500.0, "OpeningPrice": 2500.0}),
    ],
)
def test_a_state_rule_fires_once_on_the_quote_that_brings_it(rule: str, before, brings) -> None:
    book = AlertBook()
    alert = book.add(SymbolKey("7203"), parse_rule(rule))
    assert book.check(board(**before), LIMITS.get) is None
    fired = book.check(board(**brings), LIMITS.get)
    assert fired == [alert] and alert.fired_price is not None
    assert book.check(board(**brings), LIMITS.get) is None  # once


def test_a_limit_rule_waits_for_the_limits_and_open_for_a_board_that_had_not_opened() -> None:
    book = AlertBook()
    up = book.add(SymbolKey("7203"), parse_rule("limit-up"))
    opened = book.add(SymbolKey("7203"), parse_rule("open"))
    at_limit = board(CurrentPrice=3000.0, OpeningPrice=2900.0)
    assert book.check(at_limit) is None  # no limits known: not at one, as far as the book knows
    assert book.check(at_limit, LIMITS.get) == [up]
    assert book.check(at_limit, LIMITS.get) is None and opened.armed  # opened before it was armed

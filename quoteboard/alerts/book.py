"""Price alerts, without I/O: the rules, the alerts, the book that checks quotes against them, and
``alerts.toml``.

A rule is one of ``>1750`` (last at or above 1,750), ``<1700`` (last at or below 1,700), ``+3%`` or
``-3%`` (change from the previous close at or beyond that), or a board state: ``limit-up`` and
``limit-down`` (the price at the day's limit, from ``GET /symbol``), ``special`` (a special quote,
特別気配) and ``open`` (the day's first trade: ``OpeningPrice`` goes from null to a value, the vendor's
own advice in kabusapi #1359). An :class:`Alert` is a symbol and a rule,
armed or fired. :class:`AlertBook` keeps the armed alerts in a dict by symbol, so checking a quote is
one dict lookup, and a symbol with no armed alert costs one miss.

An armed alert fires on the first quote that satisfies its rule: the quote that crosses the threshold,
or, for an alert armed while the price is already past it, the first quote after arming (a trader
setting ``>1750`` at 1,760 wants to hear about it now, not after a dip and a rise). It fires once,
then stays fired until it is re-armed or deleted. ``open`` fires only on the quote that brings the
open (one after a quote without it), never on a board that opened before it was armed; a limit rule
fires once the symbol's limits are known.

The file, ``alerts.toml`` in the config directory::

    [[alerts]]
    symbol = "7203@1"
    rule = ">1750"
    fired_price = 1751.0            # only once fired
    fired_at = "2026-12-03T10:01:02+09:00"

is kept by :class:`quoteboard.store.TomlStore` like the watchlist: written atomically, a damaged one
kept aside as ``alerts.toml.bak`` and the usable alerts kept, with a sentence for the user.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, NamedTuple, cast

from quoteboard.kabu.protocol import Quote, SymbolKey, parse_symbol
from quoteboard.kabu.records import JST
from quoteboard.kabu.state import Limits, at_limit, is_special
from quoteboard.store import Loaded, TomlStore

__all__ = [
    "FILE_NAME",
    "STATE_KINDS",
    "Alert",
    "AlertBook",
    "AlertStore",
    "AlertsLoaded",
    "LimitsOf",
    "Rule",
    "alert_record",
    "format_price",
    "parse_rule",
]

FILE_NAME: Final = "alerts.toml"
RULE_HELP: Final = "use >1750, <1700, +3%, -3%, limit-up, limit-down, special or open"
_RULE_RE: Final = re.compile(r"\s*([<>+-])\s*(\d[\d,]*(?:\.\d+)?|\.\d+)\s*(%?)\s*")
_HEADER: Final = (
    "# quoteboard's price alerts, rewritten whenever one is set, fires, is re-armed or deleted.\n"
    "# rule: >PRICE, <PRICE, +PCT%, -PCT%, limit-up, limit-down, special or open;\n"
    "# fired_price and fired_at once it has fired.\n"
)

Kind = Literal[">", "<", "+%", "-%", "limit-up", "limit-down", "special", "open"]
#: The rules on the board's state rather than a price: no threshold, written as their name.
STATE_KINDS: Final[frozenset[str]] = frozenset({"limit-up", "limit-down", "special", "open"})
#: Finds the day's price limits of a symbol (the board's symbol facts), or None when not known.
LimitsOf = Callable[[SymbolKey], Limits | None]


@dataclass(frozen=True, slots=True)
class Rule:
    """What an alert waits for: ``kind`` and ``threshold`` (a price, or a percentage)."""

    kind: Kind
    threshold: float

    def __str__(self) -> str:
        if self.kind in STATE_KINDS:
            return self.kind
        number = format_price(self.threshold)
        return f"{self.kind[0]}{number}%" if self.kind in ("+%", "-%") else f"{self.kind}{number}"

    def met(self, quote: Quote, limits: Limits | None = None, opened: bool = False) -> float | None:
        """The price the rule fires at on ``quote`` (its last), or None if it does not fire.

        ``limits`` are the symbol's for the day, ``opened`` whether ``quote`` brings the open."""
        kind = self.kind
        if kind in STATE_KINDS:
            if kind == "special":
                met = is_special(quote)
            elif kind == "open":
                met = opened
            else:
                met = at_limit(quote, limits) == (1 if kind == "limit-up" else -1)
            return _state_price(quote) if met else None
        last = quote.last
        if last is None:
            return None
        if kind == ">":
            return last if last >= self.threshold else None
        if kind == "<":
            return last if last <= self.threshold else None
        pct = quote.change_pct
        if pct is None:  # Kabu sends it; compute it when only the previous close came
            close = quote.prev_close
            if not close:
                return None
            pct = (last - close) / close * 100
        if kind == "+%":
            return last if pct >= self.threshold else None
        return last if pct <= -self.threshold else None


def _state_price(quote: Quote) -> float:
    """The price a state alert fired at: the last trade, else the best quote (a special quote, the
    pre-open), else the previous close."""
    for price in (quote.last, quote.bid, quote.ask, quote.prev_close):
        if price is not None:
            return price
    return 0.0


def parse_rule(text: str) -> Rule:
    """``>1750``, ``<1,700``, ``+3%``, ``-2.5%``, ``limit-up``, ``limit-down``, ``special``, ``open``.
    Raises ``ValueError`` with a message for the user."""
    name = text.strip().lower()
    if name in STATE_KINDS:
        return Rule(cast(Kind, name), 0.0)
    match = _RULE_RE.fullmatch(text)
    if match is None:
        shown = text.strip()
        if not shown:
            raise ValueError(f"empty alert: {RULE_HELP}")
        raise ValueError(f"{shown!r} is not an alert: {RULE_HELP}")
    sign, number, pct = match.groups()
    value = float(number.replace(",", ""))
    if sign in "<>":
        if pct:
            raise ValueError(f"{text.strip()!r}: a price takes no %: {RULE_HELP}")
        if value <= 0:
            raise ValueError(f"{text.strip()!r}: the price must be above 0")
        return Rule(">" if sign == ">" else "<", value)
    if not pct:
        raise ValueError(f"{text.strip()!r}: a change from the previous close ends with %, such as {sign}3%")
    if value <= 0:
        raise ValueError(f"{text.strip()!r}: the change must be above 0%")
    return Rule("+%" if sign == "+" else "-%", value)


def format_price(value: float) -> str:
    """``1750.0`` -> ``1750``, ``1750.5`` -> ``1750.5``: as a trader types it, never in e-notation."""
    value = float(value)  # an int from a hand-made Rule, say
    return str(int(value)) if value.is_integer() else repr(value)


@dataclass(slots=True, eq=False)
class Alert:
    """One alert: armed until it fires, then fired at ``fired_price`` (``fired_at``, ISO time)."""

    key: SymbolKey
    rule: Rule
    fired_price: float | None = None
    fired_at: str | None = None
    #: The symbol's name when it fired (for the notification and the command; not saved).
    name: str = ""

    @property
    def armed(self) -> bool:
        return self.fired_price is None

    def describe(self) -> str:
        """``>1750 armed`` or ``>1750 fired at 1751 (10:01:02)``."""
        if self.fired_price is None:
            return f"{self.rule} armed"
        when = f" ({self.fired_at[11:19]})" if self.fired_at and len(self.fired_at) >= 19 else ""
        return f"{self.rule} fired at {format_price(self.fired_price)}{when}"


def alert_record(alert: Alert) -> dict[str, str]:
    """The fired alert as the command's environment gets it: symbol (``7203@1``), name, rule, price
    and time, all text (``stream --alerts`` prints :func:`quoteboard.kabu.records.alert_line`)."""
    price = alert.fired_price
    return {
        "symbol": str(alert.key),
        "name": alert.name,
        "rule": str(alert.rule),
        "price": format_price(price) if price is not None else "",
        "time": alert.fired_at or "",
    }


class _Watch(NamedTuple):
    """A symbol's armed alerts folded into four bounds: no alert fires while ``low < last < high``
    and ``pct_low < change % < pct_high``, so most quotes cost a few float comparisons whatever the
    number of alerts (the alerts themselves are only looked at when a bound is reached)."""

    low: float  # the highest "<" threshold
    high: float  # the lowest ">" threshold
    pct_low: float  # minus the smallest "-N%"
    pct_high: float  # the smallest "+N%"
    has_pct: bool
    alerts: list[Alert]
    #: A state rule is armed: every quote is looked at (their few alerts each, see AlertBook.check).
    states: bool = False
    opens: bool = False


def _watch(alerts: list[Alert]) -> _Watch:
    inf = math.inf
    low, high, pct_low, pct_high = -inf, inf, -inf, inf
    states = opens = False
    for alert in alerts:
        kind, threshold = alert.rule.kind, alert.rule.threshold
        if kind in STATE_KINDS:
            states = True
            opens = opens or kind == "open"
        elif kind == ">":
            high = min(high, threshold)
        elif kind == "<":
            low = max(low, threshold)
        elif kind == "+%":
            pct_high = min(pct_high, threshold)
        else:
            pct_low = max(pct_low, -threshold)
    return _Watch(low, high, pct_low, pct_high, pct_low > -inf or pct_high < inf, alerts, states, opens)


@dataclass(slots=True)
class AlertBook:
    """Every alert, in the order set, and the armed ones by symbol for :meth:`check`."""

    alerts: list[Alert] = field(default_factory=list)
    _armed: dict[tuple[str, int], _Watch] = field(default_factory=dict, init=False, repr=False)
    #: Symbols with an armed ``open`` whose last quote had no open yet: the next one with it fires.
    _unopened: set[tuple[str, int]] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        self._index()

    def _index(self) -> None:
        armed: dict[tuple[str, int], list[Alert]] = {}
        for alert in self.alerts:
            if alert.armed:
                armed.setdefault(alert.key, []).append(alert)
        self._armed = {key: _watch(alerts) for key, alerts in armed.items()}

    def __iter__(self) -> Iterator[Alert]:
        return iter(self.alerts)

    def __len__(self) -> int:
        return len(self.alerts)

    def of(self, key: SymbolKey) -> list[Alert]:
        """``key``'s alerts, in the order they were set."""
        return [alert for alert in self.alerts if alert.key == key]

    def armed_keys(self) -> list[SymbolKey]:
        """The symbols that have an armed alert, in the order their first alert was set."""
        return [SymbolKey(*key) for key in self._armed]

    def add(self, key: SymbolKey, rule: Rule) -> Alert:
        """Arm a new alert. Raises ``ValueError`` (a sentence) if ``key`` already has that rule armed."""
        watch = self._armed.get(key)
        if watch is not None and any(alert.rule == rule for alert in watch.alerts):
            raise ValueError(f"{key} already has the alert {rule}")
        alert = Alert(key, rule)
        self.alerts.append(alert)
        self._armed[key] = _watch([*(watch.alerts if watch is not None else ()), alert])
        return alert

    def remove(self, alert: Alert) -> None:
        """Delete ``alert`` (armed or fired); nothing happens if it is not in the book."""
        if alert in self.alerts:
            self.alerts.remove(alert)
            self._index()

    def rearm(self, alert: Alert) -> None:
        """Arm a fired alert again: it fires on the next quote that satisfies its rule."""
        if alert.armed or alert not in self.alerts:
            return
        alert.fired_price = alert.fired_at = None
        self._index()

    def check(self, quote: Quote, limits_of: LimitsOf | None = None) -> list[Alert] | None:
        """The alerts ``quote`` fires, now marked fired; None (the usual case) when it fires none.
        ``limits_of`` finds a symbol's limits for the day (without it no limit rule fires).

        This runs for every quote: one dict lookup for a symbol without armed alerts, a few float
        comparisons for one whose alerts are not reached.
        """
        exchange = quote.exchange
        key = (quote.symbol, 1 if exchange is None else exchange)
        watch = self._armed.get(key)
        if watch is None:
            return None
        if watch.states:  # a state rule: each of the symbol's few alerts looks at the quote
            opened = False
            if watch.opens:
                opened = quote.open is not None and key in self._unopened
                if quote.open is None:
                    self._unopened.add(key)
                else:
                    self._unopened.discard(key)
            limits = limits_of(SymbolKey(*key)) if limits_of is not None else None
            return self._fire(quote, watch.alerts, limits, opened)
        last = quote.last
        if last is None:
            return None
        if watch.low < last < watch.high:
            if not watch.has_pct:
                return None
            pct = quote.change_pct
            if pct is None:  # (Kabu sends it; the rule computes it from the close if need be)
                close = quote.prev_close
                pct = (last - close) / close * 100 if close else 0.0
            if watch.pct_low < pct < watch.pct_high:
                return None
        return self._fire(quote, watch.alerts)

    def _fire(
        self, quote: Quote, armed: list[Alert], limits: Limits | None = None, opened: bool = False
    ) -> list[Alert] | None:
        fired: list[Alert] | None = None
        for alert in armed:
            price = alert.rule.met(quote, limits, opened)
            if price is None:
                continue
            alert.fired_price = price
            alert.fired_at = _fired_at(quote)
            alert.name = quote.name or ""
            fired = fired or []
            fired.append(alert)
        if fired:
            rest = [alert for alert in armed if alert.armed]
            if rest:
                self._armed[quote.key] = _watch(rest)
            else:
                del self._armed[quote.key]
        return fired


def _fired_at(quote: Quote) -> str:
    """The quote's own time (Kabu's ``CurrentPriceTime``), else when it was received, in JST like
    Kabu's own times (the machine's zone would put two clocks hours apart in one file)."""
    if quote.time:
        return quote.time
    moment = datetime.fromtimestamp(quote.received_at, JST) if quote.received_at else datetime.now(JST)
    return moment.isoformat(timespec="seconds")


# -- the file ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertsLoaded(Loaded[AlertBook]):
    """What :meth:`AlertStore.load` found, and a sentence for the user (None: nothing to say)."""

    @property
    def book(self) -> AlertBook:
        return self.value


class AlertStore(TomlStore[AlertBook]):
    """Reads and writes ``alerts.toml``; neither method raises because of the file or the disk."""

    file_name, what, header = FILE_NAME, "the alerts", _HEADER

    def load(self) -> AlertsLoaded:
        """The saved alerts (none, quietly, if there is no file). A damaged file is kept aside; one
        with unusable entries keeps the usable alerts (see :mod:`quoteboard.store.toml`)."""
        loaded = self.read()
        return AlertsLoaded(loaded.value, loaded.said("no alerts"), loaded.reset)

    def default(self) -> AlertBook:
        return AlertBook()

    def decode(self, data: dict[str, Any]) -> tuple[AlertBook, list[str]]:
        return _from_toml(data)

    def encode(self, value: AlertBook) -> dict[str, Any]:
        entries: list[dict[str, object]] = []
        for alert in value:
            entry: dict[str, object] = {"symbol": str(alert.key), "rule": str(alert.rule)}
            if alert.fired_price is not None:
                entry["fired_price"] = alert.fired_price
                entry["fired_at"] = alert.fired_at or ""
            entries.append(entry)
        return {"alerts": entries}


def _from_toml(data: dict[str, object]) -> tuple[AlertBook, list[str]]:
    problems: list[str] = []
    alerts: list[Alert] = []
    entries = data.get("alerts", [])
    if not isinstance(entries, list):
        return AlertBook(), ["alerts is not a list of [[alerts]] tables (ignored)"]
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            problems.append(f"alert {number} is not a table (dropped)")
            continue
        try:
            key = parse_symbol(str(entry.get("symbol", "")))
            rule = parse_rule(str(entry.get("rule", "")))
        except ValueError as exc:
            problems.append(f"alert {number}: {exc} (dropped)")
            continue
        price = entry.get("fired_price")
        if price is not None and (isinstance(price, bool) or not isinstance(price, int | float)):
            problems.append(f"alert {number}: fired_price {price!r} is not a price (armed again)")
            price = None
        fired_at = entry.get("fired_at")
        alerts.append(
            Alert(
                key,
                rule,
                float(price) if price is not None else None,
                str(fired_at) if price is not None and fired_at else None,
            )
        )
    problems.extend(f"unknown setting {name!r} (ignored)" for name in data if name != "alerts")
    return AlertBook(alerts), problems

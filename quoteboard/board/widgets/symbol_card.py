"""The symbol card, in the side panel: what the station says about the highlighted symbol once a day.

Trading unit, the tick at the current price (the vendor's table for its ``PriceRangeGroup``), the
day's price limits, whether it can be bought and sold on margin, its primary exchange and its
regulations. Each part is an answer, or in words why there is none yet ("reading…", the station's
refusal, a feed that cannot ask). The answers change once a day; only the tick follows the price, and
the card is drawn again only when what it says changes.

Narrow (the panel under the table, 80 columns), the facts share lines; beside the table, one a line.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar, Final

from rich.console import RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from quoteboard.board.model import Row
from quoteboard.board.widgets.columns import format_price
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.reference import PrimaryExchange, Regulation, SymbolFacts

__all__ = ["READING", "CardFacts", "SymbolCard"]

READING: Final = "reading…"
#: From this width the facts share lines (the panel under the table).
_WIDE: Final = 60
_LABEL: Final = 7
#: The tick groups of stocks and ETFs, whose unit is shares (a future's is contracts).
_STOCK_GROUPS: Final = frozenset({"10000", "10003", "10004"})

#: An answer, or in words why there is none (``READING`` while it is on the way).
Part = SymbolFacts | PrimaryExchange | tuple[Regulation, ...] | str


@dataclass(frozen=True, slots=True)
class CardFacts:
    """What the card says of ``key``: each part an answer, or why there is none."""

    key: SymbolKey
    symbol: SymbolFacts | str = READING
    primary: PrimaryExchange | str = READING
    regulations: tuple[Regulation, ...] | str = READING

    @classmethod
    def unavailable(cls, key: SymbolKey, why: str) -> CardFacts:
        return cls(key, why, why, why)

    @property
    def reading(self) -> bool:
        return READING in (self.symbol, self.primary, self.regulations)


def _margin(buy: bool | None, sell: bool | None) -> str:
    if buy is None and sell is None:
        return "—"
    allowed = [side for side, ok in (("buy", buy), ("sell", sell)) if ok]
    return " and ".join(allowed) if len(allowed) > 1 else f"{allowed[0]} only" if allowed else "neither"


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}" if value == int(value) else f"{value:,.2f}".rstrip("0")


class SymbolCard(Widget):
    """The card of one symbol: :meth:`show` its facts, :meth:`follow` its row's price."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "symbol-card--label",
        "symbol-card--up",
        "symbol-card--down",
        "symbol-card--rule",
        "symbol-card--error",
    }

    DEFAULT_CSS = """
    SymbolCard { height: auto; margin: 0 0 1 0; }
    SymbolCard > .symbol-card--label { color: $text-muted; }
    SymbolCard > .symbol-card--up { color: $quote-up-text; }
    SymbolCard > .symbol-card--down { color: $quote-down-text; }
    SymbolCard > .symbol-card--rule { text-style: bold; }
    SymbolCard > .symbol-card--error { color: $text-error; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.facts: CardFacts | None = None
        self.price: float | None = None

    @property
    def key(self) -> SymbolKey | None:
        return self.facts.key if self.facts is not None else None

    def show(self, facts: CardFacts | None) -> None:
        if facts != self.facts:
            self.facts = facts
            self.refresh(layout=True)

    def update_part(self, key: SymbolKey, **parts: Part) -> None:
        """Parts of ``key``'s card that came in (ignored if the card shows another symbol by now)."""
        if self.facts is not None and self.facts.key == key:
            self.show(replace(self.facts, **parts))  # type: ignore[arg-type]

    def follow(self, row: Row | None) -> None:
        """The row's price, for the tick at it: drawn again only when the tick line changes."""
        quote = row.quote if row is not None and row.key == self.key else None
        price = None if quote is None else quote.last if quote.last is not None else quote.prev_close
        if price != self.price:
            before = self.tick_text()
            self.price = price
            if self.tick_text() != before:  # (another length: it may take another line, or one less)
                self.refresh(layout=True)

    def tick_text(self) -> str:
        facts = self.facts.symbol if self.facts is not None else None
        if not isinstance(facts, SymbolFacts):
            return ""
        if self.price is None:
            return "— (no price yet)"
        tick = facts.tick_at(self.price)
        if tick is None:
            return f"— (no tick table for group {facts.price_range_group})"
        return f"{_number(tick)} at {format_price(self.price)}"

    @property
    def text(self) -> str:
        """What the card says, as plain text (its facts grouped as on a wide panel)."""
        return self._text().plain

    def render(self) -> RenderableType:
        if self.facts is None or self.size.width >= _WIDE:
            return self._text()
        # One fact a line, a long one wrapped under its value (a grid keeps the label column clear).
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=_LABEL, style=self._style("label"), no_wrap=True)
        grid.add_column(ratio=1, overflow="fold")
        for _group, label, value in self._items(self.facts):
            grid.add_row(label, value)
        return grid

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"symbol-card--{name}", partial=True)

    def _text(self) -> Text:
        """The card as text: the facts of a group on one line (the panel under the table)."""
        if self.facts is None:
            return Text()
        text = Text()
        group = None
        for item_group, label, value in self._items(self.facts):
            if group is not None:
                text.append(" · " if item_group == group else "\n")
            if label:
                text.append(f"{label} ", self._style("label"))
            text.append_text(value)
            group = item_group
        return text

    def _items(self, facts: CardFacts) -> list[tuple[int, str, Text]]:
        """(group, label, value) of each fact: basics 0, margin 1, each regulation one of its own."""
        error = self._style("error")

        def said(why: str) -> Text:
            return Text(why, error if why != READING else "")

        symbol = facts.symbol
        items: list[tuple[int, str, Text]] = []
        if isinstance(symbol, SymbolFacts):
            unit = _number(symbol.trading_unit)
            shares = symbol.trading_unit is not None and symbol.price_range_group in _STOCK_GROUPS
            items.append((0, "unit", Text(f"{unit} shares" if shares else unit)))
            items.append((0, "tick", Text(self.tick_text())))
            limits = Text()
            limits.append(format_price(symbol.lower_limit), self._style("down"))
            limits.append(" – ")
            limits.append(format_price(symbol.upper_limit), self._style("up"))
            items.append((0, "limits", limits))
        else:  # one reason for every part ("reading…", no card on this feed) is the card's
            whole = symbol == facts.primary == facts.regulations
            items.append((0, "card" if whole else "symbol", said(symbol)))
        primary = facts.primary
        if isinstance(primary, PrimaryExchange):
            items.append((0, "primary", Text(primary.name)))
        elif primary != symbol:  # one reason is said once
            items.append((0, "primary", said(primary)))
        if isinstance(symbol, SymbolFacts):
            standard = _margin(symbol.margin_buy, symbol.margin_sell)
            general = _margin(symbol.general_margin_buy, symbol.general_margin_sell)
            both = f"{standard}, standard and general" if standard == general else ""
            items.append((1, "margin", Text(both or f"standard {standard}, general {general}")))
        regulations = facts.regulations
        if isinstance(regulations, str):
            if regulations != symbol:
                items.append((2, "rules", said(regulations)))
        elif not regulations:
            items.append((2, "rules", Text("none")))
        else:
            for index, regulation in enumerate(regulations):
                items.append((2 + index, "" if index else "rules", self._regulation(regulation)))
        return items

    def _regulation(self, regulation: Regulation) -> Text:
        """What is restricted and how hard (in bold), the station's reason, the dates."""
        rule = self._style("rule")
        text = Text()
        text.append(regulation.describe(), rule)
        if regulation.level_name:
            text.append(f" · {regulation.level_name}", rule)
        text.append(f" {regulation.reason}")
        if regulation.dates:
            text.append(f" {regulation.dates}")
        return text

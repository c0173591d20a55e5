"""What the movers view shows of the rankings asked, without Textual: the last answer of each type
and market, kept when the station clears its ranking before the open (kabusapi #578)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from quoteboard.kabu.ranking import MARKETS, RANKING_TYPES, Ranking, RankingType
from quoteboard.kabu.records import JST

__all__ = ["MoversBook", "Shown"]

_MARKET_NAMES = dict(MARKETS)


@dataclass(frozen=True, slots=True)
class Shown:
    """A ranking to draw, when it was answered, and the line in words over it (or None)."""

    ranking: Ranking
    at: datetime
    note: str | None = None


class MoversBook:
    """The chosen type and market, and the last non-empty answer of each (type, market)."""

    def __init__(self) -> None:
        self.type_number = 1
        self.market = 0  # index in MARKETS
        self._held: dict[tuple[int, str], tuple[Ranking, datetime]] = {}
        self._cleared: dict[tuple[int, str], datetime] = {}
        self.shown: Shown | None = None

    @property
    def kind(self) -> RankingType:
        return RANKING_TYPES[self.type_number]

    @property
    def division(self) -> str:
        return MARKETS[self.market][0]

    @property
    def market_name(self) -> str:
        return _MARKET_NAMES[self.division]

    def step_type(self, by: int) -> None:
        numbers = list(RANKING_TYPES)
        self.type_number = numbers[(numbers.index(self.type_number) + by) % len(numbers)]
        self._show_held()

    def step_market(self, by: int) -> None:
        self.market = (self.market + by) % len(MARKETS)
        self._show_held()

    def _show_held(self) -> None:
        """The last answer of the type and market now chosen, until the fresh one comes."""
        held = self._held.get((self.type_number, self.division))
        self.shown = Shown(held[0], held[1], "asking the station again…") if held else None

    def take(self, ranking: Ranking, at: datetime) -> Shown:
        """An answer came at ``at``: what to show. An empty one keeps the last answer held, saying so."""
        key = (ranking.type.number, ranking.division)
        held = self._held.get(key)
        if ranking.movers:
            self._held[key] = (ranking, at)
            self._cleared.pop(key, None)
            shown = Shown(ranking, at)
        elif held is not None:
            cleared = self._cleared.setdefault(key, at)
            note = (f"the station cleared its ranking at {cleared.astimezone(JST):%H:%M}; "
                    f"showing the answer of {held[1].astimezone(JST):%H:%M}")  # fmt: skip
            shown = Shown(held[0], held[1], note)
        else:
            note = "no movers: the station lists none here (it clears its rankings from 07:53 to 09:00)"
            shown = Shown(ranking, at, note)
        if key == (self.type_number, self.division):
            self.shown = shown
        return shown

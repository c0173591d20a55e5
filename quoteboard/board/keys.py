"""The board's keys, said once: the app's bindings, the footer, the help screen and ``--help`` are all
made from :data:`BOARD_KEYS` (without Textual, so ``--help`` answers at once)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["BOARD_KEYS", "CHART_KEYS", "Key", "help_lines"]


@dataclass(frozen=True, slots=True)
class Key:
    """One key of the board. ``action`` is None for keys that Textual's widgets handle (moving the
    highlight, the palette): they are listed in the help but bound by no one here."""

    keys: str  # Textual's key names, comma-separated
    display: str  # as a user reads it
    label: str  # the footer's word
    help: str  # the help screen's sentence
    action: str | None = None
    show: bool = True  # in the footer


BOARD_KEYS: Final = (
    Key("a", "a", "Add", "focus the code input; Enter registers the code (7203 or 7203@1)", "add"),
    Key(
        "d,delete",
        "d / Delete",
        "Remove",
        "remove the highlighted symbol (unregisters it at the station)",
        "remove",
    ),
    Key(
        "f",
        "f",
        "Feed demo↔kabu",
        "switch feed: demo ↔ Kabu Station (asks for the API password if needed)",
        "switch_feed",
    ),
    Key("s", "s", "Sort", "cycle the sort: as added, code, change %, volume", "cycle_sort"),
    Key(
        "r",
        "r",
        "Reconnect",
        "reconnect the feed now (after it gave the station's socket up to another program, say)",
        "reconnect",
        show=False,
    ),
    Key(
        "left_square_bracket",
        "[",
        "Prev list",
        "show the previous watchlist (tabs above the table)",
        "previous_list",
        show=False,
    ),
    Key("right_square_bracket", "]", "Next list", "show the next watchlist", "next_list", show=False),
    Key(
        "n",
        "n",
        "New list",
        "make a watchlist, asking its name (rename and delete it from the command palette)",
        "new_list",
        show=False,
    ),
    Key(
        "exclamation_mark",
        "!",
        "Alert",
        "set an alert on the highlighted row: >1750, <1700, +3%, -3%, limit-up, limit-down, special "
        "or open (the panel lists its alerts: Tab to them, Delete deletes one, Enter re-arms a fired one)",
        "alert",
        show=False,
    ),
    Key(
        "p",
        "p",
        "Positions",
        "show the positions with live P&L in place of the table; p or Escape goes back",
        "positions",
        show=False,
    ),
    Key(
        "m",
        "m",
        "Movers",
        "show the market's movers (the station's rankings) in place of the table; m or Escape goes back",
        "screen.movers",
        show=False,
    ),
    Key("u", "u", "", "in the positions view: read the positions again now; in the movers: ask again"),
    Key(
        "left,right,e,E",
        "← → e E",
        "",
        "in the movers: the ranking type (← →) and the market (e, E); a or Enter adds the mover to the list",
    ),
    Key(
        "c",
        "c",
        "Chart",
        "chart the highlighted symbol: the day's candles, volume, previous close and VWAP",
        "screen.chart",
    ),
    Key("up,down,pageup,pagedown", "↑ ↓ PgUp PgDn", "", "move the highlight; the side panel shows its book"),
    Key(
        "escape",
        "Escape",
        "",
        "leave the input; close the help screen, the positions view, the movers or the chart",
    ),
    Key("ctrl+p", "Ctrl+P", "", "command palette: actions by name; colours: theme, Japanese, colour-blind"),
    Key("question_mark", "?", "Help", "the help screen", "help"),
    Key("q", "q", "Quit", "quit (the watchlist is saved as you go)", "quit"),
)


#: The chart's own keys (the chart screen binds them; the board's keys rest while it is shown).
CHART_KEYS: Final = (
    Key("1", "1", "1m", "in the chart: one-minute candles", "interval('1m')"),
    Key("2", "2", "5m", "in the chart: five-minute candles", "interval('5m')"),
    Key("3", "3", "15m", "in the chart: fifteen-minute candles", "interval('15m')"),
    Key("4", "4", "1h", "in the chart: hourly candles", "interval('1h')"),
    Key("5", "5", "1d", "in the chart: daily candles", "interval('1d')"),
    Key("escape,c", "Escape / c", "Back", "in the chart: back to the board", "close"),
)


def help_lines() -> list[tuple[str, str]]:
    """(key as written, what it does) for every key, in the help screen's order."""
    return [(key.display, key.help) for key in (*BOARD_KEYS, *CHART_KEYS)]

"""The status bar: which feed, whether it is live, how much is coming in, and what was thrown away.

Silence is normal for Kabu (nothing is pushed over the lunch break or after the close), so a quiet
live feed reads "no updates since 15:00:02" in a muted tone, not as an error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from quoteboard.feeds.contract import FeedStatus
from quoteboard.kabu.records import JST
from quoteboard.kabu.text import printable

__all__ = ["StatusBar", "StatusSnapshot"]

#: Kabu's zone: every time on the board is in it, labelled.
#: Cells the status detail (why a connection failed) keeps, cut at a word, before it is left out.
DETAIL_ROOM: Final = 24
#: A live feed with no message for this long is described as quiet.
QUIET_AFTER = 5.0

_STATE_STYLE = {
    "live": "bold green",
    "quiet": "green",  # lunch, after the close: normal, nothing alarming
    "connecting": "yellow",
    "reconnecting": "bold yellow",
    "stalled": "bold yellow",
    "unreachable": "bold red",
    "logged_out": "bold red",
    "wrong_password": "bold red",
    "taken": "bold red",
    "closed": "dim",
    "idle": "dim",
}


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    """Everything the bar shows, gathered by the app once or twice a second."""

    feed: str
    status: FeedStatus
    rate: float
    last_message_at: float | None
    rejected: int
    last_rejection: str | None
    symbols: int
    max_symbols: int
    sort: str
    #: Well-formed quotes for symbols not on the board (a symbol just removed, or never asked for).
    unwatched: int = 0
    #: The Kabu URL is a quoteboard relay's, not the station's.
    via_relay: bool = False
    #: Symbols of the list on screen and of alerts and positions past the station's cap.
    unregistered: int = 0


def clock_text(epoch: float) -> str:
    """The time of ``epoch`` in Tokyo as HH:MM:SS, whatever the machine's zone: the quotes' own
    times are Kabu's, in JST, and two clocks 9 h apart side by side mislead (snapshot tests pin it)."""
    return datetime.fromtimestamp(epoch, JST).strftime("%H:%M:%S")


def status_text(snap: StatusSnapshot, now: float | None = None, width: int | None = None) -> Text:
    """The bar's line; in ``width`` cells, its least useful parts are left out first, and a part
    that is still too long ends at a word, with an ellipsis."""
    now = time.time() if now is None else now
    # (priority, part) in display order: the highest priority number goes first when it is narrow.
    parts: list[tuple[int, Text]] = []
    label = Text()
    label.append(f" {snap.feed.upper()}{' via relay' if snap.via_relay else ''} ", style="bold reverse")
    status = snap.status
    state = status.state
    label.append(" ")
    label.append("● " + FeedStatus(state, "", status.attempt, status.delay).describe(),
                 style=_STATE_STYLE.get(state, ""))  # fmt: skip
    parts.append((0, label))
    parts.append((5, Text(f"{snap.rate:,.0f} msg/s")))
    if snap.last_message_at is None:
        parts.append((1, Text("no quotes yet", style="dim")))
    else:
        age = now - snap.last_message_at
        clock = f"{clock_text(snap.last_message_at)} JST"
        if age >= QUIET_AFTER:
            parts.append((1, Text(f"no updates since {clock}", style="dim")))
        else:
            parts.append((1, Text(f"last {clock}")))
    rejected = Text()
    if snap.rejected:
        rejected.append(f"rejected {snap.rejected}", style="bold yellow")
        if snap.last_rejection:
            rejected.append(f" ({printable(snap.last_rejection)})", style="yellow")
    else:
        rejected.append("rejected 0", style="dim")
    if snap.unwatched:
        rejected.append(f", {snap.unwatched:,} for symbols not on the board", style="dim")
    parts.append((2 if snap.rejected else 7, rejected))
    symbols = Text(f"{snap.symbols}/{snap.max_symbols} symbols")
    if snap.unregistered:
        over = f", {snap.unregistered} not registered (over the limit of {snap.max_symbols})"
        symbols.append(over, style="bold yellow")
    parts.append((2 if snap.unregistered else 4, symbols))
    parts.append((6, Text(f"sort: {snap.sort}")))
    if status.detail:
        # The detail (why a connection failed) can be long: it goes last so the counters stay in view.
        parts.append((3, Text(printable(status.detail), style=_STATE_STYLE.get(state, ""))))
    if width is not None:
        # The detail may be cut (at a word) once it has room for a few words; the rest go whole.
        detail = DETAIL_ROOM if status.detail else 0
        while len(parts) > 1 and _joined_width(parts, detail) > width:
            drop = max(range(len(parts)), key=lambda i: (parts[i][0], i))
            if parts[drop][0] == 0:
                break
            if status.detail and drop == len(parts) - 1:
                detail = 0
            del parts[drop]
    text = Text()  # (not Text.join: the separator's style would be the whole line's)
    for index, (_, part) in enumerate(parts):
        if index:
            text.append(_SEP, style="dim")
        text.append_text(part)
    text.no_wrap = True
    text.overflow = "ellipsis"
    if width is not None and text.cell_len > width:
        text = _cut_at_word(text, width)
    return text


def _joined_width(parts: list[tuple[int, Text]], last_at_most: int = 0) -> int:
    """The parts' width, joined, the last counted as ``last_at_most`` cells if that is set."""
    widths = [part.cell_len for _, part in parts]
    if last_at_most:
        widths[-1] = min(widths[-1], last_at_most)
    return sum(widths) + len(_SEP) * (len(parts) - 1)


_SEP = " │ "


def _cut_at_word(text: Text, width: int) -> Text:
    """``text`` in ``width`` cells, ending at the last space that fits and an ellipsis."""
    plain = text.plain
    end = width - 1
    while end > 0 and cell_len(plain[:end]) > width - 1:
        end -= 1
    space = plain.rfind(" ", 0, end + 1)
    cut = text[: space if space > 0 else end]
    cut.rstrip()
    cut.append("…")
    return cut


class StatusBar(Static):
    """One line under the board. The app calls :meth:`show` a couple of times a second."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.snapshot: StatusSnapshot | None = None
        self._shown: Text | None = None

    def show(self, snap: StatusSnapshot) -> None:
        self.snapshot = snap
        text = status_text(snap, width=self.size.width or None)
        if text == self._shown:  # a repaint redraws the footer and the containers around it too
            return
        self._shown = text
        # One line, always: no layout pass, which would lay the whole screen out again every second.
        self.update(text, layout=False)

    def on_resize(self) -> None:
        if self.snapshot is not None:
            self.show(self.snapshot)  # what fits is chosen for the width

    @property
    def text(self) -> str:
        """All of the bar's text, as if it were wide enough."""
        return status_text(self.snapshot).plain if self.snapshot else ""

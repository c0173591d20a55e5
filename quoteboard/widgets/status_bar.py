"""The status bar: which feed, whether it is live, how much is coming in, and what was thrown away.

Silence is normal for Kabu (nothing is pushed over the lunch break or after the close), so a quiet
live feed reads "no updates since 15:00:02" in a muted tone, not as an error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from quoteboard.feeds.contract import FeedStatus
from quoteboard.kabu.text import printable

__all__ = ["StatusBar", "StatusSnapshot"]

#: A live feed with no message for this long is described as quiet.
QUIET_AFTER = 5.0

_STATE_STYLE = {
    "live": "bold green",
    "connecting": "yellow",
    "reconnecting": "bold yellow",
    "error": "bold red",
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
    """Local wall-clock time of ``epoch`` as HH:MM:SS (snapshot tests pin it)."""
    return time.strftime("%H:%M:%S", time.localtime(epoch))


def status_text(snap: StatusSnapshot, now: float | None = None) -> Text:
    now = time.time() if now is None else now
    sep = Text(" │ ", style="dim")
    text = Text()
    text.append(f" {snap.feed.upper()}{' via relay' if snap.via_relay else ''} ", style="bold reverse")
    text.append(" ")
    status = snap.status
    state = status.state
    # The detail (why a connection failed) can be long: it goes last so the counters stay in view.
    text.append("● " + FeedStatus(state, "", status.attempt, status.delay).describe(),
                style=_STATE_STYLE.get(state, ""))  # fmt: skip
    text.append_text(sep)
    text.append(f"{snap.rate:,.0f} msg/s")
    text.append_text(sep)
    if snap.last_message_at is None:
        text.append("no quotes yet", style="dim")
    else:
        age = now - snap.last_message_at
        clock = clock_text(snap.last_message_at)
        if age >= QUIET_AFTER:
            text.append(f"no updates since {clock}", style="dim")
        else:
            text.append(f"last {clock}")
    text.append_text(sep)
    if snap.rejected:
        text.append(f"rejected {snap.rejected}", style="bold yellow")
        if snap.last_rejection:
            text.append(f" ({printable(snap.last_rejection)})", style="yellow")
    else:
        text.append("rejected 0", style="dim")
    if snap.unwatched:
        text.append(f", {snap.unwatched:,} for symbols not on the board", style="dim")
    text.append_text(sep)
    text.append(f"{snap.symbols}/{snap.max_symbols} symbols")
    if snap.unregistered:
        over = f", {snap.unregistered} not registered (over the limit of {snap.max_symbols})"
        text.append(over, style="bold yellow")
    text.append_text(sep)
    text.append(f"sort: {snap.sort}")
    if status.detail:
        text.append_text(sep)
        text.append(printable(status.detail), style=_STATE_STYLE.get(state, ""))
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


class StatusBar(Static):
    """One line under the board. The app calls :meth:`show` a couple of times a second."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.snapshot: StatusSnapshot | None = None

    def show(self, snap: StatusSnapshot) -> None:
        self.snapshot = snap
        # One line, always: no layout pass, which would lay the whole screen out again every second.
        self.update(status_text(snap), layout=False)

    @property
    def text(self) -> str:
        return status_text(self.snapshot).plain if self.snapshot else ""

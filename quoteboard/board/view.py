"""The board's widgets as the controllers see them, and the message they say things with.

The widgets are made once, with the app, so that a controller holds the ones it drives (the table,
the panel, the status bar...) instead of reaching for them through the app: none of them holds a
controller or the app. :class:`Outcome` is what a controller or one of its workers has to say in the
register panel (tests watch it with ``run_test(message_hook=...)``).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from quoteboard.board.model import Board
from quoteboard.board.movers import MoversBook
from quoteboard.board.positions import PositionBook
from quoteboard.board.widgets.list_tabs import ListTabs
from quoteboard.board.widgets.movers_view import MoversView
from quoteboard.board.widgets.positions_view import PositionsView
from quoteboard.board.widgets.quote_table import QuoteTable
from quoteboard.board.widgets.register_panel import RegisterPanel, Tone
from quoteboard.board.widgets.status_bar import StatusBar

__all__ = ["BoardWidgets", "Outcome"]


@dataclass
class Outcome(Message):
    """What a REST call came to (or a feed said), for the register panel."""

    text: str
    tone: Tone = "info"


class BoardWidgets:
    """The widgets of the main screen, on ``board`` (the table's rows) and ``positions``."""

    def __init__(self, board: Board, positions: PositionBook) -> None:
        self.tabs = ListTabs(id="tabs")
        self.table = QuoteTable(board, id="table")
        self.positions = PositionsView(positions, id="positions")
        self.movers = MoversView(MoversBook(), id="movers")
        self.panel = RegisterPanel(id="panel")
        self.status_bar = StatusBar(id="status")

"""Snapshots of rows in each board state, their marks beside Last, under each palette and on a wide
and a small screen. The frozen market holds one stock in each state before the board starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from quoteboard.board.colours import PALETTES
from quoteboard.board.widgets import status_bar
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.state import board_state
from quoteboard.server import TestServer
from tests.app_support import frozen_demo_server, make_app, table_lines, wait_for
from tests.test_snapshots import card_read

#: One stock in each state the test station can hold.
HELD = {
    "7203": "special",
    "9433": "caution",
    "6758": "pre-open",
    "9984": "halt",
    "8306": "continuous",
    "7974": "auction",
    "6861": "limit-up",
    "4063": "limit-down",
}
SYMBOLS = [SymbolKey(code) for code in HELD]


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(status_bar, "clock_text", lambda epoch: "15:00:02")


def held_server() -> TestServer:
    server = frozen_demo_server()
    for code, state in HELD.items():
        server.kabu.market.hold(f"{code}@1", state)
    return server


def marked(app) -> bool:
    rows = list(app.board)
    return (
        all(row.quote is not None and board_state(row.quote, app.facts.limits(row.key)) for row in rows)
        and not any("waiting" in line for line in table_lines(app))
        and app.panel.shown_key == app.table.cursor_key
        and card_read(app)
    )


@pytest.mark.parametrize("palette", PALETTES)
@pytest.mark.parametrize("size", [(160, 48), (80, 24)], ids=["160x48", "80x24"])
def test_every_state_has_its_mark(snap_compare, tmp_path: Path, palette: str, size) -> None:
    app = make_app(tmp_path, demo_server=held_server, symbols=SYMBOLS)

    async def settle(pilot) -> None:
        app.set_palette(palette, save=False)  # type: ignore[arg-type]
        await wait_for(pilot, lambda: marked(app), what="every row marked")
        app.panel.show_row(app.board.rows[app.table.cursor_key])  # its words, with the limits known
        await pilot.pause(0.6)

    assert snap_compare(app, terminal_size=size, run_before=settle)

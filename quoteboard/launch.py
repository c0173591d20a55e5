"""Starting the board from the command line: the store, the feed and, for ``--replay``, the recording.

:func:`run_board` is what ``quoteboard [--demo | --kabu | --replay FILE]`` calls. A replay goes through
the same embedded test server as the demo (so the same client code path), pushing the recording
instead of the simulated market; a replayed board shows the recording's symbols and leaves the saved
watchlist alone.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quoteboard.app import QuoteboardApp
from quoteboard.kabu.protocol import SymbolKey, parse_symbol
from quoteboard.kabu.rest import DEFAULT_MAX_SYMBOLS
from quoteboard.record import RecordingError
from quoteboard.secret import Secret
from quoteboard.watchlist import WatchlistStore

if TYPE_CHECKING:
    from quoteboard.server import TestServer
    from quoteboard.server.replay import Replay

__all__ = ["replay_options", "run_board"]


def run_board(
    *,
    demo: bool,
    password: Secret | None,
    base_url: str,
    symbols: list[SymbolKey],
    replay: Path | None = None,
    speed: float = 1.0,
    record: Path | None = None,
) -> int:
    """Run the board until the user quits; returns the exit status."""
    options: dict[str, Any] = {"store": WatchlistStore()}
    if replay is not None:
        try:
            options = replay_options(replay, speed)
        except RecordingError as exc:
            print(f"quoteboard: {exc}", file=sys.stderr)
            return 1
        skipped = options["demo_server"].first.skipped
        if skipped:
            print(f"quoteboard: replay skips {skipped} bad lines of {replay}", file=sys.stderr)
        recorded = options.pop("recorded")
        symbols = symbols or recorded
        demo = True
    app = QuoteboardApp(demo=demo, password=password, base_url=base_url, symbols=symbols, record=record,
                        tune_gc=True, **options)  # fmt: skip
    app.run()
    return app.return_code or 0


class _ReplayServers:
    """Makes the embedded server for a replay: the first from the replay already opened (and
    checked), each later one (after a switch to Kabu and back) from the file again, from the start."""

    def __init__(self, path: Path, speed: float) -> None:
        from quoteboard.server.replay import Replay

        self.path = path
        self.speed = speed
        self.first = Replay.open(path, speed)  # reads the file through once: a bad one fails here
        self._unused: Replay | None = self.first

    def __call__(self) -> TestServer:
        from quoteboard.server import TestServer
        from quoteboard.server.replay import Replay

        replay, self._unused = self._unused or Replay.open(self.path, self.speed), None
        return TestServer(replay=replay)


def replay_options(path: Path, speed: float = 1.0) -> dict[str, Any]:
    """QuoteboardApp options for ``--replay``: the embedded server pushes the recording, and the
    board leaves the saved watchlist alone. ``recorded`` (not an app option) lists the recording's
    symbols for the board to show. Raises RecordingError for a file that cannot be replayed."""
    servers = _ReplayServers(path, speed)
    recorded = [key for key in map(_symbol_or_none, servers.first.symbols) if key is not None]
    return {
        "demo_server": servers,
        "demo_name": "replay",
        "store": None,
        "recorded": recorded[:DEFAULT_MAX_SYMBOLS],
    }


def _symbol_or_none(text: str) -> SymbolKey | None:
    try:
        return parse_symbol(text)
    except ValueError:
        return None

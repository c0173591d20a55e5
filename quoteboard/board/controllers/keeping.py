"""What the board keeps of each feed it runs: its frames in the ``--record`` file, its quotes in the
tick store (:mod:`quoteboard.history.keeping` says which store, and when none)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from textual.app import App

from quoteboard.feeds.contract import Feed
from quoteboard.feeds.source import Kind
from quoteboard.history.keeping import HistoryKeeper, HistoryOptions
from quoteboard.history.recording import Recorder, RecordingError
from quoteboard.history.source import CandleSource

__all__ = ["FeedKeeping"]


class FeedKeeping:
    """The recorder and the tick store's writer of the current feed; problems are notifications,
    and the board goes on without what failed."""

    def __init__(self, host: App[Any], record: Path | None, history: HistoryOptions | None) -> None:
        self.host = host
        self._record_path = record
        self._recorder: Recorder | None = None
        said = partial(host.notify, title="history", timeout=15, markup=False)
        self.keeper = HistoryKeeper(history, on_error=partial(said, severity="error"), on_note=said)

    def record(self, feed: Feed) -> None:
        """Append every frame ``feed`` receives to the --record file (a new header per feed)."""
        if self._record_path is None:
            return
        try:
            recorder = Recorder(self._record_path, feed.registry.watched, source=feed.name)
        except RecordingError as exc:
            self.host.notify(str(exc), title="not recording", severity="error", timeout=15)
            self._record_path = None
            return
        self._recorder = recorder
        # A recording that stops (the disk filled up, say) is said: the board goes on without it.
        stopped = partial(self.host.notify, title="recording stopped", severity="error", timeout=15)
        feed.events.frame.subscribe(recorder.writer(stopped))

    async def keep_history(self, feed: Feed, kind: Kind) -> CandleSource | None:
        """Write ``feed``'s quotes to the tick store if this board holds the station's socket."""
        return await self.keeper.keep(feed, kind)

    async def stop(self) -> None:
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None
        await self.keeper.stop()

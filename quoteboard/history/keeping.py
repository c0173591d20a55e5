"""Who writes the tick store: whoever holds the station's socket.

The relay, and a board or ``stream`` connected to a station directly, write every quote that moved
to the station's store; the demo and replays write to a store of their own (made-up days never mix
with real ones), emptied when each starts (a new run is a new made-up market). A board or
``stream`` behind a relay, or on NATS, writes nothing: the relay does.
``--keep-days N`` and ``--no-history`` (:class:`HistoryOptions`, or None) come from the command line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from quoteboard.feeds.contract import Feed, RelayAware
from quoteboard.feeds.source import Kind
from quoteboard.history.store import DEMO_FILE, STATION_FILE, StoreCandles, data_dir
from quoteboard.history.writer import DEFAULT_KEEP_DAYS, TickWriter

__all__ = ["HistoryKeeper", "HistoryOptions"]


@dataclass(frozen=True, slots=True)
class HistoryOptions:
    """``--keep-days``; ``directory`` None is :func:`~quoteboard.history.store.data_dir`."""

    keep_days: int = DEFAULT_KEEP_DAYS
    directory: Path | None = None

    def path(self, kind: Kind) -> Path:
        """The store a feed of ``kind`` writes: a station's, or the demo's (the demo, a replay)."""
        directory = self.directory if self.directory is not None else data_dir()
        return directory / (STATION_FILE if kind == "kabu" else DEMO_FILE)


class HistoryKeeper:
    """The tick store's writer for whichever feed runs (a board switches feeds): :meth:`keep` one,
    :meth:`stop` it. ``on_error`` gets the one line said when the store cannot be written, ``on_note``
    one about a damaged file moved aside; both on the event loop."""

    def __init__(
        self,
        options: HistoryOptions | None,
        *,
        on_error: Callable[[str], object],
        on_note: Callable[[str], object] | None = None,
    ) -> None:
        self.options = options
        self.on_error = on_error
        self.on_note = on_note
        #: The writer of the current feed, while it writes one.
        self.writer: TickWriter | None = None

    async def keep(self, feed: Feed, kind: Kind) -> StoreCandles | None:
        """Write ``feed``'s quotes to its store if this process holds the station's socket; returns
        the candles of that store (None: this process writes none). Subscribe before the feed starts."""
        await self.stop()
        if self.options is None or kind == "nats":
            return None
        if kind == "kabu" and isinstance(feed, RelayAware) and await feed.relay_status() is not None:
            return None  # the relay writes the station's store
        path, keep_days = self.options.path(kind), self.options.keep_days
        # The demo (or a replay) is a market made up anew by each run: its store holds this run's
        # only, or a chart would join the last run's prices to this one's.
        writer = TickWriter(
            path, keep_days=keep_days, on_error=self.on_error, on_note=self.on_note, fresh=kind != "kabu"
        )
        writer.attach(feed.events.quote)
        self.writer = writer
        return StoreCandles(path)

    async def stop(self) -> None:
        """Commit what the current writer holds and stop it."""
        writer, self.writer = self.writer, None
        if writer is not None:
            await writer.aclose()

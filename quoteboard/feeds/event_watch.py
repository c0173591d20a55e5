"""The asyncio side of :class:`~quoteboard.feeds.events.EventFilter`: a feed's statuses in, with a
timer for the ``reconnecting`` grace; each event to a callback (``stream --events``' line) and to
``--event-command`` (:func:`quoteboard.hooks.run_hook`), whose failures go to another callback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from quoteboard.feeds.contract import Feed, FeedStatus
from quoteboard.feeds.events import RECONNECT_GRACE, Event, EventFilter, event_environment
from quoteboard.hooks import run_hook

__all__ = ["EventWatch"]


class EventWatch:
    """Watch a feed's events: :meth:`attach` a feed (another may follow: the filter goes on),
    :meth:`aclose` at the end. Call it in the loop that runs the feed."""

    def __init__(
        self,
        *,
        on_event: Callable[[Event], object] | None = None,
        command: list[str] | None = None,
        on_failure: Callable[[str], object] = print,
        grace: float = RECONNECT_GRACE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.filter = EventFilter(grace)
        self.on_event = on_event
        self.command = command
        self.on_failure = on_failure
        self.clock = clock
        self._feed: Feed | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._commands: set[asyncio.Task[None]] = set()

    def attach(self, feed: Feed) -> None:
        """Follow ``feed``'s statuses (and no longer the previous feed's)."""
        self.detach()
        self._feed = feed
        feed.events.status.subscribe(self._on_status)

    def detach(self) -> None:
        if self._feed is not None:
            self._feed.events.status.unsubscribe(self._on_status)
            self._feed = None

    async def aclose(self, *, wait: bool = True) -> None:
        """Stop watching; wait for the commands still running (each ends within its timeout), or
        with ``wait`` False stop them."""
        self.detach()
        if self._timer is not None:
            self._timer.cancel()
        if not wait:
            for task in self._commands:
                task.cancel()
        if self._commands:
            await asyncio.gather(*self._commands, return_exceptions=True)

    def _on_status(self, status: FeedStatus) -> None:
        self._tell(self.filter.status(status, self.clock()))
        self._arm()

    def _on_deadline(self) -> None:
        self._timer = None
        self._tell(self.filter.tick(self.clock()))
        self._arm()

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.filter.deadline()
        if deadline is not None:
            delay = max(0.0, deadline - self.clock())
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_deadline)

    def _tell(self, events: list[Event]) -> None:
        for event in events:
            if self.on_event is not None:
                self.on_event(event)
            if self.command is not None:
                task = asyncio.get_running_loop().create_task(self._run(self.command, event))
                self._commands.add(task)
                task.add_done_callback(self._commands.discard)

    async def _run(self, argv: list[str], event: Event) -> None:
        what = f"event command {argv[0]!r} for {event.event}"
        failure = await run_hook(argv, event_environment(event), what)
        if failure is not None:
            self.on_failure(failure)

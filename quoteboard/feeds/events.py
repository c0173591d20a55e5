"""The station's changes of state worth telling a user's program (``--event-command``, ``stream
--events``): the sans-I/O :class:`EventFilter` turns a feed's statuses into :class:`Event` s.

An event is a change between the states in :data:`EVENT_STATES`. ``quiet`` (normal silence),
``connecting`` and ``closed`` are never events, nor is a reconnect that succeeds within
:data:`RECONNECT_GRACE` seconds: ``reconnecting`` becomes an event only once the feed has been in it
that long. ``previous`` is the state of the last event emitted (None before the first), so a short
reconnect between two ``live`` s, or a ``quiet`` spell, emits nothing.

The filter does no I/O and keeps no clock: its driver gives it each status with the time it came
(:meth:`EventFilter.status`) and calls :meth:`EventFilter.tick` at :meth:`EventFilter.deadline`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Final

from quoteboard.feeds.contract import FeedStatus

__all__ = [
    "ENV_PREFIX",
    "EVENT_STATES",
    "RECONNECT_GRACE",
    "Event",
    "EventFilter",
    "event_environment",
    "event_record",
]

EVENT_STATES: Final = frozenset(
    {"live", "stalled", "reconnecting", "unreachable", "logged_out", "wrong_password", "taken"}
)
#: Seconds in ``reconnecting`` before it is an event (a dropped socket back at once is not news).
RECONNECT_GRACE: Final = 30.0
ENV_PREFIX: Final = "QUOTEBOARD_EVENT"
_JST: Final = timezone(timedelta(hours=9), "JST")


@dataclass(frozen=True, slots=True)
class Event:
    """``event`` is the new state, ``previous`` the last event's (None for the first), ``detail``
    one line from the status, ``time`` when the feed entered the state (ISO 8601, JST)."""

    event: str
    previous: str | None
    detail: str
    time: str


def jst_text(when: float) -> str:
    """``when`` (seconds since the epoch) in ISO 8601, JST, to the millisecond (as NDJSON lines write it)."""
    return datetime.fromtimestamp(when, _JST).isoformat(timespec="milliseconds")


def event_record(event: Event) -> dict[str, object]:
    """The NDJSON line of ``event`` (README's "NDJSON lines")."""
    return {"event": event.event, "previous": event.previous, "detail": event.detail, "time": event.time}


def event_environment(event: Event) -> dict[str, str]:
    """``QUOTEBOARD_EVENT`` and the rest, for ``event`` (no previous event: an empty value)."""
    return {
        ENV_PREFIX: event.event,
        f"{ENV_PREFIX}_PREVIOUS": event.previous or "",
        f"{ENV_PREFIX}_DETAIL": event.detail,
        f"{ENV_PREFIX}_TIME": event.time,
    }


def _one_line(text: str) -> str:
    return " ".join(text.split())


class EventFilter:
    """Statuses in, events out (see the module docstring). Times are seconds since the epoch."""

    def __init__(self, grace: float = RECONNECT_GRACE) -> None:
        self.grace = grace
        #: The state of the last event emitted.
        self.last: str | None = None
        # Reconnecting not yet told: since when, and the latest detail.
        self._reconnecting_since: float | None = None
        self._reconnecting_detail = ""

    def status(self, status: FeedStatus, now: float) -> list[Event]:
        """The events ``status``, come at ``now``, makes (none, one, or a late ``reconnecting`` and one)."""
        events = self.tick(now)
        state: str = status.state
        if state == "reconnecting":
            if self.last != "reconnecting":
                if self._reconnecting_since is None:
                    self._reconnecting_since = now
                self._reconnecting_detail = _one_line(status.detail)
            return events
        if state == "connecting":
            return events  # a reconnect's attempt is still the reconnect
        self._reconnecting_since = None
        if state in EVENT_STATES and state != self.last:
            events.append(self._emit(state, _one_line(status.detail), now))
        return events

    def deadline(self) -> float | None:
        """When :meth:`tick` may next have an event to give, or None while nothing waits."""
        if self._reconnecting_since is None:
            return None
        return self._reconnecting_since + self.grace

    def tick(self, now: float) -> list[Event]:
        """A ``reconnecting`` that has lasted the grace by ``now``, if there is one."""
        since = self._reconnecting_since
        if since is None or now - since < self.grace:
            return []
        self._reconnecting_since = None
        return [self._emit("reconnecting", self._reconnecting_detail, since)]

    def _emit(self, state: str, detail: str, when: float) -> Event:
        event = Event(state, self.last, detail, jst_text(when))
        self.last = state
        return event

"""When to try the station again, and what to call the wait: the reconnect policy, without I/O.

:class:`ReconnectPolicy` is told what happened (a socket opened, one closed, a connect refused, a
token refused with a code) with the time it happened, and answers a :class:`Next`: the state to report
and the seconds before the next try (None: stop trying). :class:`~quoteboard.feeds.kabu.KabuFeed`
drives it, as websockets' asyncio layer drives its sans-I/O protocol; here everything is plain values,
so each rule is tested without an event loop:

- a socket that dropped: ``reconnecting``, with exponential back-off (reset by a socket that delivered
  quotes or stayed up :data:`STABLE_AFTER` seconds);
- nothing listens (refused, no answer): ``unreachable``; the station answers that it is not logged in
  (4001007, 4001017, or 4001009 for a fresh token): ``logged_out``; a wrong API password (4001013):
  ``wrong_password``. Each is asked again every :attr:`fast_cadence` seconds for its first
  :attr:`fast_for` seconds, then every :attr:`slow_cadence`: a station back from a short logout
  resumes within seconds, one away for hours is not hammered;
- the station closed the socket on purpose (another program's socket took it): back-off, and the
  second time within :data:`GIVE_WAY_WINDOW` seconds ``taken``, and no more tries (with ``give_way``).

Like :mod:`quoteboard.kabu.protocol`, it imports no asyncio, httpx, websockets or textual.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from quoteboard.feeds.contract import State
from quoteboard.kabu.errors import WRONG_PASSWORD_CODE

__all__ = [
    "GIVE_WAY_WINDOW",
    "LOGGED_OUT_CODES",
    "STABLE_AFTER",
    "Next",
    "ReconnectPolicy",
    "backoff_delay",
]

FIRST_DELAY: Final = 0.5
MAX_DELAY: Final = 30.0
#: A connection that stayed up this long resets the back-off.
STABLE_AFTER: Final = 10.0
#: Taken away by another program twice within this many seconds, the feed gives the socket up.
GIVE_WAY_WINDOW: Final = 60.0
#: The station is not logged in (4001007, 4001017), or voided a token it had just issued (4001009:
#: logged out, or logged in on another PC).
LOGGED_OUT_CODES: Final = frozenset({4001007, 4001017, 4001009})


def backoff_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Exponential back-off with jitter: attempt 1 waits 0.25-0.5 s, doubling, capped at 30 s."""
    base = min(MAX_DELAY, FIRST_DELAY * 2.0 ** (attempt - 1))
    return base * (rng or random).uniform(0.5, 1.0)


@dataclass(frozen=True, slots=True)
class Next:
    """What to report, and how long to wait before the next try (None: no next try)."""

    state: State
    delay: float | None
    attempt: int = 0


class ReconnectPolicy:
    """The states between two sockets, and the waits. Times are seconds on one monotonic clock."""

    def __init__(
        self,
        *,
        give_way: bool = True,
        fast_cadence: float = 2.0,
        slow_cadence: float = 10.0,
        fast_for: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        self.give_way = give_way
        self.fast_cadence = fast_cadence
        self.slow_cadence = slow_cadence
        self.fast_for = fast_for
        self._rng = rng or random.Random()
        #: Failed tries since the last stable socket (the back-off's exponent).
        self.attempt = 0
        self._opened_at: float | None = None
        self._taken_at: list[float] = []
        self._away: State | None = None
        self._away_since = 0.0

    def reset(self) -> None:
        """A new run: nothing taken, nothing failed."""
        self.attempt = 0
        self._taken_at.clear()
        self._away = None

    def opened(self, now: float) -> Next:
        """A socket opened and the station holds what is watched: quotes may flow."""
        self._opened_at = now
        self._away = None
        return Next("live", 0.0)

    def closed(self, now: float, *, delivered: bool, on_purpose: bool) -> Next:
        """The socket ended: ``delivered`` quotes on it first; the station closed it ``on_purpose``
        (code 1000: another program's newer socket)."""
        opened_at, self._opened_at = self._opened_at, None
        if on_purpose:
            if self.give_way:
                self._taken_at = [t for t in self._taken_at if now - t < GIVE_WAY_WINDOW] + [now]
                if len(self._taken_at) >= 2:
                    return Next("taken", None)
            # the other program's socket: keep growing the delay rather than fight over it
            return self._backoff()
        if delivered or (opened_at is not None and now - opened_at >= STABLE_AFTER):
            self.attempt = 0
        return self._backoff()

    def failed_to_connect(self, now: float, *, nothing_listens: bool) -> Next:
        """Opening failed: ``nothing_listens`` (refused, no answer in time) is the station away;
        anything else (a handshake refused, say) is retried with the back-off."""
        if nothing_listens:
            return self._away_for("unreachable", now)
        return self._backoff()

    def refused(self, now: float, code: int | None) -> Next:
        """The station refused a token or the registrations with ``code``."""
        if code in LOGGED_OUT_CODES:
            return self._away_for("logged_out", now)
        if code == WRONG_PASSWORD_CODE:
            return self._away_for("wrong_password", now)
        return self._backoff()

    def _backoff(self) -> Next:
        self.attempt += 1
        return Next("reconnecting", backoff_delay(self.attempt, self._rng), self.attempt)

    def _away_for(self, state: State, now: float) -> Next:
        if self._away != state:
            self._away, self._away_since = state, now
        fast = now - self._away_since < self.fast_for
        return Next(state, self.fast_cadence if fast else self.slow_cadence)

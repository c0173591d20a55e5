"""What a feed is to the board and ``stream``: the :class:`Feed` protocol, the capabilities a feed may
offer, and the events it sends through typed :class:`Channel` s.

Every feed (:class:`~quoteboard.feeds.kabu.KabuFeed` for a station and the demo,
:class:`~quoteboard.feeds.nats.NatsFeed` for a relay on NATS, one written in a test) does what
:class:`Feed` says. What only some can do is a capability, a protocol of its own that the board asks
about (``isinstance(feed, OffersPositions)``) rather than an attribute it assumes.

Events are types, not text: a :class:`~quoteboard.kabu.protocol.Quote`, a
:class:`~quoteboard.kabu.protocol.Rejection`, a :class:`FeedStatus`, a :class:`Taken`. Each kind goes
out through its own channel in :class:`FeedEvents`, with any number of subscribers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Generic, Literal, ParamSpec, Protocol, get_args, runtime_checkable

from quoteboard.kabu.errors import KabuClientError, KabuError
from quoteboard.kabu.protocol import Quote, Rejection, SymbolKey

if TYPE_CHECKING:
    from quoteboard.kabu.positions import Position
    from quoteboard.kabu.ranking import Ranking
    from quoteboard.kabu.reference import PrimaryExchange, Regulation, SymbolFacts
    from quoteboard.kabu.registry import Registry
    from quoteboard.server import TestServer

__all__ = [
    "STATES",
    "Channel",
    "Feed",
    "FeedEvents",
    "FeedStatus",
    "OffersPositions",
    "OffersRanking",
    "OffersSymbolFacts",
    "Refusals",
    "RelayAware",
    "State",
    "Taken",
    "jst_iso",
]

P = ParamSpec("P")
#: The station's states, named the same on the board, in ``stream``'s lines, ``/relay/status`` and the
#: NATS ``kabu_relay`` status (the README's table says what each means). ``idle``: not started yet.
State = Literal[
    "idle",
    "connecting",
    "live",
    "quiet",
    "stalled",
    "reconnecting",
    "unreachable",
    "logged_out",
    "wrong_password",
    "taken",
    "closed",
]
STATES: frozenset[str] = frozenset(get_args(State))
_JST = timezone(timedelta(hours=9), "JST")
#: Symbols the station refused, each with its refusal.
Refusals = list[tuple[SymbolKey, KabuError]]


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """Where the feed stands. ``attempt``/``delay`` are set while reconnecting; ``since``: when it
    entered this state (epoch seconds; a report of the same state keeps the first one's)."""

    state: State
    detail: str = ""
    attempt: int = 0
    delay: float = 0.0
    since: float = field(default_factory=time.time, compare=False)

    def describe(self) -> str:
        if self.state == "reconnecting":
            text = f"reconnecting in {self.delay:.1f} s, attempt {self.attempt}"
        else:
            text = self.state
        return f"{text}: {self.detail}" if self.detail else text


def jst_iso(epoch: float) -> str:
    """``epoch`` as ISO 8601 in Kabu's zone (``2026-12-03T09:00:01+09:00``), whatever the machine's."""
    return datetime.fromtimestamp(epoch, _JST).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Taken:
    """Another program's socket closed this feed's (Kabu serves one PUSH socket at a time).
    ``gave_way``: the feed stopped rather than take it back (it was the second time in a minute)."""

    gave_way: bool


class Channel(Generic[P]):
    """One kind of event, to any number of subscribers, in the order they subscribed.

    The subscribers are a tuple, replaced on each change, so publishing (the hot path: every quote)
    iterates it without a copy or an allocation, and a subscriber may unsubscribe while called."""

    __slots__ = ("subscribers",)

    def __init__(self) -> None:
        self.subscribers: tuple[Callable[P, object], ...] = ()

    def __repr__(self) -> str:
        return f"Channel({len(self.subscribers)} subscribers)"

    def __bool__(self) -> bool:
        return bool(self.subscribers)

    def subscribe(self, subscriber: Callable[P, object]) -> Callable[P, object]:
        """Add ``subscriber`` (also usable as a decorator); returns it."""
        self.subscribers = (*self.subscribers, subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Callable[P, object]) -> None:
        """Remove ``subscriber`` (once, if it is there: a bound method matches an equal one)."""
        subscribers = list(self.subscribers)
        if subscriber in subscribers:
            subscribers.remove(subscriber)
            self.subscribers = tuple(subscribers)

    def publish(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for subscriber in self.subscribers:
            subscriber(*args, **kwargs)


class FeedEvents:
    """A feed's channels. ``quote``: every decoded quote (the hot path: ``Board.apply``);
    ``reject``: every undecodable frame; ``status``: every change of state; ``frame``: every raw frame
    and its receive time, before decoding (a recorder, the relay); ``registered``: symbols a retry
    registered late (nothing is pushed for them after the close: snapshots are fetched);
    ``refused``: watched symbols the station refused (no longer watched); ``taken``: the station's
    socket taken by another program."""

    __slots__ = ("frame", "quote", "refused", "registered", "reject", "status", "taken")

    def __init__(self) -> None:
        self.quote: Channel[[Quote]] = Channel()
        self.reject: Channel[[Rejection]] = Channel()
        self.status: Channel[[FeedStatus]] = Channel()
        self.frame: Channel[[bytes, float]] = Channel()
        self.registered: Channel[[list[SymbolKey]]] = Channel()
        self.refused: Channel[[Refusals]] = Channel()
        self.taken: Channel[[Taken]] = Channel()


class Feed(Protocol):
    """What every feed does. Errors are :class:`~quoteboard.kabu.errors.KabuClientError` s, each
    saying whether it is transient; a refusal by the station is a ``KabuError`` with its code."""

    #: Shown in the status bar and in messages ("kabu", "demo", "nats host:port").
    name: str
    events: FeedEvents
    #: What the feed keeps registered, what the station holds, what it refused.
    registry: Registry
    status: FeedStatus
    #: Quotes decoded, frames rejected, connections opened (for the status bar and ``stream``).
    received: int
    rejected: int
    connections: int
    #: The feed gave the station's socket up to another program (:meth:`run` returned).
    taken: bool
    #: A station embedded in this process (the demo's, a replay's): closed with the feed.
    server: TestServer | None

    async def start(self) -> Refusals:
        """Log in and register the watched symbols; raises what goes wrong (a wrong password, no
        station); returns the symbols refused (no longer watched, also told to ``events.refused``)."""
        ...

    async def run(self) -> None:
        """Stream quotes to the events until cancelled or :meth:`close` d, reconnecting and
        registering again as needed; returns early only when it cannot go on (said by a status)."""
        ...

    async def register(self, keys: Iterable[SymbolKey]) -> list[SymbolKey]:
        """Register and keep ``keys`` registered; returns what the station holds. A transient
        failure is raised but the keys stay watched (registered later); a refusal watches nothing."""
        ...

    async def register_each(self, keys: Iterable[SymbolKey]) -> Refusals:
        """:meth:`register`, one symbol at a time when the batch is refused; returns the refused."""
        ...

    async def unregister(self, keys: Iterable[SymbolKey]) -> list[SymbolKey]:
        """Stop watching ``keys``; returns what is still registered."""
        ...

    async def fetch_boards(
        self, keys: Iterable[SymbolKey], on_quote: Callable[[Quote], object]
    ) -> list[tuple[SymbolKey, KabuClientError]]:
        """The latest quote of each key (paced), to ``on_quote``; returns the failures (raises none)."""
        ...

    def reconnect(self) -> None:
        """Reopen the connection now and register everything watched again."""
        ...

    def is_closed(self) -> bool:
        """:meth:`close` was called."""
        ...

    async def close(self) -> None:
        """Close the connection and any embedded station; :meth:`run` ends."""
        ...


@runtime_checkable
class OffersPositions(Protocol):
    """A feed that can list the account's positions (read only)."""

    async def positions(self) -> list[Position]:
        """Every position held; raises ``KabuError`` (refused) or ``KabuClientError`` (unreachable)."""
        ...


@runtime_checkable
class OffersSymbolFacts(Protocol):
    """A feed that can read what its station says about a symbol (``/symbol``, ``/primaryexchange``,
    ``/regulations``). Each raises ``KabuError`` (refused) or ``KabuClientError`` (unreachable)."""

    async def symbol_facts(self, key: SymbolKey) -> SymbolFacts:
        """``GET /symbol``: the station registers ``key`` as a side effect, so ask only for a symbol
        it holds already."""
        ...

    async def primary_exchange(self, code: str) -> PrimaryExchange:
        """``GET /primaryexchange``: registers nothing."""
        ...

    async def regulations(self, key: SymbolKey) -> tuple[Regulation, ...]:
        """``GET /regulations``: registers nothing."""
        ...


@runtime_checkable
class OffersRanking(Protocol):
    """A feed that can ask the station's market movers (``GET /ranking``: no registration)."""

    async def ranking(self, type_number: int, division: str) -> Ranking:
        """The ranking of type ``type_number`` (1-15) on market ``division`` (``ALL``, ``TP`` ...);
        raises ``KabuError`` (refused) or ``KabuClientError`` (unreachable)."""
        ...


@runtime_checkable
class RelayAware(Protocol):
    """A feed that may be talking to a quoteboard relay rather than to the station itself."""

    async def relay_status(self) -> dict[str, Any] | None:
        """The relay's status when there is one in between, else None (raises nothing)."""
        ...

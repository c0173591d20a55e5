"""Where a feed comes from, described once: the demo's embedded market, a recording replayed through
it, or a Kabu station. The command line builds the sources; the board and ``stream`` get every feed
from :meth:`FeedSource.start`, so a feed is put together in one place.

The demo and a replay are the same Kabu client pointed at a test server embedded in this process on a
free loopback port: the server starts with the feed and stops with it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from quoteboard.feeds.kabu import KabuFeed
from quoteboard.feeds.watchdog import DEFAULT_STALL_AFTER
from quoteboard.kabu.protocol import DEFAULT_BASE_URL, SymbolKey, parse_symbol
from quoteboard.kabu.registry import DEFAULT_MAX_SYMBOLS
from quoteboard.secret import Secret

if TYPE_CHECKING:
    from pathlib import Path

    import httpx

    from quoteboard.feeds.contract import Feed
    from quoteboard.nats.link import NatsTarget
    from quoteboard.server import TestServer
    from quoteboard.server.replay import Replay

__all__ = ["FeedSource", "Kind", "recorded_symbols", "replay_source"]

Kind = Literal["demo", "replay", "kabu", "nats"]


@dataclass(frozen=True, slots=True)
class FeedSource:
    """A feed's origin. ``server`` makes the embedded station of a demo or a replay (a seeded or
    frozen one in tests; by default the simulated market); ``transport`` is the Kabu feed's REST
    transport (tests inject faults with it); ``stall_after`` is the Kabu feed's watchdog's silence
    (``--stall-after``)."""

    kind: Kind
    base_url: str = DEFAULT_BASE_URL
    password: Secret | None = None
    server: Callable[[], TestServer] | None = None
    transport: httpx.AsyncBaseTransport | None = None
    nats: NatsTarget | None = None
    stall_after: float = DEFAULT_STALL_AFTER

    def __repr__(self) -> str:  # never the password
        if self.nats is not None:
            return f"FeedSource('nats', {self.nats.shown()})"
        return f"FeedSource({self.kind!r}, {self.base_url if self.kind == 'kabu' else 'embedded'})"

    @classmethod
    def kabu(cls, base_url: str = DEFAULT_BASE_URL, password: Secret | str | None = None) -> FeedSource:
        return cls("kabu", base_url.rstrip("/"), Secret.of(password) if password else None)

    @classmethod
    def of_nats(cls, target: NatsTarget) -> FeedSource:
        """Quotes a ``quoteboard relay --nats`` publishes on the NATS server at ``target``."""
        return cls("nats", nats=target)

    @property
    def embedded(self) -> bool:
        """No Kabu station of its own to ask: served by a test server in this process (the demo, a
        replay), or by a relay through NATS."""
        return self.kind != "kabu"

    @property
    def needs_password(self) -> bool:
        return self.kind == "kabu" and not self.password

    def with_password(self, password: Secret | None) -> FeedSource:
        return replace(self, password=password)

    async def start(self, max_symbols: int = DEFAULT_MAX_SYMBOLS) -> Feed:
        """A new feed from this source, its embedded server (if any) started; :meth:`Feed.close`
        stops both. Nothing is sent to a station yet: subscribe to the feed's events, then start it."""
        if self.nats is not None:
            from quoteboard.feeds.nats import NatsFeed  # nats-py loads only for a NATS source

            return NatsFeed(self.nats, max_symbols=max_symbols)
        return await self.start_kabu(max_symbols)

    async def start_kabu(self, max_symbols: int = DEFAULT_MAX_SYMBOLS) -> KabuFeed:
        """:meth:`start` for a source that is a Kabu station, real or embedded (the relay's upstream)."""
        if self.nats is not None:
            raise ValueError("a NATS source has no Kabu station of its own")
        if not self.embedded:
            return KabuFeed(self.base_url, self.password or "", name="kabu", max_symbols=max_symbols,
                        transport=self.transport, stall_after=self.stall_after)  # fmt: skip
        server = self.server() if self.server is not None else _simulated_market()
        await server.__aenter__()
        return KabuFeed(server.base_url, "demo", name=self.kind, max_symbols=max_symbols, server=server,
                        stall_after=self.stall_after)  # fmt: skip

    @contextlib.asynccontextmanager
    async def open(self, max_symbols: int = DEFAULT_MAX_SYMBOLS) -> AsyncIterator[Feed]:
        """:meth:`start` as a context: the feed (and its server) closed on exit."""
        feed = await self.start(max_symbols)
        try:
            yield feed
        finally:
            await feed.close()


class _ReplayServers:
    """Makes the embedded server of a replay: the first from the replay already read (and checked),
    each later one (after a switch to Kabu and back) from the file again, from the start."""

    def __init__(self, first: Replay, path: Path, speed: float, loop: bool) -> None:
        self.path, self.speed, self.loop = path, speed, loop
        self._unused: Replay | None = first

    def __call__(self) -> TestServer:
        from quoteboard.server import TestServer
        from quoteboard.server.replay import Replay

        replay = self._unused or Replay.open(self.path, speed=self.speed, loop=self.loop)
        self._unused = None
        return TestServer(replay=replay)


def replay_source(path: Path, speed: float = 1.0, loop: bool = False) -> tuple[FeedSource, Replay]:
    """The source that replays the recording at ``path``, and its first replay, already read through
    (its symbols, its skipped lines). Raises :class:`~quoteboard.history.recording.RecordingError` for a file
    that cannot be replayed."""
    from quoteboard.server.replay import Replay

    first = Replay.open(path, speed=speed, loop=loop)
    return FeedSource("replay", server=_ReplayServers(first, path, speed, loop)), first


def recorded_symbols(replay: Replay) -> list[SymbolKey]:
    """The symbols a recording names that Kabu could register, in order."""
    keys = []
    for text in replay.symbols:
        with contextlib.suppress(ValueError):  # not a code Kabu would register: nothing to ask for
            keys.append(parse_symbol(text))
    return keys


def _simulated_market() -> TestServer:
    from quoteboard.server import TestServer  # the server stack loads only when the demo runs
    from quoteboard.server.portfolio import DEMO_PORTFOLIO

    return TestServer(portfolio=DEMO_PORTFOLIO)  # so the demo shows P&L moving

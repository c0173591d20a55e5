"""Running the test server: in-process in the caller's event loop, or in the foreground for the CLI.

:class:`TestServer` is an :class:`~quoteboard.hosting.EmbeddedServer` (the hosting it shares with the
relay): its own listening socket, uvicorn as a task in the running loop, signals and logging left alone.

Both bind loopback (127.0.0.1) unless given another host: the station accepts any API password by
default, so it is not for the network. Every WebSocket message a client sends is capped at
``max_message`` bytes (1 MiB): a bigger one is refused with close code 1009 (message too big).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import msgspec

from quoteboard.history.recording import RecordingError
from quoteboard.hosting import BindError, EmbeddedServer

from .app import KabuStation
from .clock import DAY_START, StationClock, today_at
from .faults import Fault
from .outbox import MAX_MESSAGE, QUEUE_FRAMES
from .portfolio import DEMO_PORTFOLIO, Holding, PortfolioError, load_portfolio
from .replay import Replay

__all__ = ["BindError", "TestServer", "report_drops", "serve_forever"]

_log = logging.getLogger("quoteboard.server")
#: How often ``quoteboard serve`` reports frames dropped for slow clients (when there were some).
REPORT_EVERY = 10.0


class TestServer(EmbeddedServer):
    """The echo socket and the Kabu-compatible station, on a free (or given) port, in this loop.

    ::

        async with TestServer(seed=1, rate_limit=None) as srv:
            httpx.AsyncClient(base_url=srv.base_url) ...
            websockets.connect(srv.websocket_url) ...

    ``password`` None accepts any API password. ``rate`` is the total PUSH frames a second (None: the
    Kabu-like 400 ms per symbol). ``seed`` makes the market deterministic. ``max_symbols`` is the
    registration cap, ``rate_limit`` the REST requests a second per client and kind (None: no limit).
    ``replay`` pushes a recording instead of the simulated market (see :mod:`.replay`)::

        async with TestServer(replay=Replay.open("rec.ndjson", speed=10)) as srv: ...

    ``max_message`` caps what a client may send in one message (close 1009 over it); ``send_queue``
    is the frames queued for one client before its oldest are dropped (see :mod:`.outbox`).
    ``portfolio`` is what ``GET /positions`` holds (default: nothing; see :mod:`.portfolio`).
    ``day`` plays a trading day on that station clock (see :mod:`.clock`); :meth:`fault` and
    :meth:`day` are the controls of ``/serve/fault`` and ``/serve/day`` (see :mod:`.faults`).
    """

    __test__ = False  # not a pytest test class, whatever its name says

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        password: str | None = None,
        rate: float | None = None,
        seed: int | None = None,
        max_symbols: int = 50,
        rate_limit: float | None = 10.0,
        replay: Replay | None = None,
        max_message: int = MAX_MESSAGE,
        send_queue: int = QUEUE_FRAMES,
        portfolio: Sequence[Holding] = (),
        day: StationClock | None = None,
    ) -> None:
        super().__init__(host, port, max_message)
        self.kabu = KabuStation(
            day=day,
            portfolio=portfolio,
            password=password,
            rate=rate,
            seed=seed,
            max_symbols=max_symbols,
            rate_limit=rate_limit,
            replay=replay,
            send_queue=send_queue,
        )

    @property
    def asgi(self) -> Any:  # read at start: a test may swap in a station of its own before
        return self.kabu.asgi

    # URLs ------------------------------------------------------------------------------------------

    @property
    def echo_url(self) -> str:
        return f"ws://{self._origin}/"

    @property
    def control_url(self) -> str:
        """Where the test server's own controls are: ``/serve/day`` and ``/serve/fault``."""
        return f"http://{self._origin}/serve"

    # State and controls ------------------------------------------------------------------------------

    @property
    def registered(self) -> list[str]:
        """``CODE@EX`` keys currently registered, in registration order."""
        return list(self.kabu.station.registered)

    @property
    def frames_sent(self) -> int:
        return self.kabu.push.frames_sent

    @property
    def replay(self) -> Replay | None:
        """The recording being replayed, if this server replays one."""
        return self.kabu.replay

    def void_tokens(self) -> None:
        """Void the current token, like the station's early-morning forced logout."""
        self.kabu.station.void_tokens()

    async def log_out(self) -> None:
        """Log the station out (tokens refused with 4001007, registrations gone) and close its
        PUSH socket, as kabuステーション does; :meth:`log_in` ends it."""
        self.kabu.station.log_out()
        await self.kabu.push.drop()

    def log_in(self) -> None:
        self.kabu.station.log_in()

    async def drop_sockets(self) -> None:
        """Close every PUSH socket from the server side (registrations stay)."""
        await self.kabu.push.drop()

    async def fault(self, fault: str, seconds: float = 0.0, every: int = 20, code: int = 1001) -> None:
        """Inject a fault, as ``POST /serve/fault`` does: ``drop``, ``stall``, ``logout``, ``garbage``."""
        await self.kabu.controls.apply(msgspec.convert(
            {"fault": fault, "seconds": seconds, "every": every, "code": code}, Fault
        ))  # fmt: skip

    def day(self) -> dict[str, object]:
        """What ``GET /serve/day`` answers: station time, phase, closing prices, counters."""
        return self.kabu.controls.day()


async def report_drops(kabu: KabuStation, every: float = REPORT_EVERY) -> None:
    """Every ``every`` seconds, one warning if clients were too slow and lost frames since the last."""
    push = echo = 0
    while True:
        await asyncio.sleep(every)
        new_push, new_echo = kabu.push.dropped - push, kabu.echo_dropped - echo
        push, echo = kabu.push.dropped, kabu.echo_dropped
        if new_push or new_echo:
            _log.warning(
                "clients reading too slowly: dropped %d PUSH frames and %d echoes in %g s "
                "(%d and %d since the start)",
                new_push,
                new_echo,
                every,
                push,
                echo,
            )


async def _announce_replay(source: Replay | None) -> None:
    """Say what will be replayed, then (once it has) that the replay is over."""
    if source is None:
        return
    looping = ", looping" if source.loop else ""
    print(
        f"quoteboard serve: replaying {source.recording.frames} frames of {source.path} "
        f"at {source.speed:g}x{looping} once a client registers a symbol",
        flush=True,
    )
    await source.finished.wait()
    why = f" ({source.error})" if source.error else ""
    print(f"quoteboard serve: replay finished{why}: {source.sent} frames pushed", flush=True)


def serve_forever(
    host: str = "127.0.0.1",
    port: int = 9000,
    password: str | None = None,
    rate: float | None = None,
    *,
    replay: str | os.PathLike[str] | None = None,
    speed: float = 1.0,
    loop: bool = False,
    positions: str | os.PathLike[str] | None = None,
    day: bool = False,
    day_start: clock_time = DAY_START,
    **options: Any,
) -> int:
    """Run the test server in the foreground until Ctrl-C; the exit status for the CLI.

    Prints one line with the URLs once listening. A port in use (or any address it cannot listen on)
    prints one line to stderr and returns 1; Ctrl-C shuts down cleanly and returns 0. ``replay`` is a
    recording to push instead of the market, at ``speed`` times its pace, over and over with ``loop``;
    one that cannot be read is one line on stderr and 1. ``positions`` is a JSON portfolio file for
    ``GET /positions`` (see :mod:`.portfolio`; the demo's without it, none for a replay); a bad one
    is one line on stderr and 1. ``day`` plays a trading day from ``day_start`` (JST, today) at
    ``speed`` times real time, with the fault controls. Frames dropped for slow clients are reported on stderr
    (:func:`report_drops`). ``options`` go to :class:`TestServer` (``seed``, ``max_symbols``,
    ``rate_limit``, ``max_message``, ``send_queue``).
    """
    logging.basicConfig(level=logging.WARNING, format="quoteboard serve: %(levelname)s %(message)s")
    source = None
    options.setdefault("portfolio", DEMO_PORTFOLIO if replay is None else ())
    if positions is not None:
        try:
            options["portfolio"] = load_portfolio(Path(positions))
        except PortfolioError as exc:
            print(f"quoteboard serve: {exc}", file=sys.stderr)
            return 1
    if replay is not None:
        try:
            source = Replay.open(replay, speed=speed, loop=loop)
        except RecordingError as exc:
            print(f"quoteboard serve: {exc}", file=sys.stderr)
            return 1
        if source.skipped:
            print(f"quoteboard serve: replay skipped {source.skipped} bad lines of {replay}", file=sys.stderr)

    async def main() -> None:
        clock = StationClock(today_at(day_start), speed) if day else None
        async with TestServer(
            host=host, port=port, password=password, rate=rate, replay=source, day=clock, **options
        ) as srv:
            print(
                f"quoteboard serve: Kabu station {srv.base_url}  PUSH {srv.websocket_url}  "
                f"echo {srv.echo_url}  (Ctrl-C to stop)",
                flush=True,
            )
            if clock is not None:
                print(
                    f"quoteboard serve: a trading day from {clock.start:%H:%M} JST at {speed:g}x; "
                    f"faults: POST {srv.control_url}/fault, state: GET {srv.control_url}/day",
                    flush=True,
                )
            reporter = asyncio.create_task(report_drops(srv.kabu))
            try:
                await _announce_replay(source)
                await asyncio.Event().wait()
            finally:
                reporter.cancel()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        return 0
    except BindError as exc:
        print(f"quoteboard serve: {exc.strerror}", file=sys.stderr)
        return 1
    return 0

"""The PUSH socket of the test station: one client at a time, board frames on a schedule.

Like kabuステーション: no token, no pongs (see :mod:`quoteboard.hosting`), a new connection closes the
previous one, and full ``BoardSuccess`` frames of the registered symbols about every 400 ms each (or at a set
total ``rate``, for load tests), or a recording's frames with a :class:`~.replay.Replay`.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import random
from typing import Final

from starlette.websockets import WebSocket, WebSocketDisconnect

from .market import Market
from .outbox import QUEUE_FRAMES, Outbox, send_from
from .replay import Replay, Sender
from .station import Station

__all__ = ["KABU_INTERVAL", "PushHub"]

#: Kabu thins PUSH to about one frame per symbol every 400 ms.
KABU_INTERVAL: Final = 0.4


class _Session:
    def __init__(self, websocket: WebSocket, outbox: Outbox) -> None:
        self.websocket = websocket
        self.outbox = outbox
        self.stop_requested = asyncio.Event()
        self.close_code = 1000
        self.close_reason = ""
        self.done = asyncio.Event()
        #: Until when (event loop time) this socket is stalled: open, sent nothing.
        self.stalled_until = float("-inf")

    def stop(self, code: int, reason: str) -> None:
        self.close_code, self.close_reason = code, reason
        self.stop_requested.set()


class PushHub:
    """The PUSH socket: one session at a time, frames for the registered symbols on a schedule.

    Each registered symbol gets a frame about every ``interval`` seconds (400 ms, or spread so the
    total is ``rate`` frames a second), with +/-20 % jitter and a random phase per symbol so frames
    are spread out rather than sent in bursts. Registrations live in the :class:`Station`, so they
    survive reconnects. With a ``replay`` the frames are the recording's instead.

    The schedule never waits for the client: frames go into the session's outbox of ``send_queue``
    frames, which a sender task drains at the client's pace; a client too slow for the rate loses
    its oldest frames (:attr:`dropped`) rather than the station falling behind.
    """

    def __init__(
        self,
        station: Station,
        market: Market,
        rate: float | None,
        rng: random.Random,
        replay: Replay | None = None,
        send_queue: int = QUEUE_FRAMES,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive")
        if send_queue < 1:
            raise ValueError("send_queue must be at least 1")
        self._station = station
        self._market = market
        self.replay = replay
        self.rate = rate
        self._rng = rng
        self._current: _Session | None = None
        self._sessions: set[_Session] = set()
        self.send_queue = send_queue
        #: Frames handed to a PUSH socket, all sessions together.
        self.frames_sent = 0
        #: Frames dropped because a PUSH client read them too slowly, all sessions together.
        self.dropped = 0
        #: PUSH sockets opened, and the most open at once (the station serves one: a relay's tests
        #: check it never has two).
        self.opened = 0
        self.peak = 0

    @property
    def queued(self) -> int:
        """Frames waiting in the current session's outbox (0 without a session)."""
        return len(self._current.outbox) if self._current is not None else 0

    def _count_sent(self) -> None:
        self.frames_sent += 1

    def _queue(self, session: _Session, frame: str | bytes) -> None:
        self.dropped += session.outbox.put(frame)

    def interval(self, symbols: int) -> float:
        """Seconds between two frames of one symbol when ``symbols`` are registered."""
        if self.rate is None:
            return KABU_INTERVAL
        return max(symbols, 1) / self.rate

    async def drop(self) -> None:
        """Close every PUSH socket from the server side and wait until they are gone."""
        sessions = list(self._sessions)
        for session in sessions:
            session.stop(1001, "station going away")
        for session in sessions:
            await session.done.wait()

    def stall(self, seconds: float) -> None:
        """Stall the open PUSH sockets for ``seconds``: they stay open and get nothing while the
        market moves on (``GET /board`` shows it). A socket opened later is not stalled, as a
        reconnect is what gets a real stalled feed going again."""
        until = asyncio.get_running_loop().time() + seconds
        for session in self._sessions:
            session.stalled_until = until

    async def serve(self, websocket: WebSocket) -> None:
        await websocket.accept()
        session = _Session(websocket, Outbox(self.send_queue))
        previous, self._current = self._current, session
        self._sessions.add(session)
        self.opened += 1
        self.peak = max(self.peak, len(self._sessions))
        if previous is not None:  # the station serves one socket: the newcomer wins
            previous.stop(1000, "superseded by a new connection")
        if self.replay is None:
            pump_work = self._pump(session)
        else:
            pump_work = self.replay.push(self._sender(session), self._station.registered.keys())
        tasks: list[asyncio.Task[None]] = [
            asyncio.create_task(self._drain(websocket)),
            asyncio.create_task(send_from(session.outbox, websocket, self._count_sent)),
            asyncio.create_task(pump_work),
            asyncio.create_task(self._wait(session.stop_requested)),
        ]
        receiver, sender, pump, _ = tasks
        try:
            done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if receiver not in done and sender not in done:  # the client is there: we are closing
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                    await websocket.close(session.close_code, session.close_reason)
            if pump in done:
                pump.result()  # a bug in the pump is raised for uvicorn to log, not swallowed
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._sessions.discard(session)
            if self._current is session:
                self._current = None
            session.done.set()

    @staticmethod
    async def _wait(event: asyncio.Event) -> None:
        await event.wait()

    @staticmethod
    async def _drain(websocket: WebSocket) -> None:
        # The station ignores anything a client sends; reading keeps uvicorn's buffers moving and
        # tells us when the client goes.
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return

    def _sender(self, session: _Session) -> Sender:
        """Queues one replayed frame as it was recorded (text, or bytes if it was not UTF-8)."""

        async def send(frame: str | bytes) -> bool:
            self._queue(session, frame)
            return True  # the session's end cancels the replay, which keeps its place

        return send

    async def _pump(self, session: _Session) -> None:
        loop = asyncio.get_running_loop()
        registered = self._station.registered
        rng = self._rng
        heap: list[tuple[float, int, str]] = []
        scheduled: set[str] = set()
        order = itertools.count()
        while True:
            now = loop.time()
            interval = self.interval(len(registered))
            for key in registered:
                if key not in scheduled:  # newly registered: start at a random phase
                    scheduled.add(key)
                    heapq.heappush(heap, (now + rng.uniform(0, interval), next(order), key))
            batch: list[str] = []
            while heap and heap[0][0] <= now:
                due, _, key = heapq.heappop(heap)
                if key not in registered:
                    scheduled.discard(key)
                    continue
                batch.append(key)
                following = due + interval * rng.uniform(0.8, 1.2)
                if following < now - interval:  # fell behind (a busy loop): skip, don't burst
                    following = now + rng.uniform(0, interval)
                heapq.heappush(heap, (following, next(order), key))
            for key in batch:
                # The market moves on even when nothing is sent: a stalled socket misses those.
                frame = self._market.frame(key)
                if now >= session.stalled_until:
                    self._queue(session, frame.decode())
            delay = heap[0][0] - loop.time() if heap else 0.1
            # Wake at least every 100 ms to pick up new registrations.
            await asyncio.sleep(min(max(delay, 0.0), 0.1))

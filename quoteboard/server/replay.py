"""A recording as the test server's frame source: ``quoteboard serve --replay FILE``.

With a :class:`Replay` the station pushes the recorded frames instead of its simulated market, byte
for byte and in the recorded order, keeping the recorded timing scaled by ``speed``. To a Kabu client
it is still the station:

- Registration works as before. The symbols a client can register are the catalogue's plus every
  symbol in the recording (a recording from the real station may hold codes the catalogue lacks).
- Like Kabu, only frames of registered symbols are pushed. A frame that names no symbol (it did not
  decode when it was recorded either) is pushed as recorded, so a replay reproduces those too.
- ``GET /board/{symbol}`` answers the symbol's last replayed frame; before its first one, its first
  recorded frame (the board as the recording found it); for a catalogue symbol with no recorded
  frame, a snapshot with nothing delivered yet (Kabu's nulls). ``GET /symbol`` of a symbol only the
  recording knows answers what the frame says about it (code, name, exchange).

The replay clock starts when a PUSH socket is open and a symbol is registered, and runs only while a
socket is open: a client that reconnects misses nothing, and one that connects late starts at the
beginning. Each frame comes due at its recorded offset whether its symbol is registered or not, the
way the market moves on while nobody watches a symbol. After the last frame the station falls
silent, like after the close, and :attr:`Replay.finished` is set; with ``loop`` it starts over.

Frames go through the PUSH socket's send queue like the market's (see :mod:`.outbox`): a client too
slow for the replay's pace loses its oldest frames, and frames still queued when a client goes are
lost with it, as they would be at the station. A client that keeps up gets every frame.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Collection, Iterator
from pathlib import Path
from typing import Final, Self

import msgspec

from quoteboard.history.recording import (
    Pacer,
    RecordedFrame,
    Recording,
    RecordingError,
    iter_frames,
    scan_recording,
)

from .catalogue import EXCHANGE_NAME, Listing

__all__ = ["Replay", "Sender"]

#: Pushes one frame; False when the client has gone.
Sender = Callable[[str | bytes], Awaitable[bool]]

_log: Final = logging.getLogger(__name__)
#: Without a pause between due frames, yield to the event loop after this many sends.
_BURST: Final = 100
#: How often to look again for the first registration.
_IDLE_POLL: Final = 0.05


class _Named(msgspec.Struct):
    Symbol: str
    SymbolName: str | None = None
    Exchange: int | None = None
    ExchangeName: str | None = None


class Replay:
    """Pushes a recording to the station's PUSH socket; see the module docstring for the rules.

    Open one with :meth:`open`, which reads the file through once and raises
    :class:`~quoteboard.history.recording.RecordingError` if it cannot be read or holds no frame. One replay
    serves one station; its position is shared by successive PUSH sockets.
    """

    def __init__(self, recording: Recording, speed: float = 1.0, loop: bool = False) -> None:
        if not recording.frames:
            bad = recording.skipped
            lines = "line" if bad == 1 else "lines"
            why = f" ({bad} unreadable {lines}: not a --record file?)" if bad else ""
            raise RecordingError(f"{recording.path} holds no frames to replay{why}")
        self.recording = recording
        self.loop = loop
        self._pacer = Pacer(speed)
        self._known = frozenset(recording.symbols)
        self._last: dict[str, str | bytes] = {}
        self._frames: Iterator[RecordedFrame] | None = None
        self._pending: RecordedFrame | None = None
        self._position: float | None = None  # replay offset of the latest frame that came due
        self._lock = asyncio.Lock()
        #: Frames handed to a PUSH socket's send queue, all sockets together.
        self.sent = 0
        #: Times the recording was started over (``loop``).
        self.loops = 0
        #: Set once the last frame has come due (never with ``loop``) or the file could not be read.
        self.finished = asyncio.Event()
        #: Why the replay stopped early (the file became unreadable), else None.
        self.error: str | None = None

    @classmethod
    def open(cls, path: str | os.PathLike[str], speed: float = 1.0, loop: bool = False) -> Self:
        """Scan the recording at ``path`` and make a replay of it."""
        return cls(scan_recording(path), speed, loop)

    def __repr__(self) -> str:
        return f"Replay({str(self.path)!r}, speed={self.speed}, loop={self.loop})"

    @property
    def path(self) -> Path:
        return self.recording.path

    @property
    def speed(self) -> float:
        return self._pacer.speed

    @property
    def symbols(self) -> list[str]:
        """The recorded ``CODE@EXCHANGE`` keys, registered symbols of the headers first."""
        return list(self.recording.symbols)

    @property
    def skipped(self) -> int:
        """Bad lines of the file that the replay skips."""
        return self.recording.skipped

    def __contains__(self, key: object) -> bool:
        return key in self._known

    # REST ----------------------------------------------------------------------------------------

    def board(self, key: str, listing: Listing | None) -> bytes:
        """The ``GET /board`` answer for a listed ``key`` (see the module docstring)."""
        data = self._last.get(key) or self.recording.first_frames.get(key)
        if data is not None:
            return data.encode() if isinstance(data, str) else data
        code, _, exchange = key.partition("@")
        return msgspec.json.encode(
            {
                "Symbol": code,
                "SymbolName": listing.name if listing is not None else None,
                "Exchange": int(exchange),
                "ExchangeName": EXCHANGE_NAME if listing is not None else None,
                "CurrentPrice": None,
                "CurrentPriceTime": None,
                "BidPrice": None,
                "AskPrice": None,
                "TradingVolume": None,
            }
        )

    def symbol(self, key: str) -> bytes:
        """A ``GET /symbol`` answer for a symbol only the recording knows: what its frames say."""
        data = self._last.get(key) or self.recording.first_frames[key]
        named = msgspec.json.decode(data, type=_Named)
        name = named.SymbolName or named.Symbol
        return msgspec.json.encode(
            {
                "Symbol": named.Symbol,
                "SymbolName": name,
                "DisplayName": name,
                "Exchange": named.Exchange if named.Exchange is not None else 1,
                "ExchangeName": named.ExchangeName or "",
            }
        )

    # PUSH ----------------------------------------------------------------------------------------

    def _next(self, now: float) -> RecordedFrame | None:
        """The next frame of the recording, starting over when ``loop`` says so; None at the end."""
        if self._pending is not None:
            return self._pending
        if self._frames is None:
            self._frames = iter_frames(self.path)
        frame = next(self._frames, None)
        if frame is None and self.loop:
            self.loops += 1
            self._frames = iter_frames(self.path)
            frame = next(self._frames, None)
            if frame is not None:
                # Start over one average frame interval after the last frame, not all at once.
                count = self.recording.frames
                gap = self.recording.duration / (count - 1) if count > 1 else 0.4
                self._pacer.start(now, frame.offset - max(gap, 0.001))
        self._pending = frame
        return frame

    async def push(self, send: Sender, registered: Collection[str]) -> None:
        """Push due frames of ``registered`` symbols through ``send`` until the client goes.

        ``registered`` is the station's live collection of ``CODE@EXCHANGE`` keys; nothing is due
        before it holds one. Returns when ``send`` answers False; otherwise runs until cancelled,
        silent once finished.
        """
        async with self._lock:  # a superseded socket's pump lets go before the newcomer's starts
            while not registered:
                await asyncio.sleep(_IDLE_POLL)
            loop = asyncio.get_running_loop()
            if self._position is not None:
                self._pacer.start(loop.time(), self._position)  # resume where the last socket left
            burst = 0
            while True:
                now = loop.time()
                try:
                    frame = self._next(now)
                except (OSError, RecordingError) as exc:
                    self.error = str(exc)
                    _log.warning("replay of %s stopped: %s", self.path, exc)
                    frame = None
                if frame is None:
                    self.finished.set()
                    await asyncio.Event().wait()  # silence, as after the close
                    return
                if self._position is None:
                    self._pacer.start(now, frame.offset)
                delay = self._pacer.due(frame.offset) - now
                if delay > 0:
                    await asyncio.sleep(delay)
                    burst = 0
                elif (burst := burst + 1) >= _BURST:
                    await asyncio.sleep(0)  # behind schedule: catch up, but let the server breathe
                    burst = 0
                self._position = frame.offset
                if frame.key is not None:
                    self._last[frame.key] = frame.data
                if frame.key is None or frame.key in registered:
                    if not await send(frame.data):
                        return  # kept pending: the next socket gets it
                    self.sent += 1
                self._pending = None

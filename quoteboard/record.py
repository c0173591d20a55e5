"""Recordings of a PUSH feed: write them during the day, read them back and pace a replay in the evening.

Kabu Station pushes nothing over lunch or after the close, so ``quoteboard stream --record FILE`` (and
the board's ``--record``) keeps every PUSH frame as it arrives, and ``--replay FILE`` has the test
server push them again with their recorded timing.

The file format is NDJSON, UTF-8, one JSON object per line, ``\\n`` line ends:

- a header line starts each recording session::

    {"quoteboard_recording": 1, "started_at": 1712190000.5, "source": "kabu", "symbols": ["7203@1"]}

  ``quoteboard_recording`` is the format version, ``started_at`` the epoch time recording began,
  ``source`` the feed's name (``demo``, ``kabu``, ``replay``), ``symbols`` the ``CODE@EXCHANGE`` keys
  registered at the start. Nothing else is written: no URL, no token, never the API password.
- then one line per received frame, in the order received::

    {"t": 1712190000.912, "frame": "{\\"Symbol\\":\\"7203\\", ...}"}

  ``t`` is the epoch time of receipt; ``frame`` the frame's text exactly as received, before decoding,
  including frames that do not decode. A frame that is not valid UTF-8 is kept as ``frame_b64``
  (base64 of its bytes) instead.

Recording appends: a second run on the same file adds a header and its frames, so a morning and an
afternoon session can share a file. Every line is flushed as it is written. A line that cannot be
read back (a half-written last line after a crash, not JSON, a missing key) is skipped and counted,
never fatal.

Replay time: the first frame is at offset 0 and each frame keeps its recorded distance from the one
before, silences within a session included; between two sessions (when nothing was recording) the
replay waits only :data:`SESSION_GAP` seconds. :class:`Pacer` turns offsets into due times.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Final, NamedTuple, Self

import msgspec

__all__ = [
    "FORMAT_VERSION",
    "SESSION_GAP",
    "Pacer",
    "RecordedFrame",
    "Recorder",
    "Recording",
    "RecordingError",
    "frame_key",
    "iter_frames",
    "scan_recording",
]

FORMAT_VERSION: Final = 1
#: Seconds of replay time between the last frame of one recording session and the first of the next.
SESSION_GAP: Final = 1.0
_BOM: Final = b"\xef\xbb\xbf"


class RecordingError(Exception):
    """A recording cannot be written or read; the message is one line fit for the user."""


def _describe(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------

_encoder: Final = msgspec.json.Encoder()


class Recorder:
    """Appends a header, then every frame handed to :meth:`write`, to an NDJSON file.

    ``write(frame, received_at)`` is shaped to be :class:`quoteboard.feed.Feed`'s ``on_frame`` hook.
    ``symbols`` are written into the header as ``str(key)``. Raises :class:`RecordingError` when the
    file cannot be opened or written. After :meth:`close` further frames are ignored, which is how
    ``stream --count N`` stops recording at the N-th quote.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        symbols: Iterable[object] = (),
        *,
        source: str = "",
        started_at: float | None = None,
    ) -> None:
        self.path = Path(path)
        self.frames = 0
        try:
            self._file: IO[bytes] | None = open(self.path, "a+b")  # noqa: SIM115 (closed in close())
        except OSError as exc:
            raise RecordingError(f"cannot record to {self.path}: {_describe(exc)}") from None
        header = {
            "quoteboard_recording": FORMAT_VERSION,
            "started_at": time.time() if started_at is None else started_at,
            "source": source,
            "symbols": [str(key) for key in symbols],
        }
        try:
            self._file.seek(0, os.SEEK_END)
            if self._file.tell():
                # After a crash the last line may be cut short: start ours on a line of its own.
                self._file.seek(-1, os.SEEK_END)
                if self._file.read(1) != b"\n":
                    self._file.write(b"\n")
            self._file.write(_encoder.encode(header) + b"\n")
            self._file.flush()
        except OSError as exc:
            self.close()
            raise RecordingError(f"cannot record to {self.path}: {_describe(exc)}") from None

    @property
    def closed(self) -> bool:
        return self._file is None

    def write(self, frame: bytes | str, received_at: float) -> None:
        """Append one frame as received (bytes or text) with its receive time, and flush."""
        file = self._file
        if file is None:
            return
        if isinstance(frame, str):
            record: dict[str, object] = {"t": received_at, "frame": frame}
        else:
            try:
                record = {"t": received_at, "frame": bytes(frame).decode("utf-8")}
            except UnicodeDecodeError:
                record = {"t": received_at, "frame_b64": base64.b64encode(frame).decode("ascii")}
        try:
            file.write(_encoder.encode(record) + b"\n")
            file.flush()
        except OSError as exc:
            self.close()
            raise RecordingError(f"recording to {self.path} stopped: {_describe(exc)}") from None
        self.frames += 1

    def close(self) -> None:
        """Stop recording and close the file (idempotent)."""
        file, self._file = self._file, None
        if file is not None:
            file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------


class RecordedFrame(NamedTuple):
    """One frame of a recording: its replay ``offset`` in seconds, the frame as received (``str``
    for a text frame, ``bytes`` for one that was not UTF-8) and its ``CODE@EXCHANGE`` key, or None
    when the frame names no symbol (it did not decode when it was received either)."""

    offset: float
    data: str | bytes
    key: str | None


class _Line(msgspec.Struct):
    quoteboard_recording: int | None = None
    symbols: list[str] | None = None
    t: float | None = None
    frame: str | None = None
    frame_b64: str | None = None


class _Keyed(msgspec.Struct):
    Symbol: str
    Exchange: int | None = None


_line_decoder: Final = msgspec.json.Decoder(_Line)
_keyed_decoder: Final = msgspec.json.Decoder(_Keyed)


def frame_key(data: str | bytes) -> str | None:
    """``CODE@EXCHANGE`` of a Kabu board frame (exchange 1 when null), or None if it names none."""
    try:
        keyed = _keyed_decoder.decode(data)
    except (msgspec.DecodeError, UnicodeError):
        return None
    if not keyed.Symbol:
        return None
    return f"{keyed.Symbol}@{keyed.Exchange if keyed.Exchange is not None else 1}"


class _Header(NamedTuple):
    symbols: list[str]


def _parse(lines: Iterable[bytes]) -> Iterator[RecordedFrame | _Header | None]:
    """Headers, frames with their replay offsets, and None for each bad line, in file order."""
    base = 0.0  # replay offset of the current session's first frame
    first_t: float | None = None  # receive time of the current session's first frame
    last = -SESSION_GAP  # replay offset of the latest frame
    for number, raw in enumerate(lines):
        line = raw.strip()
        if number == 0 and line.startswith(_BOM):
            line = line[len(_BOM) :].strip()
        if not line:
            continue
        try:
            item = _line_decoder.decode(line)
        except msgspec.DecodeError:
            yield None
            continue
        if item.quoteboard_recording is not None:
            first_t = None  # a new session: its first frame comes SESSION_GAP after the last one
            yield _Header(item.symbols or [])
            continue
        data: str | bytes | None = item.frame
        if data is None and item.frame_b64 is not None:
            try:
                data = base64.b64decode(item.frame_b64, validate=True)
            except (binascii.Error, ValueError):
                data = None
        if item.t is None or data is None or not math.isfinite(item.t):
            yield None
            continue
        if first_t is None:
            first_t, base = item.t, last + SESSION_GAP
        last = base + (item.t - first_t)
        yield RecordedFrame(last, data, frame_key(data))


def _open(path: Path) -> IO[bytes]:
    try:
        return open(path, "rb")  # the callers close it
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {_describe(exc)}") from None


@dataclass(slots=True)
class Recording:
    """What a scan of a recording found; the frames themselves stay in the file (see :func:`iter_frames`)."""

    path: Path
    #: ``CODE@EXCHANGE`` keys: the headers' symbols, then any other symbol seen in a frame, first seen first.
    symbols: list[str] = field(default_factory=list)
    frames: int = 0
    #: Bad lines skipped (cut short, not JSON, missing keys).
    skipped: int = 0
    sessions: int = 0
    #: Replay offset of the last frame: how long the replay lasts at speed 1.
    duration: float = 0.0
    #: The first frame of each symbol, for a ``GET /board`` asked before that symbol's first push.
    first_frames: dict[str, str | bytes] = field(default_factory=dict)


def scan_recording(path: str | os.PathLike[str]) -> Recording:
    """Read a recording through once, counting its frames, symbols and bad lines.

    Raises :class:`RecordingError` when the file cannot be opened or read; bad lines are only counted.
    """
    recording = Recording(Path(path))
    seen: dict[str, None] = {}
    with _open(recording.path) as file:
        try:
            for item in _parse(file):
                if item is None:
                    recording.skipped += 1
                elif isinstance(item, _Header):
                    recording.sessions += 1
                    seen.update(dict.fromkeys(item.symbols))
                else:
                    recording.frames += 1
                    recording.duration = item.offset
                    if item.key is not None and item.key not in recording.first_frames:
                        recording.first_frames[item.key] = item.data
                        seen[item.key] = None
        except OSError as exc:
            raise RecordingError(f"cannot read {recording.path}: {_describe(exc)}") from None
    recording.symbols = list(seen)
    return recording


def iter_frames(path: str | os.PathLike[str]) -> Iterator[RecordedFrame]:
    """The frames of a recording in order, read lazily (a day of frames need not fit in memory).

    Bad lines are skipped (:func:`scan_recording` counts them). Raises :class:`RecordingError` if the
    file cannot be opened, ``OSError`` if reading fails midway.
    """
    with _open(Path(path)) as file:
        for item in _parse(file):
            if isinstance(item, RecordedFrame):
                yield item


# --------------------------------------------------------------------------------------------------
# Pacing
# --------------------------------------------------------------------------------------------------


class Pacer:
    """When each replay offset is due on a monotonic clock, ``speed`` times faster than recorded.

    :meth:`start` anchors a recording offset to a clock reading; due times count from the anchor.
    Re-anchoring at the last offset delivered is how a replay pauses while nobody listens and how it
    starts over for ``--loop``.
    """

    def __init__(self, speed: float = 1.0) -> None:
        if not speed > 0 or not math.isfinite(speed):
            raise ValueError(f"speed must be a positive number, got {speed}")
        self.speed = speed
        self._clock = 0.0
        self._offset = 0.0

    def start(self, clock: float, offset: float) -> None:
        """From now on, recording ``offset`` corresponds to ``clock``."""
        self._clock, self._offset = clock, offset

    def due(self, offset: float) -> float:
        """The clock reading at which the frame at ``offset`` is due."""
        return self._clock + (offset - self._offset) / self.speed

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

Recording appends only to a recording: a second run on the same file adds a header and its frames,
so a morning and an afternoon session can share a file. The file must be missing, empty, or a
regular file whose first line is a header; anything else (a notes file, a symbolic link, a directory,
a device, a FIFO) is refused untouched, so a typo never writes into a file that is not ours. Every
line is flushed as it is written. A line that cannot be
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
import stat
import time
from collections.abc import Callable, Iterable, Iterator
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
    "check_record_target",
    "frame_key",
    "iter_frames",
    "scan_recording",
]

FORMAT_VERSION: Final = 1
#: Seconds of replay time between the last frame of one recording session and the first of the next.
SESSION_GAP: Final = 1.0
_BOM: Final = b"\xef\xbb\xbf"
#: How much of a file's first line is read to see if it is a recording header (a header is far shorter).
_HEADER_LIMIT: Final = 64 * 1024
_REFUSED: Final = "name a new file or an earlier recording"


class RecordingError(Exception):
    """A recording cannot be written or read; the message is one line fit for the user."""


def _describe(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------

_encoder: Final = msgspec.json.Encoder()


def _not_a_file(mode: int) -> str | None:
    """What a path is when it is not a regular file, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _existing_target(path: Path) -> os.stat_result | None:
    """The ``lstat`` of an existing regular file at ``path``, None if nothing is there; raises
    :class:`RecordingError` for anything else (a link is not followed: we write only what was named)."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RecordingError(f"cannot record to {path}: {_describe(exc)}") from None
    what = _not_a_file(found.st_mode)
    if what is not None:
        raise RecordingError(f"cannot record to {path}: it is {what}, not a recording; {_REFUSED}")
    return found


def _check_first_line(path: Path, file: IO[bytes]) -> None:
    """Raise :class:`RecordingError` unless ``file`` is empty or starts with a recording header."""
    file.seek(0)
    line = file.readline(_HEADER_LIMIT)
    if not line:
        return  # an empty file is a new recording
    line = line.removeprefix(_BOM).strip()
    try:
        is_header = _line_decoder.decode(line).quoteboard_recording is not None
    except msgspec.DecodeError:
        is_header = False
    if not is_header:
        raise RecordingError(
            f"cannot record to {path}: it is not a quoteboard recording (its first line is no "
            f"recording header); {_REFUSED}"
        )


def check_record_target(path: str | os.PathLike[str]) -> None:
    """Raise :class:`RecordingError` unless ``--record path`` may write there: nothing there yet, an
    empty file, or a recording (see the module docstring). Reads only; :class:`Recorder` checks again
    as it opens the file, so this is for refusing at start, before any feed is opened."""
    path = Path(path)
    if _existing_target(path) is None:
        return
    try:
        with open(path, "rb") as file:
            _check_first_line(path, file)
    except OSError as exc:
        raise RecordingError(f"cannot record to {path}: {_describe(exc)}") from None


def _open_for_append(path: Path) -> IO[bytes]:
    """``path`` opened to append a recording, after the checks of :func:`check_record_target`, made
    again on the file actually opened so that nothing swapped in meanwhile is written to."""
    before = _existing_target(path)
    # O_NOFOLLOW and O_BINARY exist on one platform each; a new file is created exclusively.
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    if before is None:
        flags |= os.O_EXCL
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        raise RecordingError(f"cannot record to {path}: {_describe(exc)}") from None
    file = open(fd, "r+b")  # noqa: SIM115 (the caller closes it)
    try:
        opened = os.fstat(fd)
        what = _not_a_file(opened.st_mode)
        if what is not None:
            raise RecordingError(f"cannot record to {path}: it is {what}, not a recording; {_REFUSED}")
        if before is not None and (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino):
            raise RecordingError(f"cannot record to {path}: it was replaced while being opened")
        _check_first_line(path, file)
    except OSError as exc:
        file.close()
        raise RecordingError(f"cannot record to {path}: {_describe(exc)}") from None
    except RecordingError:
        file.close()
        raise
    return file


class Recorder:
    """Appends a header, then every frame handed to :meth:`write`, to an NDJSON file.

    ``write(frame, received_at)`` is shaped to subscribe to a feed's ``events.frame``.
    ``symbols`` are written into the header as ``str(key)``. Raises :class:`RecordingError` when the
    file cannot be opened or written, or is not one a recording may go to (see
    :func:`check_record_target`). After :meth:`close` further frames are ignored, which is how
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
        self._file: IO[bytes] | None = _open_for_append(self.path)
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

    def writer(self, on_stop: Callable[[str], object]) -> Callable[[bytes | str, float], None]:
        """:meth:`write` for a frame handler that must not raise: a failure (the disk filled up, say)
        stops the recording and is handed to ``on_stop`` in words, once."""

        def write(frame: bytes | str, received_at: float) -> None:
            try:
                self.write(frame, received_at)
            except RecordingError as exc:
                on_stop(str(exc))

        return write

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

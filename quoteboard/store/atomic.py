"""Files written so that a crash never leaves half of one, and the names damaged ones are kept under.

Used by :mod:`quoteboard.store.toml`: a save goes to a temporary file in the same directory, is
flushed and fsynced, then :func:`replace`d onto the old file (atomic on POSIX and on Windows). A
damaged file is kept as ``NAME.bak``, and an existing backup is never overwritten: the next one is
``NAME.bak.1``, then ``.bak.2``...
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
import time
from pathlib import Path
from typing import Final

__all__ = ["RETRY_DELAYS", "backup_path", "os_reason", "replace", "sync_directory", "write_atomically"]

#: Seconds between the tries of a rename that Windows refuses: five tries over about a second.
RETRY_DELAYS: Final = (0.1, 0.2, 0.3, 0.4)
_rename = os.replace  # what replace() retries (tests put a refusing one here)
_sleep = time.sleep


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers, and ``path`` after a crash, see the old content
    or the new, never a mix. Raises ``OSError``; the temporary file is removed on any failure."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())  # the data is on disk before the rename makes it the file
        replace(temp, path)
    except BaseException:
        # The error being raised says what went wrong; a temp file that will not go is removed by the
        # next read() of the store.
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    sync_directory(path.parent)


def replace(source: Path, target: Path) -> None:
    """Rename ``source`` onto ``target``, atomically. Every rename of the stores goes through here, so
    that a retry for Windows (which refuses while another process has ``target`` open) has one place.

    Windows refuses the rename with ``PermissionError`` while another program (an editor, a virus
    scanner, a backup tool) holds ``target`` open, usually for a moment: it is tried again after each
    of :data:`RETRY_DELAYS`. A refusal that outlasts them is raised, saying so."""
    for delay in RETRY_DELAYS:
        try:
            _rename(source, target)
        except PermissionError:
            _sleep(delay)
        else:
            return
    try:
        _rename(source, target)
    except PermissionError as exc:
        tries = len(RETRY_DELAYS) + 1
        why = f"{os_reason(exc)}, {tries} tries over {sum(RETRY_DELAYS):g} s"
        why += ": is another program holding it open?"
        raise PermissionError(exc.errno, why, os.fspath(target)) from None


def sync_directory(directory: Path) -> None:
    """Make the rename itself survive a power cut (POSIX: the directory's entry is data too). The file
    is already whole either way, so a directory that cannot be opened or synced is no error. Windows
    cannot open a directory as a file; NTFS journals the rename."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def backup_path(path: Path) -> Path:
    """The first of ``NAME.bak``, ``NAME.bak.1``, ``NAME.bak.2``... next to ``path`` that does not exist."""
    first = path.with_name(f"{path.name}.bak")
    numbered = (first.with_name(f"{first.name}.{n}") for n in itertools.count(1))
    return next(p for p in itertools.chain([first], numbered) if not os.path.lexists(p))


def os_reason(exc: OSError) -> str:
    """An ``OSError`` in a few words: its ``strerror`` ("Permission denied") when it has one."""
    return exc.strerror or str(exc) or type(exc).__name__

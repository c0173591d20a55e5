"""One TOML file holding one value: read with honest notices about damage, saved atomically.

The watchlist, the alerts and the settings each give a :class:`TomlStore` their schema (how a parsed
file becomes their value, with a phrase per unusable part, and back) and nothing else: reading, keeping
damaged files aside and saving are the same for all three, and so are the notices.

- No file: the defaults, quietly.
- A file that cannot be read (permissions, a directory in its place) is moved aside; one that is not
  UTF-8 text (the offending byte and its offset) or not TOML (the parser's line and column) is copied
  aside and replaced by the defaults: :attr:`Loaded.reset` says the whole file was unusable.
- A file whose content is not what the schema expects keeps its usable part; the original is copied
  aside and the file rewritten, so the next start does not find the same problem.
- The backup is ``NAME.bak``, then ``.bak.1``..., never overwriting an older one. While a bad file
  cannot be backed up, :meth:`TomlStore.save` refuses to overwrite it: the user's only copy stays.
- Temporary files of a save killed before its rename are removed by the next read.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tomllib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final, Generic, TypeVar

import platformdirs
import tomli_w

from quoteboard.store.atomic import backup_path, os_reason, replace, write_atomically

__all__ = ["CONFIG_DIR_ENV", "SHOWN_PROBLEMS", "Loaded", "TomlStore", "config_dir", "toml_problem"]

CONFIG_DIR_ENV: Final = "QUOTEBOARD_CONFIG_DIR"
#: How many problems a notice lists before it says "and N more".
SHOWN_PROBLEMS: Final = 3

T = TypeVar("T")


def config_dir() -> Path:
    """Where quoteboard keeps its files: ``$QUOTEBOARD_CONFIG_DIR`` if set, else the platform's user
    config directory (``~/.config/quoteboard`` on Linux, ``%LOCALAPPDATA%\\quoteboard`` on Windows).

    Only computed, not created: :meth:`TomlStore.save` creates it when it first writes.
    """
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return platformdirs.user_config_path("quoteboard", appauthor=False)


@dataclass(frozen=True, slots=True)
class Loaded(Generic[T]):
    """What :meth:`TomlStore.read` found: the value, a sentence for the user (None: nothing to say),
    and whether the whole file was unusable (``value`` is then the defaults)."""

    value: T
    message: str | None = None
    reset: bool = False

    def said(self, instead: str) -> str | None:
        """The message, ending with what is used ``instead`` of the file when it was unusable."""
        if self.message is None or not self.reset:
            return self.message
        return f"{self.message}; {instead}"


class TomlStore(ABC, Generic[T]):
    """Reads and writes one TOML file; neither method raises because of the file or the disk.

    A subclass gives the schema and nothing else: the file's name in the config directory, ``what``
    it holds for sentences ("the watchlist"), the ``header`` comment the file starts with, and the
    three methods below. Both :meth:`read` and :meth:`save` block on the file system (fsync
    included): they are for small files.
    """

    file_name: ClassVar[str]
    what: ClassVar[str]
    header: ClassVar[str]

    def __init__(self, path: Path | None = None) -> None:
        #: The file; ``config_dir() / file_name`` unless given.
        self.path: Path = path if path is not None else config_dir() / self.file_name
        # Set when read() found a bad file it could not back up: save() backs it up first, and does
        # not write while that fails, so a change never destroys the user's only copy.
        self._pending_backup: Callable[[], Path] | None = None

    @abstractmethod
    def default(self) -> T:
        """The value when there is no usable file."""

    @abstractmethod
    def decode(self, data: dict[str, Any]) -> tuple[T, list[str]]:
        """A parsed file's usable part, and a short phrase for each part that was not."""

    @abstractmethod
    def encode(self, value: T) -> dict[str, Any]:
        """``value`` as a TOML table; ``ValueError`` for a value no file should hold (a bug)."""

    def read(self) -> Loaded[T]:
        """The saved value, or the defaults; the message says what was wrong and where the original
        went. Also removes temporary files left by a save that was killed. (Each store's own
        ``load()`` turns this into its result and adds what is used instead of an unusable file.)"""
        self._pending_backup = None
        notes = self._remove_leftover_temp_files()
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return Loaded(self.default(), _join(notes))
        except OSError as exc:
            problem = f"could not read {self.path} ({os_reason(exc)})"
            return Loaded(self.default(), _join([self._move_aside_saying(problem), *notes]), reset=True)
        try:
            # utf-8-sig: Windows Notepad used to start UTF-8 files with a byte order mark.
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            problem = f"{self.path} is not UTF-8 text (byte 0x{raw[exc.start]:02X} at offset {exc.start})"
            return self._replace_keeping_original(raw, self.default(), problem, reset=True, notes=notes)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            problem = f"{self.path} is not valid TOML ({toml_problem(exc)})"
            return self._replace_keeping_original(raw, self.default(), problem, reset=True, notes=notes)
        value, problems = self.decode(data)
        if not problems:
            return Loaded(value, _join(notes))
        listed = "; ".join(problems[:SHOWN_PROBLEMS])
        if len(problems) > SHOWN_PROBLEMS:
            listed += f"; and {len(problems) - SHOWN_PROBLEMS} more"
        problem = f"{self.path}: {listed}"
        return self._replace_keeping_original(raw, value, problem, reset=False, notes=notes)

    def save(self, value: T) -> str | None:
        """Write ``value`` atomically, creating the directory if needed.

        Returns ``None`` on success, else a sentence saying why it was not saved (read-only or full
        disk, permission denied, the directory is a file...); the file on disk is then unchanged.
        """
        data = (self.header + tomli_w.dumps(self.encode(value))).encode("utf-8")
        if self._pending_backup is not None:
            try:
                self._pending_backup()
            except OSError as exc:
                return (
                    f"did not save {self.what}: {self.path} must be backed up before it is "
                    f"overwritten, and that failed ({os_reason(exc)})"
                )
            self._pending_backup = None
        target = self._target()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            why = "a file is in the way" if isinstance(exc, FileExistsError) else os_reason(exc)
            return f"could not save {self.what}: could not create the directory {target.parent} ({why})"
        try:
            write_atomically(target, data)
        except OSError as exc:
            return f"could not save {self.what} to {self.path} ({os_reason(exc)})"
        return None

    # ----------------------------------------------------------------------------------------------

    def _target(self) -> Path:
        # A file symlinked into a dotfiles repository stays a link: write where it points.
        if self.path.is_symlink():
            with contextlib.suppress(OSError, RuntimeError):  # a loop: then replace the link itself
                return self.path.resolve()
        return self.path

    def _move_aside(self) -> Path:
        backup = backup_path(self.path)
        replace(self.path, backup)
        return backup

    def _copy_aside(self, raw: bytes) -> Path:
        backup = backup_path(self.path)
        write_atomically(backup, raw)
        return backup

    def _move_aside_saying(self, problem: str) -> str:
        try:
            backup = self._move_aside()
        except OSError as exc:
            if not os.path.lexists(self.path):
                # Nothing there to protect (its directory is a file, say): save() will say what is wrong.
                return problem
            self._pending_backup = self._move_aside
            return f"{problem}; could not move it aside ({os_reason(exc)}), {self._not_saved}"
        return f"{problem}; moved it aside to {backup.name}"

    def _replace_keeping_original(
        self, raw: bytes, value: T, problem: str, *, reset: bool, notes: list[str]
    ) -> Loaded[T]:
        """Copy the bad file's bytes aside, then write ``value`` in its place, so the file on disk is
        what is used and the next start does not find (and back up) the same problem."""
        try:
            backup = self._copy_aside(raw)
        except OSError as exc:
            self._pending_backup = functools.partial(self._copy_aside, raw)
            message = f"{problem}; could not back it up ({os_reason(exc)}), {self._not_saved}"
            return Loaded(value, _join([message, *notes]), reset)
        kept = f"kept it as {backup.name}" if reset else f"the original is kept as {backup.name}"
        failure = self.save(value)
        return Loaded(value, _join([f"{problem}; {kept}", failure, *notes]), reset)

    @property
    def _not_saved(self) -> str:
        return f"so it is left as it is and changes to {self.what} will not be saved until it can be"

    def _remove_leftover_temp_files(self) -> list[str]:
        # Only a save killed between writing and renaming leaves one. A second process saving the same
        # file at this very moment would lose that one save (it reports it); nothing else is touched.
        notes: list[str] = []
        leftovers: set[Path] = set()
        for path in {self.path, self._target()}:  # the temp file is next to where a symlink points
            with contextlib.suppress(OSError):  # no directory (yet): nothing left over
                leftovers.update(path.parent.glob(f".{path.name}.*.tmp"))
        for leftover in sorted(leftovers):
            try:
                leftover.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                notes.append(f"could not remove the leftover temporary file {leftover} ({os_reason(exc)})")
        return notes


def toml_problem(exc: tomllib.TOMLDecodeError) -> str:
    """``Expected '=' ... (at line 3, column 5)`` -> ``line 3, column 5: Expected '=' ...``."""
    text = str(exc)
    match = re.fullmatch(r"(?s)(.*) \(at line (\d+), column (\d+)\)", text)
    return f"line {match[2]}, column {match[3]}: {match[1]}" if match else text


def _join(parts: Iterable[str | None]) -> str | None:
    text = "; ".join(part for part in parts if part)
    return text or None

"""The watchlists on disk: each named list's symbols in order and how the board sorts it, and which
list is shown.

One small TOML file, ``watchlist.toml`` in the config directory (``$QUOTEBOARD_CONFIG_DIR``, else the
platform's user config directory)::

    shown = "main"

    [lists.main]
    symbols = ["7203@1", "9433@1"]
    sort = "added"

    [lists.banks]
    symbols = ["8306@1", "8316@1"]
    sort = "change"

A file in the older single-list format (``symbols`` and ``sort`` at the top) is read as the list
``main``, nothing dropped; the next save writes it in the format above.

Every save is atomic: the new content goes to a temporary file in the same directory, is flushed and
fsynced, then ``os.replace``d onto the old file (atomic on POSIX and on Windows). A crash or a kill at
any moment leaves the old file or the new one, never part of one. A kill between the two steps can
leave one ``.watchlist.toml.*.tmp`` behind; the next :meth:`WatchlistStore.load` removes it.

Nothing here raises because of what is on disk. A file that cannot be read, is not UTF-8 or is not TOML
is kept as ``watchlist.toml.bak`` and the board starts empty; a file with some unusable entries keeps
the usable ones, and its original is kept as a backup too. An existing backup is never overwritten:
the next one is ``watchlist.toml.bak.1``, then ``.bak.2``... Each case comes back as a sentence for the
user. A failed save (read-only directory, full disk) is a sentence as well, so the board keeps running
with its list in memory.

The API password has no field here, so it cannot end up in the file.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, get_args

import platformdirs
import tomli_w

from quoteboard.kabu.protocol import SymbolKey, parse_symbol
from quoteboard.safefile import backup_path
from quoteboard.safefile import os_reason as _reason
from quoteboard.safefile import write_atomically as _write_atomically

__all__ = [
    "CONFIG_DIR_ENV",
    "DEFAULT_SORT",
    "FILE_NAME",
    "MAIN",
    "MAX_NAME",
    "SORT_MODES",
    "LoadResult",
    "SortMode",
    "Watchlist",
    "WatchlistStore",
    "Watchlists",
    "config_dir",
]

CONFIG_DIR_ENV: Final = "QUOTEBOARD_CONFIG_DIR"
FILE_NAME: Final = "watchlist.toml"

#: How the board orders its rows: as added, by code, by change, by volume.
SortMode = Literal["added", "code", "change", "volume"]
SORT_MODES: Final[tuple[SortMode, ...]] = get_args(SortMode)
DEFAULT_SORT: Final[SortMode] = "added"
#: The list an old single-list file becomes, and the first list of a new board.
MAIN: Final = "main"
#: The longest list name (it is a tab's label).
MAX_NAME: Final = 24

_HEADER: Final = (
    "# quoteboard's watchlists, rewritten whenever the board's lists change.\n"
    "# shown: the list on screen. [lists.NAME]: symbols, CODE@EXCHANGE in board order;\n"
    "# sort: added, code, change or volume.\n"
)
#: How many problems a message lists before it says "and N more".
_SHOWN_PROBLEMS: Final = 3


def config_dir() -> Path:
    """Where quoteboard keeps its settings: ``$QUOTEBOARD_CONFIG_DIR`` if set, else the platform's user
    config directory (``~/.config/quoteboard`` on Linux, ``%LOCALAPPDATA%\\quoteboard`` on Windows).

    Only computed, not created: :meth:`WatchlistStore.save` creates it when it first writes.
    """
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return platformdirs.user_config_path("quoteboard", appauthor=False)


@dataclass(slots=True)
class Watchlist:
    """The board's symbols in the order they were added (no repeats), and its sort mode."""

    symbols: list[SymbolKey] = field(default_factory=list)
    sort: SortMode = DEFAULT_SORT

    def add(self, key: SymbolKey) -> bool:
        """Append ``key`` unless it is already there. True if it was added."""
        if key in self.symbols:
            return False
        self.symbols.append(key)
        return True

    def remove(self, key: SymbolKey) -> bool:
        """Remove ``key``. True if it was there."""
        if key not in self.symbols:
            return False
        self.symbols.remove(key)
        return True


@dataclass(slots=True)
class Watchlists:
    """Every named list, in tab order (never none), and the name of the one shown."""

    lists: dict[str, Watchlist] = field(default_factory=lambda: {MAIN: Watchlist()})
    shown: str = MAIN

    @classmethod
    def single(cls, watchlist: Watchlist, name: str = MAIN) -> Watchlists:
        return cls({name: watchlist}, name)

    @property
    def current(self) -> Watchlist:
        """The list shown."""
        return self.lists[self.shown]

    @property
    def names(self) -> list[str]:
        return list(self.lists)

    def problem_with_name(self, name: str, *, renaming: str | None = None) -> str | None:
        """Why ``name`` cannot name a new list (or ``renaming``'s new name), or None if it can."""
        if not name:
            return "a list needs a name"
        if len(name) > MAX_NAME:
            return f"a list name has at most {MAX_NAME} characters"
        if not name.isprintable() or name != name.strip():
            return "a list name has no control characters and no spaces at either end"
        taken = {other.casefold() for other in self.lists if other != renaming}
        if name.casefold() in taken:
            return f"there is already a list named {name!r}"
        return None

    def create(self, name: str, watchlist: Watchlist | None = None) -> None:
        """Add the list ``name`` (empty unless given) after the others; ValueError says why not."""
        problem = self.problem_with_name(name)
        if problem is not None:
            raise ValueError(problem)
        self.lists[name] = watchlist if watchlist is not None else Watchlist()

    def rename(self, old: str, new: str) -> None:
        """Rename ``old`` in place (same tab position); ValueError says why not."""
        problem = self.problem_with_name(new, renaming=old)
        if problem is not None:
            raise ValueError(problem)
        self.lists = {new if name == old else name: wl for name, wl in self.lists.items()}
        if self.shown == old:
            self.shown = new

    def delete(self, name: str) -> None:
        """Remove ``name``; the shown list moves to its neighbour. ValueError for the last list."""
        if len(self.lists) <= 1:
            raise ValueError("the last list cannot be deleted")
        names = self.names
        index = names.index(name)
        del self.lists[name]
        if self.shown == name:
            self.shown = self.names[min(index, len(self.lists) - 1)]

    def step(self, offset: int) -> str:
        """Show the list ``offset`` tabs away (wrapping round); returns its name."""
        names = self.names
        self.shown = names[(names.index(self.shown) + offset) % len(names)]
        return self.shown


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What :meth:`WatchlistStore.load` found: the lists to start with, and a sentence for the
    user (``None`` when there is nothing to say)."""

    lists: Watchlists
    message: str | None = None

    @property
    def watchlist(self) -> Watchlist:
        """The list to show first."""
        return self.lists.current


class WatchlistStore:
    """Reads and writes one watchlists file; neither method raises because of the file or the disk.

    Both block on the file system (a few milliseconds for a file this size, fsync included).
    """

    def __init__(self, path: Path | None = None) -> None:
        #: The watchlist file; ``config_dir() / "watchlist.toml"`` unless given.
        self.path: Path = path if path is not None else config_dir() / FILE_NAME
        # Set when load() found a bad file it could not back up: save() backs it up first, and does
        # not write while that fails, so a change on the board never destroys the user's only copy.
        self._pending_backup: Callable[[], Path] | None = None

    def load(self) -> LoadResult:
        """The saved watchlist; an empty one with no message if there is no file yet.

        A file that cannot be read (permissions, a directory in its place) is moved aside; one that is
        not UTF-8 or not TOML is copied aside and replaced by an empty watchlist; one with unusable
        entries (a bad symbol, a repeat, the wrong type, an unknown sort mode or key) is copied aside
        and rewritten with the rest. The message says which and where the original went. Also removes
        temporary files left by a save that was killed.
        """
        self._pending_backup = None
        notes = self._remove_leftover_temp_files()
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return LoadResult(Watchlists(), _join(notes))
        except OSError as exc:
            problem = f"could not read {self.path} ({_reason(exc)})"
            return LoadResult(Watchlists(), _join([self._move_aside_and_start_empty(problem), *notes]))
        try:
            # utf-8-sig: Windows Notepad used to start UTF-8 files with a byte order mark.
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            problem = f"{self.path} is not UTF-8 text (byte 0x{raw[exc.start]:02X} at offset {exc.start})"
            return self._replace_keeping_original(raw, Watchlists(), problem, empty=True, notes=notes)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            problem = f"{self.path} is not valid TOML ({_toml_problem(exc)})"
            return self._replace_keeping_original(raw, Watchlists(), problem, empty=True, notes=notes)
        watchlists, problems = _lists_from_toml(data)
        if not problems:
            return LoadResult(watchlists, _join(notes))
        listed = "; ".join(problems[:_SHOWN_PROBLEMS])
        if len(problems) > _SHOWN_PROBLEMS:
            listed += f"; and {len(problems) - _SHOWN_PROBLEMS} more"
        problem = f"{self.path}: {listed}"
        return self._replace_keeping_original(raw, watchlists, problem, empty=False, notes=notes)

    def save(self, watchlists: Watchlists | Watchlist) -> str | None:
        """Write ``watchlists`` atomically (one :class:`Watchlist` is saved as the list ``main``),
        creating the directory if needed.

        Returns ``None`` on success, else a sentence saying why it was not saved (read-only or full
        disk, permission denied, the directory is a file...); the file on disk is then unchanged.
        Raises ``ValueError`` only for a sort mode that is not in :data:`SORT_MODES` (a programming
        error, not a disk one).
        """
        if isinstance(watchlists, Watchlist):
            watchlists = Watchlists.single(watchlists)
        data = (_HEADER + tomli_w.dumps(_lists_to_toml(watchlists))).encode("utf-8")
        if self._pending_backup is not None:
            try:
                self._pending_backup()
            except OSError as exc:
                return (
                    f"did not save the watchlist: {self.path} must be backed up before it is "
                    f"overwritten, and that failed ({_reason(exc)})"
                )
            self._pending_backup = None
        target = self._target()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            why = "a file is in the way" if isinstance(exc, FileExistsError) else _reason(exc)
            return f"could not save the watchlist: could not create the directory {target.parent} ({why})"
        try:
            _write_atomically(target, data)
        except OSError as exc:
            return f"could not save the watchlist to {self.path} ({_reason(exc)})"
        return None

    # ----------------------------------------------------------------------------------------------

    def _target(self) -> Path:
        # A watchlist symlinked into a dotfiles repository stays a link: write where it points.
        if self.path.is_symlink():
            with contextlib.suppress(OSError, RuntimeError):  # a loop: then replace the link itself
                return self.path.resolve()
        return self.path

    def _backup_path(self) -> Path:
        """The first of ``watchlist.toml.bak``, ``.bak.1``, ``.bak.2``... that does not exist."""
        return backup_path(self.path)

    def _move_aside(self) -> Path:
        backup = self._backup_path()
        os.replace(self.path, backup)
        return backup

    def _copy_aside(self, raw: bytes) -> Path:
        backup = self._backup_path()
        _write_atomically(backup, raw)
        return backup

    def _move_aside_and_start_empty(self, problem: str) -> str:
        try:
            backup = self._move_aside()
        except OSError as exc:
            if not os.path.lexists(self.path):
                # Nothing there to protect (its directory is a file, say): save() will say what is wrong.
                return f"{problem}; starting with an empty watchlist"
            self._pending_backup = self._move_aside
            return f"{problem}; could not move it aside ({_reason(exc)}), {_NOT_SAVED}"
        return f"{problem}; moved it aside to {backup.name}, starting with an empty watchlist"

    def _replace_keeping_original(
        self, raw: bytes, watchlists: Watchlists, problem: str, *, empty: bool, notes: list[str]
    ) -> LoadResult:
        """Copy the bad file's bytes aside, then write ``watchlist`` in its place, so the file on disk
        is what the board shows and the next start does not find (and back up) the same problem."""
        try:
            backup = self._copy_aside(raw)
        except OSError as exc:
            self._pending_backup = functools.partial(self._copy_aside, raw)
            message = f"{problem}; could not back it up ({_reason(exc)}), {_NOT_SAVED}"
            return LoadResult(watchlists, _join([message, *notes]))
        if empty:
            message = f"{problem}; kept it as {backup.name}, starting with an empty watchlist"
        else:
            message = f"{problem}; the original is kept as {backup.name}"
        failure = self.save(watchlists)
        return LoadResult(watchlists, _join([message, failure, *notes]))

    def _remove_leftover_temp_files(self) -> list[str]:
        # Only a save killed between writing and renaming leaves one. A second board saving the same
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
                notes.append(f"could not remove the leftover temporary file {leftover} ({_reason(exc)})")
        return notes


_NOT_SAVED: Final = "so it is left as it is and changes to the watchlist will not be saved until it can be"


def _from_toml(data: dict[str, object]) -> tuple[Watchlist, list[str]]:
    """The usable part of a parsed file, and a short phrase for each part that was not."""
    problems: list[str] = []
    symbols: list[SymbolKey] = []
    entries = data.get("symbols", [])
    if not isinstance(entries, list):
        problems.append(f'symbols = {_show(entries)} is not a list such as ["7203@1"] (ignored)')
        entries = []
    for entry in entries:
        if not isinstance(entry, str):
            problems.append(f'{_show(entry)} is not a symbol such as "7203@1" (dropped)')
            continue
        try:
            key = parse_symbol(entry)
        except ValueError as exc:
            problems.append(f"{exc} (dropped)")
            continue
        if key in symbols:
            problems.append(f"{entry!r} repeats {key} (dropped)")
            continue
        symbols.append(key)
    sort: SortMode = DEFAULT_SORT
    value = data.get("sort", DEFAULT_SORT)
    for mode in SORT_MODES:  # not `value in SORT_MODES`: the loop gives `mode` its Literal type
        if value == mode:
            sort = mode
            break
    else:
        problems.append(f"sort = {_show(value)} is not one of {', '.join(SORT_MODES)} (using {DEFAULT_SORT})")
    problems.extend(f"unknown setting {key!r} (ignored)" for key in data if key not in ("symbols", "sort"))
    return Watchlist(symbols, sort), problems


def _lists_from_toml(data: dict[str, object]) -> tuple[Watchlists, list[str]]:
    """Every usable list of a parsed file, and a phrase for each part that was not. A file without
    ``lists`` is the older single-list format: it becomes the list ``main``."""
    if "lists" not in data:
        watchlist, found = _from_toml(data)
        return Watchlists.single(watchlist), found
    problems: list[str] = []
    result = Watchlists({})
    tables = data["lists"]
    if not isinstance(tables, dict):
        problems.append(f"lists = {_show(tables)} is not a table of lists (ignored)")
        tables = {}
    for name, table in tables.items():
        problem = result.problem_with_name(name)
        if problem is not None:
            problems.append(f"list {_show(name)}: {problem} (dropped)")
            continue
        if not isinstance(table, dict):
            problems.append(f"list {name!r} = {_show(table)} is not a table of symbols and sort (dropped)")
            continue
        watchlist, found = _from_toml(table)
        problems.extend(f"list {name!r}: {phrase}" for phrase in found)
        result.create(name, watchlist)
    if not result.lists:
        result.create(MAIN)
    shown = data.get("shown", result.names[0])
    if isinstance(shown, str) and shown in result.lists:
        result.shown = shown
    else:
        result.shown = result.names[0]
        problems.append(f"shown = {_show(shown)} names no list (showing {result.shown!r})")
    problems.extend(f"unknown setting {key!r} (ignored)" for key in data if key not in ("lists", "shown"))
    return result, problems


def _lists_to_toml(watchlists: Watchlists) -> dict[str, object]:
    return {
        "shown": watchlists.shown,
        "lists": {name: _to_toml(watchlist) for name, watchlist in watchlists.lists.items()},
    }


def _to_toml(watchlist: Watchlist) -> dict[str, object]:
    if watchlist.sort not in SORT_MODES:
        raise ValueError(f"sort must be one of {', '.join(SORT_MODES)}, got {watchlist.sort!r}")
    return {"symbols": [str(key) for key in watchlist.symbols], "sort": watchlist.sort}


def _toml_problem(exc: tomllib.TOMLDecodeError) -> str:
    """``Expected '=' ... (at line 3, column 5)`` -> ``line 3, column 5: Expected '=' ...``."""
    text = str(exc)
    match = re.fullmatch(r"(?s)(.*) \(at line (\d+), column (\d+)\)", text)
    return f"line {match[2]}, column {match[3]}: {match[1]}" if match else text


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _join(parts: Iterable[str | None]) -> str | None:
    text = "; ".join(part for part in parts if part)
    return text or None

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

The file is kept by :class:`quoteboard.store.TomlStore`: every save is atomic (a crash or a kill at any
moment leaves the old file or the new one, never part of one), and nothing here raises because of what
is on disk. A file that cannot be read, is not UTF-8 or is not TOML is kept as ``watchlist.toml.bak``
and the board starts without it; a file with some unusable entries keeps the usable ones, and its
original is kept as a backup too. Each case comes back as a sentence for the user. A failed save
(read-only directory, full disk) is a sentence as well, so the board keeps running with its list in
memory.

The API password has no field here, so it cannot end up in the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal, get_args

from quoteboard.kabu.protocol import SymbolKey, parse_symbol
from quoteboard.store import CONFIG_DIR_ENV, Loaded, TomlStore, config_dir

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
class LoadResult(Loaded[Watchlists]):
    """What :meth:`WatchlistStore.load` found: the lists to start with, a sentence for the user
    (``None`` when there is nothing to say), and whether the whole file was unusable (``reset``)."""

    @property
    def lists(self) -> Watchlists:
        return self.value

    def notice(self, starting_with: str = "an empty watchlist") -> str | None:
        """The message for the user; when the whole file was unusable it ends with what the board
        starts with instead (it knows: the demo's names, say), never a guess made here."""
        return self.said(f"starting with {starting_with}")

    @property
    def watchlist(self) -> Watchlist:
        """The list to show first."""
        return self.lists.current


class WatchlistStore(TomlStore[Watchlists]):
    """Reads and writes one watchlists file; neither method raises because of the file or the disk."""

    file_name, what, header = FILE_NAME, "the watchlist", _HEADER

    def load(self) -> LoadResult:
        """The saved watchlists; one empty list with no message if there is no file yet.

        A damaged file is kept aside (see :mod:`quoteboard.store.toml`); entries that cannot be used
        (a bad symbol or list name, a repeat, the wrong type, an unknown sort mode or key) are dropped
        and the rest kept. The message says which and where the original went.
        """
        loaded = self.read()
        return LoadResult(loaded.value, loaded.message, loaded.reset)

    def save(self, watchlists: Watchlists | Watchlist) -> str | None:
        """Write ``watchlists`` atomically (one :class:`Watchlist` is saved as the list ``main``).

        Returns ``None`` on success, else a sentence saying why it was not saved; the file on disk is
        then unchanged. Raises ``ValueError`` only for a sort mode that is not in :data:`SORT_MODES`
        (a programming error, not a disk one).
        """
        if isinstance(watchlists, Watchlist):
            watchlists = Watchlists.single(watchlists)
        return super().save(watchlists)

    def default(self) -> Watchlists:
        return Watchlists()

    def decode(self, data: dict[str, Any]) -> tuple[Watchlists, list[str]]:
        return _lists_from_toml(data)

    def encode(self, value: Watchlists) -> dict[str, Any]:
        return {
            "shown": value.shown,
            "lists": {name: _to_toml(watchlist) for name, watchlist in value.lists.items()},
        }


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


def _to_toml(watchlist: Watchlist) -> dict[str, object]:
    if watchlist.sort not in SORT_MODES:
        raise ValueError(f"sort must be one of {', '.join(SORT_MODES)}, got {watchlist.sort!r}")
    return {"symbols": [str(key) for key in watchlist.symbols], "sort": watchlist.sort}


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."

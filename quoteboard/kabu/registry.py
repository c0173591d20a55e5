"""The registration bookkeeping of one Kabu client, without I/O.

What the client watches (in the order it was added), what the station says is registered, which
symbols it refused and why, what is still to be registered, and the symbol cap. The feed asks it what
to send and tells it what the station answered; it sends nothing itself, so it is tested with plain
values (like websockets' ``protocol.py`` under its asyncio layer). A relay keeps one per client.

Kabu's rules it follows: ``PUT /register`` and ``/unregister`` answer the station's whole list, which
replaces ours; ``GET /board`` and ``GET /symbol`` register their symbol silently; the cap counts every
registered symbol, whoever registered it.

Like :mod:`quoteboard.kabu.protocol`, it imports no asyncio, httpx, websockets or textual.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from quoteboard.kabu.errors import KabuError, SymbolLimitError
from quoteboard.kabu.protocol import SymbolKey

__all__ = ["DEFAULT_MAX_SYMBOLS", "Registry"]

#: Kabu's cap on registered symbols, REST and PUSH together (the vendor has announced 100).
DEFAULT_MAX_SYMBOLS: Final = 50


class Registry:
    """One client's registrations: watched, registered at the station, refused, and pending."""

    def __init__(self, watch: Iterable[SymbolKey] = (), *, limit: int = DEFAULT_MAX_SYMBOLS) -> None:
        self.limit = limit
        self._watched: dict[SymbolKey, None] = dict.fromkeys(watch)
        self._registered: dict[SymbolKey, None] = {}
        self._refused: dict[SymbolKey, KabuError] = {}
        #: A registration failed for want of an answer (not a refusal): worth asking again.
        self.retry_due = False

    def __repr__(self) -> str:
        return f"Registry({len(self._watched)} watched, {len(self._registered)}/{self.limit} registered)"

    # -- what it knows ----------------------------------------------------------------------------

    @property
    def watched(self) -> list[SymbolKey]:
        """The symbols kept registered, in the order they were added."""
        return list(self._watched)

    @property
    def registered(self) -> list[SymbolKey]:
        """What the station said is registered, in its order (with symbols ``/board`` added)."""
        return list(self._registered)

    @property
    def refused(self) -> dict[SymbolKey, KabuError]:
        """The symbols the station refused, with its answer; they are not watched."""
        return dict(self._refused)

    def is_watched(self, key: SymbolKey) -> bool:
        return key in self._watched

    def is_registered(self, key: SymbolKey) -> bool:
        return key in self._registered

    def holds(self, key: SymbolKey) -> bool:
        """Watched and registered: a call that registers ``key`` as a side effect (``GET /symbol``)
        takes no slot, and leaves nothing registered that is not wanted."""
        return key in self._watched and key in self._registered

    def missing(self) -> list[SymbolKey]:
        """Watched symbols the station has not registered: what to register next."""
        return [key for key in self._watched if key not in self._registered]

    def count(self) -> str:
        """``12/50``: registered out of the cap, as the board and the relay print it."""
        return f"{len(self._registered)}/{self.limit}"

    def check_room(self, keys: Iterable[SymbolKey]) -> None:
        """Raise :class:`SymbolLimitError` if registering ``keys`` would pass the cap."""
        wanted = len(self._registered.keys() | set(keys))
        if wanted > self.limit:
            raise SymbolLimitError(wanted, self.limit)

    # -- what the client wants ---------------------------------------------------------------------

    def watch(self, keys: Iterable[SymbolKey]) -> None:
        """Keep ``keys`` registered from now on (a refusal of them is forgotten: asked again)."""
        for key in keys:
            self._refused.pop(key, None)
            self._watched[key] = None

    def unwatch(self, keys: Iterable[SymbolKey]) -> None:
        for key in keys:
            self._watched.pop(key, None)
            self._refused.pop(key, None)

    def replace_watch(self, keys: Iterable[SymbolKey]) -> None:
        """Watch exactly ``keys``, in their order (a new feed on a saved watchlist)."""
        self._watched = dict.fromkeys(keys)
        self._refused.clear()

    # -- what the station answered -----------------------------------------------------------------

    def station_lists(self, keys: Iterable[SymbolKey]) -> None:
        """The station's RegistList, answered by a register or an unregister: what it now holds."""
        self._registered = dict.fromkeys(keys)

    def station_added(self, key: SymbolKey) -> None:
        """``GET /board`` or ``/symbol`` answered: the station registered ``key`` as a side effect."""
        self._registered[key] = None

    def station_dropped(self, keys: Iterable[SymbolKey]) -> None:
        """An unregister found the station had none of ``keys`` (4001020: it restarted since)."""
        for key in keys:
            self._registered.pop(key, None)

    def station_refused(self, key: SymbolKey, error: KabuError) -> None:
        """The station refused ``key`` (no such symbol, the limit): it is watched no more."""
        self._watched.pop(key, None)
        self._refused[key] = error

    def station_failed(self) -> None:
        """A registration got no answer, or the station failed: ask again later (the feed clears
        :attr:`retry_due` once it has)."""
        self.retry_due = True

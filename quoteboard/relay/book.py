"""The relay's bookkeeping, without I/O: its clients, their tokens and symbols, the station's union.

Each client (one ``POST /token``) owns the symbols it registered. A symbol is registered at the
station while at least one client wants it, and unregistered when the last one lets it go; the
station's cap is shared, so a client may register only while the union stays within it. A client
whose sockets are all gone and who has made no call for the lease is released, like any client that
unregistered everything. The asyncio layer (:mod:`quoteboard.relay.app`) asks what to send upstream
and does it; this module only counts.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from quoteboard.kabu.errors import SymbolLimitError
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.registry import DEFAULT_MAX_SYMBOLS

__all__ = ["DEFAULT_LEASE", "DEFAULT_MAX_CLIENTS", "Book", "Client", "TooManyClients"]

DEFAULT_LEASE: Final = 120.0
DEFAULT_MAX_CLIENTS: Final = 256


class TooManyClients(Exception):
    """Another token would pass ``--max-clients``."""


@dataclass(eq=False)
class Client:
    """One program using the relay: its token, its symbols (in the order it added them), its sockets."""

    id: str
    token: str = field(repr=False)  # never in a status or a log line
    peer: str
    last_call: float
    symbols: dict[SymbolKey, None] = field(default_factory=dict)
    sockets: int = 0
    #: Frames this client's sockets missed: a newer frame of the same symbol replaced them unsent.
    dropped: int = 0

    def regist_list(self) -> list[SymbolKey]:
        return list(self.symbols)


class Book:
    """Every client of one relay, and the reference counts that make the station's list."""

    def __init__(
        self,
        *,
        limit: int = DEFAULT_MAX_SYMBOLS,
        lease: float = DEFAULT_LEASE,
        max_clients: int = DEFAULT_MAX_CLIENTS,
    ) -> None:
        self.limit = limit
        self.lease = lease
        self.max_clients = max_clients
        self._clients: dict[str, Client] = {}
        self._counts: dict[SymbolKey, int] = {}
        self._serial = 0

    def __repr__(self) -> str:
        return f"Book({len(self._clients)} clients, {len(self._counts)}/{self.limit} symbols)"

    # -- who ----------------------------------------------------------------------------------------

    @property
    def clients(self) -> list[Client]:
        return list(self._clients.values())

    def join(self, peer: str, now: float) -> Client:
        """A new client with a new token. Raises :class:`TooManyClients` past the maximum."""
        if len(self._clients) >= self.max_clients:
            raise TooManyClients(f"the relay serves at most {self.max_clients} clients")
        self._serial += 1
        client = Client(f"c{self._serial}", secrets.token_hex(16), peer, now)
        self._clients[client.token] = client
        return client

    def client(self, token: str | None) -> Client | None:
        """The client holding ``token``, if any."""
        return self._clients.get(token) if token else None

    def expired(self, now: float) -> list[Client]:
        """Clients with no socket that have made no call for the lease: to be released."""
        return [c for c in self._clients.values() if c.sockets == 0 and now - c.last_call >= self.lease]

    def leave(self, client: Client) -> list[SymbolKey]:
        """Forget ``client``; returns the symbols no one wants any more (to unregister upstream)."""
        self._clients.pop(client.token, None)
        return self._release(client, list(client.symbols))

    # -- what -------------------------------------------------------------------------------------

    @property
    def union(self) -> list[SymbolKey]:
        """What the station should hold: every symbol some client wants, first wanted first."""
        return list(self._counts)

    def wanted(self, key: SymbolKey) -> bool:
        return key in self._counts

    def count(self) -> str:
        return f"{len(self._counts)}/{self.limit}"

    def plan_register(self, keys: Iterable[SymbolKey]) -> list[SymbolKey]:
        """The symbols to register upstream before ``keys`` can be a client's: those no client has
        yet. Raises :class:`SymbolLimitError` if the union would pass the cap, as the station would."""
        new = [key for key in dict.fromkeys(keys) if key not in self._counts]
        if len(self._counts) + len(new) > self.limit:
            raise SymbolLimitError(len(self._counts) + len(new), self.limit)
        return new

    def register(self, client: Client, keys: Iterable[SymbolKey]) -> None:
        """``keys`` are ``client``'s from now on (each counted once per client)."""
        for key in keys:
            if key not in client.symbols:
                client.symbols[key] = None
                self._counts[key] = self._counts.get(key, 0) + 1

    def unregister(self, client: Client, keys: Iterable[SymbolKey]) -> list[SymbolKey]:
        """``client`` lets ``keys`` go; returns those no one wants any more (to unregister upstream)."""
        return self._release(client, [key for key in keys if key in client.symbols])

    def unregister_all(self, client: Client) -> list[SymbolKey]:
        return self._release(client, list(client.symbols))

    def _release(self, client: Client, keys: list[SymbolKey]) -> list[SymbolKey]:
        gone = []
        for key in keys:
            if key in client.symbols:
                del client.symbols[key]
                left = self._counts[key] - 1
                if left:
                    self._counts[key] = left
                else:
                    del self._counts[key]
                    gone.append(key)
        return gone

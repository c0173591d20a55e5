"""``quoteboard serve``: a WebSocket echo server and a Kabu-compatible station on one port.

The station speaks the vendor's contract (the official OpenAPI spec in ``contract/kabusapi``), in
Kabu's own field names, so quoteboard's client is tested against Kabu rather than against itself:
nothing here imports the client's types (only the vendor's error-code table,
:mod:`quoteboard.kabu.codes`, which the relay answers from too). See :mod:`.app` for the routes,
:mod:`.push` for the PUSH socket, :mod:`.market` for the simulated prices, :mod:`.catalogue` for the
listed symbols, :mod:`.replay` for pushing a recording instead of the market, :mod:`.outbox` for the
per-client send queues that keep a slow client from holding up the others, and :mod:`.runner` for
running it (loopback by default, incoming messages capped at 1 MiB).
"""

from __future__ import annotations

from .runner import BindError, TestServer, serve_forever

__all__ = ["BindError", "TestServer", "serve_forever"]

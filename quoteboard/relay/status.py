"""The body of ``GET /relay/status``: the station's state, each client's symbols, sockets and drops.

Never a password or a token: who may read it is :meth:`~quoteboard.relay.app.RelayApp.admit`'s call.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from quoteboard.feeds.contract import jst_iso
from quoteboard.feeds.kabu import KabuFeed
from quoteboard.relay.book import Book
from quoteboard.relay.push import PushSocket

__all__ = ["status_body"]


def status_body(feed: KabuFeed, book: Book, sockets: Collection[PushSocket], now: float) -> dict[str, Any]:
    """The relay's state at ``now`` (the relay's clock), as ``/relay/status`` answers it."""
    status = feed.status
    return {
        "station": {
            "state": status.state,
            "since": jst_iso(status.since),
            "detail": " ".join(status.detail.split()),
            "connections": feed.connections,
        },
        "clients": [
            {
                "id": client.id,
                "peer": client.peer,
                "symbols": [str(key) for key in client.symbols],
                "sockets": client.sockets,
                "dropped": client.dropped + sum(s.queue.dropped for s in sockets if s.client is client),
                "idle_s": round(now - client.last_call, 1),
            }
            for client in book.clients
        ],
        "symbols": [str(key) for key in book.union],
        "limit": book.limit,
        "firehose_sockets": sum(1 for s in sockets if s.client is None),
    }

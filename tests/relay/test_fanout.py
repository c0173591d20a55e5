"""A socket's queue: the latest frame of a symbol wins, oldest symbol first, lag measured."""

from __future__ import annotations

import asyncio

from quoteboard.kabu.protocol import SymbolKey
from quoteboard.relay.fanout import LatestQueue

A, B = SymbolKey("7203"), SymbolKey("9433")


async def test_the_latest_frame_of_a_symbol_replaces_the_unsent_one_and_is_counted():
    now = [0.0]
    queue = LatestQueue(clock=lambda: now[0])
    queue.put(A, b"a1")
    queue.put(B, b"b1")
    queue.put(A, b"a2")  # a1 was never sent: a2 takes its place, ahead of b1
    assert len(queue) == 2 and queue.dropped == 1
    assert [await queue.get(), await queue.get()] == [b"a2", b"b1"]


async def test_a_socket_is_behind_while_its_queue_never_empties():
    now = [0.0]
    queue = LatestQueue(clock=lambda: now[0])
    queue.put(A, b"a1")
    assert queue.behind(5.0) == 0.0  # one frame waiting for an idle sender is not lag
    assert await queue.get() == b"a1"
    now[0] = 1.0
    queue.put(B, b"b1")  # arrives while a1 is still being sent
    assert queue.behind(4.0) == 3.0
    assert await queue.get() == b"b1"
    queue.put(A, b"a2")
    assert queue.behind(9.0) == 8.0  # still never caught up
    assert await queue.get() == b"a2"
    waiter = asyncio.ensure_future(queue.get())  # empty: caught up
    await asyncio.sleep(0)
    assert queue.behind(9.0) == 0.0
    waiter.cancel()

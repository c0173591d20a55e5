"""Running a started feed for a headless command: until it is done, saying its changes of state.

Shared by ``stream`` and ``stream --alerts`` (each subscribes its own handler to the quotes), in a
module of its own so that neither command imports the other for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import IO, Any

from quoteboard.feeds.contract import Feed, FeedStatus

__all__ = ["follow"]


async def follow(
    feed: Feed,
    done: asyncio.Event,
    duration: float | None,
    err: IO[str],
    until: Awaitable[object] | None = None,
) -> None:
    """Run a started feed (its quotes subscribed to) until ``done`` is set, ``duration`` seconds or
    ``until`` is done, saying its changes of state on ``err``; raises what stopped the feed."""

    said = ""

    def on_status(status: FeedStatus) -> None:
        nonlocal said
        line = f"quoteboard: {feed.name} feed {status.describe()}\n"
        # A station away for long is asked again every few seconds: one line while nothing changes.
        if (status.state != "connecting" or status.attempt) and line != said:
            err.write(line)
            err.flush()
            said = line

    feed.events.status.subscribe(on_status)
    runner = asyncio.create_task(feed.run())
    waiters: set[asyncio.Future[Any]] = {runner, asyncio.create_task(done.wait())}
    if until is not None:
        waiters.add(asyncio.ensure_future(until))
    try:
        await asyncio.wait(waiters, timeout=duration, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
        feed.events.status.unsubscribe(on_status)
    if runner.done() and not runner.cancelled() and (error := runner.exception()) is not None:
        raise error

"""What the station says once a day about a symbol (``/symbol``, ``/primaryexchange``,
``/regulations``): asked once per JST day and shared by everyone who asks at the same time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from quoteboard.kabu.records import jst_day

__all__ = ["DailyCache"]

T = TypeVar("T")


class DailyCache(Generic[T]):
    """Answers kept until the JST day changes; concurrent asks for one key make one call.

    A failed call is not kept: the next ask tries again.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._answers: dict[Hashable, tuple[int, T]] = {}
        self._pending: dict[Hashable, asyncio.Future[T]] = {}

    def peek(self, key: Hashable) -> T | None:
        """Today's answer for ``key`` if one is held, without asking."""
        held = self._answers.get(key)
        if held is None or held[0] != jst_day(self._clock()):
            return None
        return held[1]

    async def get(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> T:
        held = self.peek(key)
        if held is not None:
            return held
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            answer = await fetch()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # nobody else may be waiting: not an unretrieved error
            raise
        else:
            future.set_result(answer)
            self._answers[key] = (jst_day(self._clock()), answer)
            return answer
        finally:
            del self._pending[key]

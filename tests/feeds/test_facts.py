"""StationFacts: each answer asked once per JST day and symbol, afresh for a new feed."""

from __future__ import annotations

import asyncio
import gc
import weakref

from quoteboard.feeds.facts import StationFacts
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.reference import PrimaryExchange, Regulation, SymbolFacts

DAY = 86_400.0
#: 2026-12-03 10:00 JST, as epoch seconds.
MORNING = 1_796_259_600.0


class Asker:
    """Answers made up here, counting what was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def symbol_facts(self, key: SymbolKey) -> SymbolFacts:
        self.asked.append(f"symbol {key}")
        await asyncio.sleep(0)
        return SymbolFacts(key.code, key.exchange, trading_unit=100.0)

    async def primary_exchange(self, code: str) -> PrimaryExchange:
        self.asked.append(f"primary {code}")
        return PrimaryExchange(code, 1)

    async def regulations(self, key: SymbolKey) -> tuple[Regulation, ...]:
        self.asked.append(f"regulations {key}")
        return ()


async def test_answers_are_kept_for_the_jst_day_and_shared_by_concurrent_asks() -> None:
    now = [MORNING]
    facts, feed, key = StationFacts(clock=lambda: now[0]), Asker(), SymbolKey("7203")
    assert facts.peek(feed, key) == (None, None, None)
    first, second = await asyncio.gather(facts.symbol(feed, key), facts.symbol(feed, key))
    assert first is second and first.trading_unit == 100.0
    await facts.primary_exchange(feed, "7203")
    await facts.regulations(feed, key)
    assert facts.peek(feed, key) == (first, PrimaryExchange("7203", 1), ())
    now[0] += 13 * 3600  # 23:00 JST, the same day
    await facts.symbol(feed, key)
    assert feed.asked == ["symbol 7203@1", "primary 7203", "regulations 7203@1"]
    now[0] += 2 * 3600  # 01:00 JST the next day
    assert facts.peek(feed, key) == (None, None, None)
    await facts.symbol(feed, key)
    assert feed.asked[-1] == "symbol 7203@1" and len(feed.asked) == 4


async def test_a_new_feed_is_asked_afresh_and_the_old_ones_answers_go() -> None:
    facts, key = StationFacts(clock=lambda: MORNING), SymbolKey("9984")
    old, new = Asker(), Asker()
    await facts.symbol(old, key)
    assert facts.peek(new, key) == (None, None, None)
    await facts.symbol(new, key)
    assert new.asked == ["symbol 9984@1"]
    assert facts.peek(old, key) == (None, None, None)  # switched back: asked again


async def test_the_feed_is_not_kept_alive_by_its_answers() -> None:
    facts, feed = StationFacts(clock=lambda: MORNING), Asker()
    await facts.regulations(feed, SymbolKey("7203"))
    gone = weakref.ref(feed)
    del feed
    gc.collect()
    assert gone() is None
    assert facts.peek(Asker(), SymbolKey("7203")) == (None, None, None)

"""The garbage collector tuned for a board that runs all day (``QuoteboardApp(tune_gc=True)``)."""

from __future__ import annotations

import gc
from typing import Final

__all__ = ["GC_GEN0_THRESHOLD", "SETTLE_GC_SECONDS", "settle_gc"]

#: With ``tune_gc``: the start-up heap is frozen this long after mount, and the youngest GC
#: generation is collected after this many allocations instead of Python's 700 (see settle_gc).
SETTLE_GC_SECONDS: Final = 1.0
GC_GEN0_THRESHOLD: Final = 10_000


def settle_gc(gen0_threshold: int = GC_GEN0_THRESHOLD) -> None:
    """Make the garbage collector cheap for a board that runs all day.

    Every repainted row makes a few Textual Strips, each with a handful of small caches: many
    short-lived containers under a flood of quotes, so the collector runs often, and each full pass
    walks the whole start-up heap (Textual's DOM, CSS, caches), which costs CPU and the slowest
    frames. Freezing what exists once the board is up takes that heap out of every later pass, and a
    higher first threshold makes the young passes rarer. Reference counting still frees almost
    everything at once; only cycles wait. What is frozen is never collected if it turns into cyclic
    garbage: the first feed's objects, once, after a switch of feed (a one-off, not a leak).
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, gen1, gen2)

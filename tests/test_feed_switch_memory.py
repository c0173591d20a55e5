"""Switching feed (f) back and forth must not grow the board's memory.

Each switch to the demo starts a new embedded station (starlette + uvicorn, a simulated market) and
each switch away tears it down, along with the old feed's socket, REST client and worker. If anything
kept a reference to one of them (a worker, a task, a callback, an exception's traceback), the board
would grow with every switch, all day long. (The RSS growth the issue saw over the first few
switches is the allocators keeping freed memory, not live objects: see README, Reliability.)
"""

from __future__ import annotations

import contextlib
import functools
import gc
import tracemalloc
import weakref
from collections import Counter
from pathlib import Path

from quoteboard.board.app import QuoteboardApp
from quoteboard.server import TestServer
from tests.app_support import make_app, seeded_demo_server, wait_for

SIZE = (160, 48)
SWITCHES = 30
#: Switches before the first measure: the first few fill caches that then stay (below).
WARMUP = 10
#: Traced heap growth allowed from switch WARMUP to switch SWITCHES (both onto the demo feed).
#: Measured on a healthy board: 120-220 KB over those 20 switches (~15 s), about what the board
#: grows in the same time without switching at all (~9 KB/s while quotes stream): the board running,
#: not the switches. It is bounded caches filling: rich's cell_len lru_cache (4096 strings: new
#: prices), Textual's render caches, urllib's urlsplit lru_cache (128 URLs; each demo station has a
#: new port), CPython's type attribute cache (4096 names looked up by getattr: httpcore's failed
#: "import sniffio", Textual's key_f...), plus +/-150 KB of frames and renders in flight when
#: measured. 800 KB leaves room for a machine three times slower (more time, more prices cached) and
#: still fails a real leak: keeping every stopped feed, feed worker and demo station measured 66 KB a
#: switch, 1.3 MB over these 20; the 0.8 MB a switch the issue feared would be 16 MB.
GROWTH_BOUND = 800_000


def _live(app: QuoteboardApp, name: str) -> bool:
    """The feed ``name`` is up and quotes arrive on its socket."""
    feed = app.feed
    return feed is not None and feed.name == name and feed.status.state == "live" and feed.received > 0


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def _alive(refs: list[weakref.ref[object]]) -> list[object]:
    gc.collect()
    return [obj for obj in (ref() for ref in refs) if obj is not None]


async def test_thirty_feed_switches_leave_the_heap_flat(tmp_path: Path, server: TestServer) -> None:
    """30 switches demo -> kabu -> demo..., each waited for until the new feed streams quotes: the
    traced heap grows less than GROWTH_BOUND from switch 10 to 30, and every stopped station, feed
    and feed worker is freed (a precise check that does not depend on their size)."""
    stations: list[weakref.ref[object]] = []

    def demo_server() -> TestServer:
        station = seeded_demo_server()
        stations.append(weakref.ref(station))
        return station

    # ``server`` (conftest) stands in for Kabu Station: it accepts any password, so no modal is asked.
    app = make_app(tmp_path, password="pw", base_url=server.base_url, demo_server=demo_server)
    feeds: list[weakref.ref[object]] = []
    workers: list[weakref.ref[object]] = []
    tracing = tracemalloc.is_tracing()  # python -X tracemalloc: measure with it, leave it on
    if not tracing:
        tracemalloc.start(1)  # one frame: cheap enough for a busy machine
    at_warmup = at_end = 0
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: _live(app, "demo"), what="the demo streaming")
            for switch in range(1, SWITCHES + 1):
                target = "kabu" if switch % 2 else "demo"
                await pilot.press("f")
                streaming = functools.partial(_live, app, target)
                await wait_for(pilot, streaming, what=f"switch {switch} to {target} streaming")
                feeds.append(weakref.ref(app.feed))
                workers.append(weakref.ref(app.feed_control._feed_worker))
                if switch == WARMUP:
                    at_warmup = _traced()
            at_end = _traced()
            # The current feed and station stay, of course; a stopped one may finish a REST call
            # (a snapshot fetch paced at 8/s) for a moment after the switch, so give them a second.
            old = feeds[:-1] + workers[:-1] + stations[:-1]
            with contextlib.suppress(AssertionError):
                await wait_for(pilot, lambda: not _alive(old), timeout=5.0)
            kept = Counter(type(obj).__name__ for obj in _alive(old))
    finally:
        if not tracing:
            tracemalloc.stop()
    growth = at_end - at_warmup
    assert growth < GROWTH_BOUND, (
        f"the traced heap grew {growth / 1e3:.0f} KB from switch {WARMUP} to {SWITCHES} "
        f"({growth / (SWITCHES - WARMUP) / 1e3:.1f} KB a switch), over {GROWTH_BOUND / 1e3:.0f} KB: "
        "something keeps what each switch makes"
    )
    assert not kept, f"stopped feeds, workers or stations still referenced: {dict(kept)}"
    assert len(stations) == SWITCHES // 2 + 1  # one demo station per switch to the demo, plus the first

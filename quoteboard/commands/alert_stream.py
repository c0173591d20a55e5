"""``quoteboard stream --alerts``: the saved alerts watched headless, each one that fires printed as one
NDJSON line (:func:`~quoteboard.kabu.records.alert_line`: the quote lines' conventions, README's
"NDJSON lines") and handed to ``--alert-command``.

For a machine left to watch alone. The alerts are the board's (``alerts.toml``); a fired one is marked
fired in the file, as the board would, by reading the file again and marking the same armed alert
(symbol and rule), so alerts a board set meanwhile are kept. The limit rules' symbols have their
day's limits read once (``GET /symbol``) before the watch starts.
"""

from __future__ import annotations

import asyncio
from typing import IO

import msgspec

from quoteboard.alerts.book import Alert, AlertBook, AlertStore
from quoteboard.alerts.command import run_alert_command
from quoteboard.commands.follow import follow
from quoteboard.feeds.contract import Feed, OffersSymbolFacts
from quoteboard.kabu.errors import KabuClientError
from quoteboard.kabu.protocol import Quote, SymbolKey
from quoteboard.kabu.records import alert_line
from quoteboard.kabu.state import Limits

__all__ = ["stream_alerts"]

_encoder = msgspec.json.Encoder()


async def stream_alerts(
    feed: Feed,
    book: AlertBook,
    out: IO[str],
    err: IO[str],
    *,
    store: AlertStore | None = None,
    command: list[str] | None = None,
    count: int | None = None,
    duration: float | None = None,
) -> int:
    """Watch a started ``feed`` until ``count`` alerts fired, ``duration`` seconds passed or no alert
    is left armed; returns how many fired. Waits for the commands started (each ends within its
    timeout); their failures go to ``err``."""
    done = asyncio.Event()
    fired_count = 0
    commands: set[asyncio.Task[None]] = set()

    async def run(alert: Alert) -> None:
        assert command is not None
        failure = await run_alert_command(command, alert)
        if failure is not None:
            err.write(f"quoteboard: {failure}\n")
            err.flush()

    def on_quote(quote: Quote) -> None:
        nonlocal fired_count
        if done.is_set():
            return
        fired = book.check(quote, limits.get)
        if not fired:
            return
        for alert in fired:
            out.write(_encoder.encode(alert_line(alert, quote)).decode() + "\n")
            fired_count += 1
            if command is not None:
                task = asyncio.get_running_loop().create_task(run(alert))
                commands.add(task)
                task.add_done_callback(commands.discard)
        out.flush()
        if store is not None:
            _mark_fired(store, fired, err)
        if (count is not None and fired_count >= count) or not book.armed_keys():
            done.set()

    limits = await _limits(feed, book, err)
    feed.events.quote.subscribe(on_quote)
    try:
        await follow(feed, done, duration, err)
    finally:
        feed.events.quote.unsubscribe(on_quote)
        if commands:
            await asyncio.gather(*commands, return_exceptions=True)
    return fired_count


async def _limits(feed: Feed, book: AlertBook, err: IO[str]) -> dict[SymbolKey, Limits]:
    """The day's limits of the symbols with an armed limit rule (registered: the feed watches them)."""
    keys = {alert.key for alert in book if alert.armed and alert.rule.kind in ("limit-up", "limit-down")}
    found: dict[SymbolKey, Limits] = {}
    if not keys or not isinstance(feed, OffersSymbolFacts):
        return found
    for key in sorted(keys):
        try:
            limits = Limits.of(await feed.symbol_facts(key))
        except KabuClientError as exc:
            err.write(f"quoteboard: {key}: the day's limits are not known, its limit alerts wait: {exc}\n")
            continue
        if limits is not None:
            found[key] = limits
    err.flush()
    return found


def _mark_fired(store: AlertStore, fired: list[Alert], err: IO[str]) -> None:
    """Mark ``fired`` in the file as it is now (a board may have changed it since we read it)."""
    loaded = store.load()
    if loaded.message:
        err.write(f"quoteboard: {loaded.message}\n")
    saved = loaded.book
    for alert in fired:
        for entry in saved:
            if entry.armed and entry.key == alert.key and entry.rule == alert.rule:
                entry.fired_price, entry.fired_at = alert.fired_price, alert.fired_at
                break
    failure = store.save(saved)
    if failure:
        err.write(f"quoteboard: {failure}\n")
    err.flush()

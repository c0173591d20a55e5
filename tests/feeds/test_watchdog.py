"""The stall watchdog's verdicts with plain values: no event loop, no socket."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest

from quoteboard.feeds.watchdog import Watchdog
from quoteboard.kabu.protocol import Quote, SymbolKey, decode_frame

TOYOTA = SymbolKey("7203", 1)
SONY = SymbolKey("6758", 1)
NTT = SymbolKey("9432", 1)


def quote(key: SymbolKey, time: str | None, volume_time: str | None = None) -> Quote:
    return Quote(key.code, exchange=key.exchange, time=time, volume_time=volume_time or time)


def silent_dog(stall_after: float = 30.0) -> Watchdog:
    """A watchdog whose socket opened at 0 and has been silent since."""
    dog = Watchdog(stall_after)
    dog.opened(0.0)
    dog.frames(0, 0.0)
    return dog


def test_a_newer_trade_at_the_station_than_push_delivered_is_a_stall() -> None:
    dog = silent_dog()
    dog.saw(quote(TOYOTA, "2026-03-02T10:00:00+09:00"))
    assert dog.verdict(TOYOTA, quote(TOYOTA, "2026-03-02T10:00:05+09:00")) == "stalled"


def test_a_newer_volume_time_alone_is_a_stall() -> None:
    dog = silent_dog()
    dog.saw(quote(TOYOTA, "2026-03-02T10:00:00+09:00"))
    answer = quote(TOYOTA, "2026-03-02T10:00:00+09:00", volume_time="2026-03-02T10:00:09+09:00")
    assert dog.verdict(TOYOTA, answer) == "stalled"


def test_the_same_or_an_older_time_at_the_station_is_quiet() -> None:
    dog = silent_dog()
    dog.saw(quote(TOYOTA, "2026-03-02T11:29:59+09:00"))
    assert dog.verdict(TOYOTA, quote(TOYOTA, "2026-03-02T11:29:59+09:00")) == "quiet"
    assert dog.verdict(TOYOTA, quote(TOYOTA, "2026-03-02T11:00:00+09:00")) == "quiet"
    assert dog.verdict(TOYOTA, quote(TOYOTA, None)) == "quiet"  # nothing traded yet (before the open)


def test_times_are_compared_as_times_not_text() -> None:
    dog = silent_dog()
    dog.saw(quote(TOYOTA, "2026-03-02T10:00:00+09:00"))
    # 01:00 UTC is 10:00 JST: the same moment, so not newer, though it sorts after as text.
    assert dog.verdict(TOYOTA, quote(TOYOTA, "2026-03-02T01:00:00+00:00")) == "quiet"
    assert dog.verdict(TOYOTA, quote(TOYOTA, "not a time")) == "quiet"


def test_a_null_time_in_a_push_frame_keeps_the_newest_known() -> None:
    dog = silent_dog()
    dog.saw(quote(TOYOTA, "2026-03-02T10:00:00+09:00"))
    dog.saw(Quote("7203", exchange=1))  # a frame with null times (an index, a book update)
    assert dog.verdict(TOYOTA, quote(TOYOTA, "2026-03-02T10:00:00+09:00")) == "quiet"


def test_a_symbol_push_never_delivered_is_learned_first_then_judged() -> None:
    # After the close, a board opened in the evening gets nothing pushed: its first answer is a
    # baseline (no reconnect each S seconds all evening); a later newer one is a stall.
    dog = silent_dog()
    assert dog.verdict(SONY, quote(SONY, "2026-03-02T15:30:00+09:00")) == "quiet"
    assert dog.verdict(SONY, quote(SONY, "2026-03-02T15:30:00+09:00")) == "quiet"
    assert dog.verdict(SONY, quote(SONY, "2026-03-03T09:00:00+09:00")) == "stalled"


def test_a_trade_judged_a_stall_once_is_not_judged_again() -> None:
    dog = silent_dog()
    dog.saw(quote(TOYOTA, "2026-03-02T10:00:00+09:00"))
    assert dog.verdict(TOYOTA, quote(TOYOTA, "2026-03-02T10:00:05+09:00")) == "stalled"
    # Reconnected, nothing pushed since, the market still: quiet, not a reconnect loop.
    assert dog.verdict(TOYOTA, quote(TOYOTA, "2026-03-02T10:00:05+09:00")) == "quiet"


def test_exchanges_of_one_code_are_kept_apart() -> None:
    dog = silent_dog()
    dog.saw(quote(SymbolKey("7203", 3), "2026-03-02T10:00:30+09:00"))
    dog.saw(quote(TOYOTA, "2026-03-02T10:00:00+09:00"))
    assert dog.verdict(TOYOTA, quote(TOYOTA, "2026-03-02T10:00:10+09:00")) == "stalled"


def test_no_probe_while_frames_arrive() -> None:
    dog = Watchdog(30.0)
    dog.opened(0.0)
    for second in range(0, 300, 10):
        dog.frames(second, float(second))  # the count moves: a frame came each time
        assert dog.due(float(second), [TOYOTA]) is None


def test_a_probe_is_due_after_stall_after_seconds_of_silence() -> None:
    dog = Watchdog(30.0)
    dog.opened(100.0)
    assert dog.frames(5, 100.0)
    assert not dog.frames(5, 129.0)  # no frame since
    assert dog.due(129.0, [TOYOTA]) is None
    assert dog.due(130.0, [TOYOTA]) == TOYOTA
    assert dog.silent_for(130.0) == 30.0


def test_no_probe_without_registered_symbols() -> None:
    dog = silent_dog()
    assert dog.due(1000.0, []) is None


def test_probes_rotate_through_the_registered_symbols_at_most_one_per_stall_after() -> None:
    dog = silent_dog(30.0)
    registered = [TOYOTA, SONY, NTT]
    asked = []
    now = 30.0
    while now < 30.0 + 4 * 30.0:  # every second for 120 s of silence
        key = dog.due(now, registered)
        if key is not None:
            asked.append((now, key))
        now += 1.0
    assert [key for _, key in asked] == [TOYOTA, SONY, NTT, TOYOTA]
    times = [t for t, _ in asked]
    assert all(b - a >= 30.0 for a, b in itertools.pairwise(times))


def test_a_new_socket_may_be_probed_once_silent_again() -> None:
    dog = silent_dog(10.0)
    assert dog.due(10.0, [TOYOTA]) == TOYOTA
    dog.opened(12.0)  # reconnected after a stall
    assert dog.due(21.0, [TOYOTA]) is None
    assert dog.due(22.0, [TOYOTA]) == TOYOTA


def test_forget_drops_symbols_no_longer_registered() -> None:
    dog = silent_dog()
    dog.saw(quote(TOYOTA, "2026-03-02T10:00:00+09:00"))
    dog.saw(quote(SONY, "2026-03-02T10:00:00+09:00"))
    dog.forget([SONY])
    # Toyota forgotten: its next answer is a baseline again, not a stall.
    assert dog.verdict(TOYOTA, quote(TOYOTA, "2026-03-02T10:00:05+09:00")) == "quiet"
    assert dog.verdict(SONY, quote(SONY, "2026-03-02T10:00:05+09:00")) == "stalled"


@pytest.mark.parametrize("stall_after", [0.0, -1.0, float("nan")])
def test_stall_after_must_be_positive(stall_after: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        Watchdog(stall_after)


def test_quotes_carry_trading_volume_time() -> None:
    decoded = decode_frame(b'{"Symbol":"7203","Exchange":1,"TradingVolumeTime":"2026-03-02T10:00:00+09:00"}')
    assert isinstance(decoded, Quote)
    assert decoded.volume_time == "2026-03-02T10:00:00+09:00"


def test_the_watchdog_imports_no_io() -> None:
    code = (
        "import sys, quoteboard.feeds.watchdog; "
        "print(sorted(m for m in ('asyncio', 'httpx', 'websockets', 'textual') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

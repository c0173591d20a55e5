"""The reconnect policy with plain values: what happened, at what time, gives the next state and wait."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from quoteboard.feeds.contract import FeedStatus, jst_iso
from quoteboard.feeds.policy import GIVE_WAY_WINDOW, STABLE_AFTER, Next, ReconnectPolicy


def policy(**kwargs: object) -> ReconnectPolicy:
    return ReconnectPolicy(rng=random.Random(1), **kwargs)  # type: ignore[arg-type]


def test_a_dropped_socket_backs_off_growing_and_a_delivering_one_starts_again():
    p = policy()
    p.opened(0.0)
    steps = [p.closed(1.0, delivered=False, on_purpose=False) for _ in range(3)]
    assert [s.state for s in steps] == ["reconnecting"] * 3 and [s.attempt for s in steps] == [1, 2, 3]
    assert 0.25 <= steps[0].delay <= 0.5 < steps[2].delay  # type: ignore[operator]
    p.opened(2.0)
    assert p.closed(2.5, delivered=True, on_purpose=False).attempt == 1


def test_a_socket_up_past_stable_after_resets_the_back_off():
    p = policy()
    for _ in range(4):
        p.closed(0.0, delivered=False, on_purpose=False)
    p.opened(100.0)
    assert p.closed(100.0 + STABLE_AFTER, delivered=False, on_purpose=False).attempt == 1


LOGIN_REFUSALS = [(4001007, "logged_out"), (4001017, "logged_out"), (4001009, "logged_out"),
                  (4001013, "wrong_password")]  # fmt: skip


@pytest.mark.parametrize(("code", "state"), LOGIN_REFUSALS)
def test_a_token_refused_for_the_login_waits_at_the_cadence(code, state):
    p = policy()
    assert p.refused(0.0, code) == Next(state, 2.0)
    assert p.refused(59.0, code) == Next(state, 2.0)
    assert p.refused(61.0, code) == Next(state, 10.0)  # away past a minute: not hammered


def test_nothing_listening_is_unreachable_and_anything_else_backs_off():
    p = policy(fast_cadence=0.1, slow_cadence=1.0, fast_for=5.0)
    assert p.failed_to_connect(0.0, nothing_listens=True) == Next("unreachable", 0.1)
    assert p.failed_to_connect(6.0, nothing_listens=True) == Next("unreachable", 1.0)
    assert p.failed_to_connect(7.0, nothing_listens=False).state == "reconnecting"
    assert p.refused(8.0, 4001001).state == "reconnecting"  # the station failed: not a login


def test_the_cadence_starts_again_with_each_state_and_after_live():
    p = policy()
    p.failed_to_connect(0.0, nothing_listens=True)
    assert p.failed_to_connect(70.0, nothing_listens=True).delay == 10.0
    assert p.refused(71.0, 4001007) == Next("logged_out", 2.0)  # restarted, not logged in yet
    p.opened(80.0)
    assert p.refused(200.0, 4001007) == Next("logged_out", 2.0)


def test_taken_twice_within_the_window_gives_way_and_not_when_told_not_to():
    p = policy()
    assert p.closed(0.0, delivered=False, on_purpose=True).state == "reconnecting"
    assert p.closed(GIVE_WAY_WINDOW - 1, delivered=False, on_purpose=True) == Next("taken", None)
    p.reset()
    assert p.closed(0.0, delivered=False, on_purpose=True).delay is not None
    assert p.closed(2 * GIVE_WAY_WINDOW, delivered=False, on_purpose=True).delay is not None  # a minute apart
    stubborn = policy(give_way=False)
    assert all(stubborn.closed(t, delivered=False, on_purpose=True).delay for t in (0.0, 1.0, 2.0))


def test_since_is_printed_in_jst_and_not_part_of_equality():
    assert jst_iso(0.0) == "1970-01-01T09:00:00+09:00"
    assert FeedStatus("live", since=1.0) == FeedStatus("live", since=2.0)


def test_the_policy_imports_no_io_or_ui_library():
    code = (
        "import sys, quoteboard.feeds.policy; "
        "bad = [m for m in ('asyncio', 'httpx', 'websockets', 'textual') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

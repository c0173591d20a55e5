"""The event filter: which statuses become events (``--event-command``, ``stream --events``), with
plain values and a clock given by the test."""

from __future__ import annotations

from datetime import datetime, timedelta

from quoteboard.feeds.contract import FeedStatus
from quoteboard.feeds.events import EventFilter, event_environment, event_record

T0 = 1_796_259_662.0  # 2026-12-03 10:01:02 JST


def status(state: str, detail: str = "") -> FeedStatus:
    return FeedStatus(state, detail)  # type: ignore[arg-type]  # the new state names


def run(steps: list[tuple[float, str]]) -> list[tuple[str, str | None]]:
    """Feed ``(seconds after T0, state)`` in order; the (event, previous) pairs that came out."""
    events = EventFilter()
    out = []
    for at, state in steps:
        out += events.status(status(state), T0 + at)
    return [(event.event, event.previous) for event in out]


def test_the_first_live_is_an_event_with_no_previous() -> None:
    assert run([(0, "connecting"), (1, "live")]) == [("live", None)]


def test_each_change_between_eventful_states_is_an_event_and_a_repeat_is_not() -> None:
    steps = [(0, "live"), (1, "stalled"), (2, "stalled"), (3, "live"), (4, "unreachable"), (5, "logged_out"),
             (6, "wrong_password"), (7, "taken"), (8, "live")]  # fmt: skip
    assert run(steps) == [
        ("live", None), ("stalled", "live"), ("live", "stalled"), ("unreachable", "live"),
        ("logged_out", "unreachable"), ("wrong_password", "logged_out"), ("taken", "wrong_password"),
        ("live", "taken"),
    ]  # fmt: skip


def test_quiet_connecting_and_closed_are_never_events_and_previous_skips_them() -> None:
    steps = [(0, "live"), (1, "quiet"), (2, "live"), (3, "quiet"), (4, "unreachable"), (5, "connecting"),
             (6, "quiet"), (7, "closed")]  # fmt: skip
    assert run(steps) == [("live", None), ("unreachable", "live")]


def test_a_reconnect_that_succeeds_within_the_grace_is_no_event() -> None:
    events = EventFilter()
    assert [e.event for e in events.status(status("live"), T0)] == ["live"]
    assert events.status(status("reconnecting", "closed by the station"), T0 + 1) == []
    assert events.deadline() == T0 + 31
    assert events.status(status("connecting"), T0 + 2) == []
    assert events.tick(T0 + 29.9) == []
    assert events.status(status("live"), T0 + 29.9) == []
    assert events.deadline() is None and events.tick(T0 + 100) == []


def test_reconnecting_for_the_grace_is_an_event_at_the_deadline_with_the_time_it_began() -> None:
    events = EventFilter()
    events.status(status("live"), T0)
    events.status(status("reconnecting", "first\nwhy"), T0 + 1)
    events.status(status("connecting"), T0 + 2)
    events.status(status("reconnecting", "still\nno station"), T0 + 3)
    assert events.deadline() == T0 + 31  # the first reconnecting status starts the clock
    [late] = events.tick(T0 + 31)
    assert (late.event, late.previous, late.detail) == ("reconnecting", "live", "still no station")
    assert late.time == "2026-12-03T10:01:03.000+09:00"
    assert events.status(status("reconnecting"), T0 + 40) == [] and events.tick(T0 + 80) == []
    [back] = events.status(status("live"), T0 + 90)
    assert (back.event, back.previous) == ("live", "reconnecting")


def test_a_status_after_the_grace_with_no_tick_between_gives_the_late_reconnecting_first() -> None:
    assert run([(0, "live"), (1, "reconnecting"), (45, "live")]) == [
        ("live", None), ("reconnecting", "live"), ("live", "reconnecting"),
    ]  # fmt: skip


def test_another_state_ends_a_reconnect_before_the_grace_without_it() -> None:
    assert run([(0, "live"), (1, "reconnecting"), (5, "unreachable"), (50, "unreachable")]) == [
        ("live", None), ("unreachable", "live"),
    ]  # fmt: skip


def test_the_record_and_the_environment_say_the_same_event() -> None:
    events = EventFilter()
    events.status(status("live"), T0)
    [event] = events.status(status("logged_out", "4001007: not logged in"), T0 + 0.25)
    assert event_record(event) == {
        "event": "logged_out", "previous": "live", "detail": "4001007: not logged in",
        "time": "2026-12-03T10:01:02.250+09:00",
    }  # fmt: skip
    assert datetime.fromisoformat(event.time).utcoffset() == timedelta(hours=9)
    assert event_environment(event) == {
        "QUOTEBOARD_EVENT": "logged_out", "QUOTEBOARD_EVENT_PREVIOUS": "live",
        "QUOTEBOARD_EVENT_DETAIL": "4001007: not logged in", "QUOTEBOARD_EVENT_TIME": event.time,
    }  # fmt: skip
    [first] = EventFilter().status(status("live"), T0)
    assert event_environment(first)["QUOTEBOARD_EVENT_PREVIOUS"] == ""


def test_the_filter_imports_no_asyncio() -> None:
    import subprocess
    import sys

    code = "import sys, quoteboard.feeds.events; print('asyncio' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"

"""How a Kabu PUSH socket ends, in words: who closed it and why, or why it never opened.

The feed reads these to choose what next (a close on purpose is another program taking the
socket) and says them in its status.
"""

from __future__ import annotations

from typing import Final

from websockets.exceptions import ConnectionClosed

from quoteboard.feeds.policy import LOGGED_OUT_CODES
from quoteboard.kabu.errors import WRONG_PASSWORD_CODE, KabuClientError, KabuError
from quoteboard.kabu.text import printable

__all__ = [
    "MAX_FRAME",
    "TAKEN",
    "closed_on_purpose",
    "describe_close",
    "describe_connect_error",
    "logged_out",
    "station_closed",
    "too_big",
]

MAX_FRAME: Final = 1 << 20  # 1 MiB; a full board snapshot is about 2 KB
TAKEN: Final = (
    "another program is using the station's PUSH socket (Kabu serves one at a time): "
    "share it with `quoteboard relay`"
)


def logged_out(exc: KabuClientError) -> bool:
    """The station is not logged in, or refuses the API password: nothing works until it is."""
    return isinstance(exc, KabuError) and (exc.code in LOGGED_OUT_CODES or exc.code == WRONG_PASSWORD_CODE)


def station_closed(exc: ConnectionClosed) -> bool:
    """The station sent its close frame first (not an answer to ours)."""
    return exc.rcvd is not None and (exc.sent is None or bool(exc.rcvd_then_sent))


def closed_on_purpose(exc: ConnectionClosed) -> bool:
    """The station closed the socket with 1000: another program's socket took its place."""
    return station_closed(exc) and exc.rcvd is not None and exc.rcvd.code == 1000


def too_big(exc: ConnectionClosed) -> bool:
    """The feed closed the socket for a frame over :data:`MAX_FRAME`."""
    return not station_closed(exc) and exc.sent is not None and exc.sent.code == 1009


def describe_close(exc: ConnectionClosed) -> str:
    """How the socket ended, for the status."""
    if station_closed(exc):
        frame = exc.rcvd
        assert frame is not None
        reason = printable(frame.reason)  # the station's words, going to a terminal
        text = f"closed by the station (code {frame.code}{': ' + reason if reason else ''})"
        if "superseded" in reason or "new connection" in reason:
            text += ": another PUSH socket was opened to it, and Kabu serves one at a time"
        return text
    if too_big(exc):
        return f"a frame over the {MAX_FRAME:,}-byte limit: the feed closed the socket (code 1009)"
    if exc.sent is not None:
        reason = f": {exc.sent.reason}" if exc.sent.reason else ""
        return f"closed by the feed (code {exc.sent.code}{reason})"
    return "the connection dropped (no close frame)"


def describe_connect_error(exc: BaseException) -> str:
    """Why the socket did not open, for the status."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is kabuステーション running with the API enabled?)"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    text = str(exc) or type(exc).__name__
    return text

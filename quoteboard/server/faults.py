"""The test server's own controls, beside the station (never under ``/kabusapi``): the day's state and faults.

- ``GET /serve/day``: the station's time and phase of the day (``serve --day``), each symbol's closing
  price once the day has closed (``null`` before), and the push counters, so a soak can check that
  every client ends on the close.
- ``POST /serve/fault`` with JSON ``{"fault": ...}``: ``"drop"`` closes the PUSH socket(s) with a close
  frame (``"code"``, default 1001 going away; a station that dies without one is the process stopped),
  ``"stall"`` keeps the socket(s) open with nothing pushed for ``"seconds"`` while ``/board`` moves
  on, ``"logout"`` logs the station out for ``"seconds"`` (token and registrations gone, every REST
  call 4001007, PUSH closed and refused), ``"garbage"`` sends undecodable bytes for one frame in
  ``"every"`` (default 20) for ``"seconds"``. Seconds are real ones, not station time.

Only a client on loopback may use them, or one sending the server's ``--password`` in the
``X-Serve-Password`` header: a fault is a way to disturb whoever else uses the station.
"""

from __future__ import annotations

import ipaddress
import secrets
from typing import Annotated, Final, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from .clock import StationClock
from .market import Market
from .push import PushHub
from .states import HeldState
from .station import Station

__all__ = ["PASSWORD_HEADER", "Controls", "Fault"]

PASSWORD_HEADER: Final = "X-Serve-Password"
_JSON: Final = "application/json; charset=utf-8"
#: Close codes a server may send (not the reserved 1004-1006 and 1015), plus the private range.
_SENDABLE: Final = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})


class Fault(msgspec.Struct, forbid_unknown_fields=True):
    """One fault to inject (the body of ``POST /serve/fault``)."""

    fault: Literal["drop", "stall", "logout", "garbage", "state"]
    seconds: Annotated[float, msgspec.Meta(ge=0, le=86_400)] = 0.0
    every: Annotated[int, msgspec.Meta(ge=1)] = 20
    code: int = 1001
    symbol: str = ""
    state: HeldState = "none"


class FaultError(ValueError):
    """A fault request that cannot be carried out; its text is one line for the caller."""


_REFUSED: Final = "the test server's controls answer loopback, or its --password in " + PASSWORD_HEADER


def _answer(body: object, status: int = 200) -> Response:
    return Response(msgspec.json.encode(body), status_code=status, media_type=_JSON)


class Controls:
    """Carries out faults on a station's bookkeeping, PUSH hub and market, from HTTP or from Python."""

    def __init__(self, station: Station, push: PushHub, market: Market, clock: StationClock | None) -> None:
        self._station = station
        self._push = push
        self._market = market
        self.clock = clock
        #: Faults carried out, by kind (a board state held counts as "state" once one was).
        self.counts: dict[str, int] = {"drop": 0, "stall": 0, "logout": 0, "garbage": 0}

    async def apply(self, fault: Fault) -> None:
        """Carry out ``fault``; :class:`FaultError` for a drop code no server may send."""
        if fault.fault == "drop":
            if fault.code not in _SENDABLE and not 3000 <= fault.code <= 4999:
                raise FaultError(f"close code {fault.code} cannot be sent: 1000-1003, 1007-1014 or 3000-4999")
            await self._push.drop(fault.code, "dropped by a fault")
        elif fault.fault == "stall":
            self._push.stall(fault.seconds)
        elif fault.fault == "logout":
            self._station.log_out(fault.seconds)
            await self._push.drop(1001, "kabuステーション logged out")
        elif fault.fault == "state":
            if fault.symbol not in self._market:
                raise FaultError(f"no symbol {fault.symbol!r} in the market: give CODE@EX, such as 7203@1")
            self._market.hold(fault.symbol, fault.state)
        else:
            self._push.garbage(fault.every, fault.seconds)
        self.counts[fault.fault] = self.counts.get(fault.fault, 0) + 1

    def day(self) -> dict[str, object]:
        """What ``GET /serve/day`` answers."""
        clock = self.clock
        phase = self._market.phase()
        return {
            "day": clock is not None,
            "time": self._market.now().isoformat(timespec="seconds"),
            "phase": None if phase is None else str(phase),
            "speed": None if clock is None else clock.speed,
            "close": self._market.closing_prices(),
            "logged_out": self._station.logged_out,
            "frames_sent": self._push.frames_sent,
            "garbage_sent": self._push.garbage_sent,
            "faults": self.counts,
        }

    def _allowed(self, request: Request) -> bool:
        host = request.client.host if request.client else ""
        try:
            if ipaddress.ip_address(host).is_loopback:
                return True
        except ValueError:
            pass  # not an address (a test client's name): only the password lets it in
        password = self._station.password
        given = request.headers.get(PASSWORD_HEADER)
        return password is not None and given is not None and secrets.compare_digest(given, password)

    async def day_endpoint(self, request: Request) -> Response:
        if not self._allowed(request):
            return _answer({"error": _REFUSED}, 403)
        return _answer(self.day())

    async def fault_endpoint(self, request: Request) -> Response:
        if not self._allowed(request):
            return _answer({"error": _REFUSED}, 403)
        try:
            fault = msgspec.json.decode(await request.body(), type=Fault)
        except msgspec.DecodeError as exc:  # ValidationError included
            return _answer({"error": f"not a fault: {exc}"}, 400)
        try:
            await self.apply(fault)
        except FaultError as exc:
            return _answer({"error": str(exc)}, 400)
        return _answer({"fault": fault.fault, "seconds": fault.seconds, "faults": self.counts})

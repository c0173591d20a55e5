"""The station's bookkeeping, without HTTP: token, registered symbols, rate limits, error answers.

The starlette routes in :mod:`quoteboard.server.app` only parse requests and turn
:class:`StationError` into ``ErrorResponse`` bodies; every rule of the real station (a new token
voids the old one, the registration cap, what counts as not found) lives here so it reads in one place.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from quoteboard.kabu.codes import error_answer

__all__ = ["RateLimiter", "Station", "StationError"]


class StationError(Exception):
    """An error answer: HTTP status plus Kabu's ``{"Code", "Message"}``, the official words
    (:func:`quoteboard.kabu.codes.error_answer`, shared with the relay)."""

    def __init__(self, code: int, status: int | None = None) -> None:
        answer = error_answer(code, status=status)
        self.code = code
        self.status = answer.status
        self.message = answer.message
        self._answer = answer
        super().__init__(f"{code} {self.message} [HTTP {self.status}]")

    def body(self) -> dict[str, object]:
        return self._answer.body()


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """A token bucket per (client, kind): bursts of ``rate`` requests, then ``rate`` a second.

    Kabu limits each kind of request separately (information, registration, orders ...), about ten a
    second each, and answers 429 with code 4001006 beyond that.
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def allow(self, client: str, kind: str) -> bool:
        now = self._clock()
        bucket = self._buckets.get((client, kind))
        if bucket is None:
            bucket = self._buckets[(client, kind)] = _Bucket(self.rate, now)
        bucket.tokens = min(self.rate, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True


class Station:
    """What the station remembers between requests.

    ``known`` says whether a ``CODE@EXCHANGE`` key is listed (the market's catalogue).
    Registered symbols are kept in registration order, the order ``RegistList`` reports them in.
    """

    def __init__(
        self,
        known: Callable[[str], bool],
        password: str | None = None,
        max_symbols: int = 50,
        rate_limit: float | None = 10.0,
    ) -> None:
        self._known = known
        self.password = password
        self.max_symbols = max_symbols
        self.limiter = RateLimiter(rate_limit) if rate_limit else None
        self.token: str | None = None
        self.registered: dict[str, tuple[str, int]] = {}
        self._logged_out_until = float("-inf")

    # Logging in and out --------------------------------------------------------------------------

    @property
    def logged_out(self) -> bool:
        """Whether kabuステーション is logged out now (see :meth:`log_out`)."""
        return time.monotonic() < self._logged_out_until

    def log_out(self, seconds: float = float("inf")) -> None:
        """Log out for ``seconds`` (until :meth:`log_in` without them), then back in: the token is
        voided and the registrations are gone (a new login starts with an empty list), and
        meanwhile every REST call, ``/token`` included, answers 4001007, as a real station does
        when it is not logged in (the forced early-morning logout, a login elsewhere)."""
        self.token = None
        self.registered.clear()
        self._logged_out_until = time.monotonic() + seconds

    def check_login(self) -> None:
        if self.logged_out:
            raise StationError(4001007)

    def log_in(self) -> None:
        self._logged_out_until = float("-inf")

    # Tokens ------------------------------------------------------------------------------------

    def issue_token(self, password: str) -> str:
        """A new token, which voids the previous one. Any password goes when none is configured."""
        self.check_login()
        if self.password is not None and not secrets.compare_digest(password, self.password):
            raise StationError(4001013)
        self.token = secrets.token_hex(16)
        return self.token

    def void_tokens(self) -> None:
        """Forget the token, as the station's early-morning forced logout does."""
        self.token = None

    def check_key(self, key: str | None) -> None:
        if key is None or self.token is None or not secrets.compare_digest(key, self.token):
            raise StationError(4001009)

    def check_rate(self, client: str, kind: str) -> None:
        if self.limiter is not None and not self.limiter.allow(client, kind):
            raise StationError(4001006)

    # Registrations ------------------------------------------------------------------------------

    def regist_list(self) -> list[dict[str, object]]:
        return [{"Symbol": code, "Exchange": exchange} for code, exchange in self.registered.values()]

    def register(self, symbols: Iterable[tuple[str, int]]) -> None:
        """Register all of ``symbols`` or, if one is unknown or the cap would be passed, none."""
        wanted: dict[str, tuple[str, int]] = {}
        for code, exchange in symbols:
            key = f"{code}@{exchange}"
            if not self._known(key):
                raise StationError(4002001)
            wanted[key] = (code, exchange)
        new = [key for key in wanted if key not in self.registered]
        if len(self.registered) + len(new) > self.max_symbols:
            raise StationError(4002006)
        for key in new:
            self.registered[key] = wanted[key]

    def unregister(self, symbols: Iterable[tuple[str, int]]) -> None:
        """Remove ``symbols``; if none of them was registered, answer 4001020 and change nothing."""
        keys = [f"{code}@{exchange}" for code, exchange in symbols]
        if keys and not any(key in self.registered for key in keys):
            raise StationError(4001020)
        for key in keys:
            self.registered.pop(key, None)

    def unregister_all(self) -> None:
        self.registered.clear()

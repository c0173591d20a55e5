"""Every error the Kabu client raises, under one base, without I/O.

::

    KabuClientError            the base: callers catch this, and read ``transient`` to retry
    ├── StationUnreachable     no answer: not running, API disabled, wrong port, too slow (transient)
    ├── NotAsked               a call not made: GET /symbol for a symbol not registered (it would
    │                          register it, and take a slot the board does not want it to)
    └── KabuError              an error answer: ``{"Code", "Message"}`` and the HTTP status, with an
        │                      English explanation; transient when the station failed, not refused
        └── SymbolLimitError   registering would pass the symbol cap: refused before anything is sent

``transient`` is the one place that decides whether asking again later may work; ``refuses_symbols``
says a registration was refused for its symbols (unknown, over the limit), not as a call.

Like :mod:`quoteboard.kabu.protocol`, it imports no asyncio, httpx, websockets or textual.
"""

from __future__ import annotations

from typing import Final

import msgspec

from quoteboard.kabu.text import printable

__all__ = [
    "EXPLANATIONS",
    "NOT_REGISTERED_CODE",
    "RATE_LIMITED_CODE",
    "SYMBOL_CODES",
    "SYMBOL_LIMIT_CODE",
    "TRANSIENT_CODES",
    "WRONG_PASSWORD_CODE",
    "KabuClientError",
    "KabuError",
    "NotAsked",
    "StationUnreachable",
    "SymbolLimitError",
    "error_from_response",
    "explain",
]

#: English explanations for the codes a board meets (official list: contract/kabusapi/error-codes.tsv).
EXPLANATIONS: Final[dict[int, str]] = {
    4001001: "internal error in kabuステーション (its log file says more)",
    4001006: "too many API calls: the station allows about 10 requests a second",
    4001007: "login failed: is kabuステーション running and logged in?",
    4001008: "the API is not enabled: turn it on in kabuステーション's API settings",
    4001009: "API key mismatch: the token is not valid (voided by a newer token or a logout)",
    4001013: "token refused: the station is logged in but the API password is wrong",
    4001017: "login failed: kabuステーション is not logged in",
    4001018: "could not register the symbols: the 50-symbol limit is reached",
    # Documented for the limit; a station was also seen answering it for a batch holding an unknown code.
    4001019: "some symbols could not be registered: an unknown code, or the 50-symbol limit",
    4001020: "could not unregister: the symbol is not registered",
    4001021: "some symbols could not be unregistered",
    4002001: "no such symbol",
    4002006: "over the symbol limit: at most 50 symbols can be registered",
}

#: Codes that say the station failed rather than refused: asking again later may work. Its internal
#: error, its rate limit, and its login (the forced early-morning logout, a station started but not
#: yet logged in): the board keeps asking until someone logs in.
TRANSIENT_CODES: Final = frozenset({4001001, 4001006, 4001007, 4001017})

#: ``PUT /unregister`` of symbols none of which is registered.
NOT_REGISTERED_CODE: Final = 4001020

#: ``POST /token`` with a wrong API password (the station is logged in).
WRONG_PASSWORD_CODE: Final = 4001013

#: Too many calls: answered with HTTP 429, or with this code.
RATE_LIMITED_CODE: Final = 4001006

#: ``PUT /register`` past the symbol cap.
SYMBOL_LIMIT_CODE: Final = 4002006

#: Codes that refuse symbols rather than the call: no such symbol, the registration limit. Kabu
#: refuses a whole PUT /register for one of them, so the others may still register one by one.
SYMBOL_CODES: Final = frozenset({4002001, 4002006, 4001018, 4001019})

_HTTP_EXPLANATIONS: Final[dict[int, str]] = {
    400: "bad request",
    401: "unauthorized: the token is missing, wrong or voided",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    413: "request too large",
    415: "unsupported media type",
    429: "too many requests: slow down",
    500: "internal error in the station",
}


def explain(code: int | None, http_status: int | None = None) -> str:
    """An English sentence for a Kabu error code, falling back on the HTTP status."""
    if code is not None and code in EXPLANATIONS:
        return EXPLANATIONS[code]
    if http_status is not None and http_status in _HTTP_EXPLANATIONS:
        return _HTTP_EXPLANATIONS[http_status]
    if code is not None:
        return f"Kabu error {code}"
    return f"HTTP {http_status}" if http_status else "unknown error"


class KabuClientError(Exception):
    """The base of every error the Kabu client raises."""

    @property
    def transient(self) -> bool:
        """Asking again later may work (the station failed or did not answer; it did not refuse)."""
        return False

    @property
    def refuses_symbols(self) -> bool:
        """The station refused a symbol (unknown, or over the limit), not the call itself."""
        return False


class StationUnreachable(KabuClientError, ConnectionError):
    """The station did not answer: not running, API disabled, wrong port, or too slow."""

    def __init__(self, base_url: str, reason: str) -> None:
        self.base_url = base_url
        self.reason = reason
        super().__init__(f"cannot reach Kabu Station at {base_url}: {reason}")

    @property
    def transient(self) -> bool:
        return True


class NotAsked(KabuClientError):
    """A call the client would not make; its message says why."""


class KabuError(KabuClientError):
    """An error answer from the station: its official code, its message, and what it means."""

    def __init__(self, code: int | None, message: str, http_status: int | None = None) -> None:
        self.code = code
        self.message = message
        self.http_status = http_status
        self.explanation = explain(code, http_status)
        super().__init__(str(self))

    @property
    def transient(self) -> bool:
        """The station failed, rather than refused: the same call may succeed later (its internal
        error, its rate limit, or a 5xx/429 without a Kabu code, e.g. a proxy's HTML page)."""
        if self.code is not None:
            return self.code in TRANSIENT_CODES
        return self.http_status is not None and (self.http_status == 429 or self.http_status >= 500)

    @property
    def refuses_symbols(self) -> bool:
        """The station refused a symbol (unknown, or over the limit), not the call itself."""
        return self.code in SYMBOL_CODES

    def __str__(self) -> str:
        parts = []
        if self.code is not None:
            parts.append(str(self.code))
        parts.append(self.explanation)
        text = " ".join(parts)
        if self.message and self.message != self.explanation:
            text += f" ({self.message})"
        if self.http_status and self.http_status != 200:
            text += f" [HTTP {self.http_status}]"
        return text


class SymbolLimitError(KabuError):
    """Registering would pass the symbol cap; raised before anything is sent."""

    def __init__(self, wanted: int, limit: int) -> None:
        said = f"{wanted} symbols would pass the limit of {limit}; nothing was sent"
        super().__init__(SYMBOL_LIMIT_CODE, said)
        self.explanation = f"over the symbol limit: at most {limit} symbols can be registered"


class _ErrorAnswer(msgspec.Struct, rename="pascal"):
    code: int | None = None
    message: str | None = None


def error_from_response(http_status: int, body: bytes | str) -> KabuError:
    """Turn a non-2xx answer into a :class:`KabuError`, whatever its body holds."""
    try:
        answer = msgspec.json.decode(body, type=_ErrorAnswer)
    except msgspec.DecodeError:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes | bytearray) else str(body)
        return KabuError(None, printable(" ".join(text.split())[:200]), http_status)
    return KabuError(answer.code, printable(answer.message or ""), http_status)

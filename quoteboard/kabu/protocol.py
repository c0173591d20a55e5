"""The Kabu Station protocol without I/O: frames in, typed quotes or rejections out.

Everything here works on plain ``str``/``bytes`` so it can be tested without an event loop, a socket
or a terminal. It imports no asyncio, httpx, websockets or textual (``tests/kabu/test_protocol.py``
checks that in a subprocess).

Kabu names the best quotes backwards: its ``BidPrice``/``BidQty`` are the best SELL order (最良売気配,
what everyone else calls the *ask*) and ``AskPrice``/``AskQty`` the best BUY order (最良買気配, the
*bid*). The vendor documents this as a mistake it cannot undo. The translation happens in exactly one
place, the ``rename`` mapping of :class:`Quote`; nothing else in quoteboard sees Kabu's names.
"""

from __future__ import annotations

import re
from collections.abc import Sized
from dataclasses import dataclass
from typing import Final, NamedTuple

import msgspec

from quoteboard.kabu.errors import KabuError
from quoteboard.kabu.text import printable

__all__ = [
    "DEFAULT_BASE_URL",
    "EXCHANGES",
    "VERIFY_BASE_URL",
    "Level",
    "Quote",
    "Rejection",
    "SymbolEntry",
    "SymbolKey",
    "SymbolList",
    "decode_frame",
    "parse_regist_list",
    "parse_symbol",
    "parse_token",
    "register_body",
    "token_body",
    "websocket_url",
]

DEFAULT_BASE_URL: Final = "http://localhost:18080/kabusapi"
VERIFY_BASE_URL: Final = "http://localhost:18081/kabusapi"

#: Market codes the spec defines for ``CODE@EXCHANGE`` keys.
EXCHANGES: Final[dict[int, str]] = {
    1: "東証",
    3: "名証",
    5: "福証",
    6: "札証",
    2: "日通し",
    23: "日中",
    24: "夜間",
}

#: ``CurrentPriceChangeStatus`` values that say which way the last trade moved.
UP_TICK: Final = "0057"
DOWN_TICK: Final = "0058"


# --------------------------------------------------------------------------------------------------
# Quotes
# --------------------------------------------------------------------------------------------------


class Level(msgspec.Struct, gc=False, rename="pascal"):
    """One price level of the order book (``Sell1``..``Sell10``, ``Buy1``..``Buy10``)."""

    price: float | None = None
    qty: float | None = None
    time: str | None = None
    sign: str | None = None


_KABU_NAMES: Final[dict[str, str]] = {
    "symbol": "Symbol",
    "name": "SymbolName",
    "exchange": "Exchange",
    "exchange_name": "ExchangeName",
    "last": "CurrentPrice",
    "time": "CurrentPriceTime",
    "change_status": "CurrentPriceChangeStatus",
    "price_status": "CurrentPriceStatus",
    "prev_close": "PreviousClose",
    "change": "ChangePreviousClose",
    "change_pct": "ChangePreviousClosePer",
    "open": "OpeningPrice",
    "high": "HighPrice",
    "low": "LowPrice",
    "volume": "TradingVolume",
    "volume_time": "TradingVolumeTime",
    "vwap": "VWAP",
    "trading_value": "TradingValue",
    # The one translation of Kabu's reversed naming: Kabu "Bid" is the best SELL quote (our ask),
    # Kabu "Ask" is the best BUY quote (our bid). See the module docstring.
    "ask": "BidPrice",
    "ask_qty": "BidQty",
    "ask_time": "BidTime",
    "ask_sign": "BidSign",
    "bid": "AskPrice",
    "bid_qty": "AskQty",
    "bid_time": "AskTime",
    "bid_sign": "AskSign",
    "market_sell_qty": "MarketOrderSellQty",
    "market_buy_qty": "MarketOrderBuyQty",
    **{f"sell{i}": f"Sell{i}" for i in range(1, 11)},
    **{f"buy{i}": f"Buy{i}" for i in range(1, 11)},
    "over_sell_qty": "OverSellQty",
    "under_buy_qty": "UnderBuyQty",
    "security_type": "SecurityType",
    # Stamped by the receiver after decoding (no Kabu field has this name; any wire value is overwritten).
    "received_at": "quoteboard:received_at",
}


class Quote(msgspec.Struct, gc=False, rename=_KABU_NAMES):
    """A board snapshot for one symbol, in the usual sense: ``bid`` < ``ask``.

    Every field but ``symbol`` may be ``None``: Kabu sends ``null`` for values not delivered yet
    (before the open, for a symbol just registered, for indices that have no book).
    """

    symbol: str
    name: str | None = None
    exchange: int | None = None
    exchange_name: str | None = None
    last: float | None = None
    time: str | None = None
    change_status: str | None = None
    price_status: int | None = None
    prev_close: float | None = None
    change: float | None = None
    change_pct: float | None = None
    open: float | None = None
    high: float | None = None
    low: float | None = None
    volume: float | None = None
    volume_time: str | None = None
    vwap: float | None = None
    trading_value: float | None = None
    ask: float | None = None
    ask_qty: float | None = None
    ask_time: str | None = None
    ask_sign: str | None = None
    bid: float | None = None
    bid_qty: float | None = None
    bid_time: str | None = None
    bid_sign: str | None = None
    market_sell_qty: float | None = None
    market_buy_qty: float | None = None
    sell1: Level | None = None
    sell2: Level | None = None
    sell3: Level | None = None
    sell4: Level | None = None
    sell5: Level | None = None
    sell6: Level | None = None
    sell7: Level | None = None
    sell8: Level | None = None
    sell9: Level | None = None
    sell10: Level | None = None
    buy1: Level | None = None
    buy2: Level | None = None
    buy3: Level | None = None
    buy4: Level | None = None
    buy5: Level | None = None
    buy6: Level | None = None
    buy7: Level | None = None
    buy8: Level | None = None
    buy9: Level | None = None
    buy10: Level | None = None
    over_sell_qty: float | None = None
    under_buy_qty: float | None = None
    security_type: int | None = None
    received_at: float = 0.0

    @property
    def key(self) -> SymbolKey:
        """The :class:`SymbolKey` quoteboard files this quote under (exchange 1 if none was sent)."""
        return SymbolKey(self.symbol, self.exchange if self.exchange is not None else 1)

    @property
    def asks(self) -> list[Level | None]:
        """The sell side of the book, best (lowest) first: ``Sell1``..``Sell10``."""
        return [
            self.sell1, self.sell2, self.sell3, self.sell4, self.sell5,
            self.sell6, self.sell7, self.sell8, self.sell9, self.sell10,
        ]  # fmt: skip

    @property
    def bids(self) -> list[Level | None]:
        """The buy side of the book, best (highest) first: ``Buy1``..``Buy10``."""
        return [
            self.buy1, self.buy2, self.buy3, self.buy4, self.buy5,
            self.buy6, self.buy7, self.buy8, self.buy9, self.buy10,
        ]  # fmt: skip

    @property
    def tick(self) -> int:
        """+1 if the last trade was an up tick, -1 a down tick, 0 otherwise."""
        if self.change_status == UP_TICK:
            return 1
        if self.change_status == DOWN_TICK:
            return -1
        return 0


@dataclass(frozen=True, slots=True)
class Rejection:
    """A frame that could not be decoded into a :class:`Quote`, and why."""

    reason: str
    size: int


_quote_decoder: Final = msgspec.json.Decoder(Quote)


def decode_frame(frame: str | bytes | bytearray | memoryview, received_at: float = 0.0) -> Quote | Rejection:
    """Decode one PUSH frame or ``GET /board`` answer.

    Never raises: anything that is not a JSON object with a string ``Symbol`` and well-typed known
    fields becomes a :class:`Rejection` carrying the reason. Unknown fields are ignored. A price is
    always finite: ``NaN``/``Infinity`` are not JSON and ``1e999`` is out of range, so such frames are
    rejected. Control characters in the texts a board shows (``SymbolName``, ``CurrentPriceTime``)
    become U+FFFD (see :func:`printable`).
    """
    try:
        quote = _quote_decoder.decode(frame)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError too
        return Rejection(str(exc), _safe_len(frame))
    except (TypeError, ValueError, RecursionError, UnicodeError, OverflowError) as exc:
        return Rejection(f"{type(exc).__name__}: {exc}", _safe_len(frame))
    if not quote.symbol:
        return Rejection("empty `Symbol`", len(frame))
    name, time = quote.name, quote.time
    if name is not None and not name.isprintable():
        quote.name = printable(name)
    if time is not None and not time.isprintable():
        quote.time = printable(time)
    quote.received_at = received_at
    return quote


def _safe_len(frame: object) -> int:
    if not isinstance(frame, Sized):
        return 0
    try:
        return len(frame)
    except TypeError:
        return 0


# --------------------------------------------------------------------------------------------------
# Symbols and request bodies
# --------------------------------------------------------------------------------------------------

_CODE_RE: Final = re.compile(r"^[0-9A-Z]{1,12}$")


class SymbolKey(NamedTuple):
    """A symbol as Kabu addresses it: ``7203@1`` (its ``str``) is Toyota on the TSE.

    A named tuple, not a dataclass: the board looks a row up for every quote, and a tuple hashes
    and compares in C (a frozen dataclass's ``__hash__`` and ``__eq__`` are Python functions, run
    for every quote). It equals, and hashes like, the plain tuple ``(code, exchange)``, which is how
    :meth:`Board.apply <quoteboard.board.Board.apply>` looks rows up. Ordered by code, then exchange.
    """

    code: str
    exchange: int = 1

    def __str__(self) -> str:
        return f"{self.code}@{self.exchange}"


def parse_symbol(text: str) -> SymbolKey:
    """Parse ``7203``, ``7203@1`` or `` 7203 @ 1 `` into a :class:`SymbolKey`.

    A bare code means exchange 1 (TSE). Raises ``ValueError`` with a message fit for the user.
    """
    raw = text.strip()
    if not raw:
        raise ValueError("empty symbol: type a code such as 7203 or 7203@1")
    code, sep, exchange_text = raw.partition("@")
    code = code.strip().upper()
    if not _CODE_RE.match(code):
        raise ValueError(f"{raw!r} is not a symbol code: use digits/letters such as 7203 or 130A")
    exchange = 1
    if sep:
        try:
            exchange = int(exchange_text.strip())
        except ValueError:
            raise ValueError(f"{raw!r}: the exchange after @ must be a number such as 1 (TSE)") from None
        if exchange not in EXCHANGES:
            known = ", ".join(f"{k} {v}" for k, v in EXCHANGES.items())
            raise ValueError(f"{raw!r}: unknown exchange {exchange} (known: {known})")
    return SymbolKey(code, exchange)


class SymbolEntry(msgspec.Struct, rename="pascal"):
    """One ``{"Symbol", "Exchange"}``: an item of a register body's ``Symbols`` or of a ``RegistList``."""

    symbol: str
    exchange: int

    @property
    def key(self) -> SymbolKey:
        return SymbolKey(self.symbol, self.exchange)


class SymbolList(msgspec.Struct, rename="pascal"):
    """The body of ``PUT /register`` and ``PUT /unregister``: ``{"Symbols": [...]}``."""

    symbols: list[SymbolEntry]

    def keys(self) -> list[SymbolKey]:
        return [entry.key for entry in self.symbols]


def register_body(keys: list[SymbolKey] | tuple[SymbolKey, ...]) -> bytes:
    """The JSON body of ``PUT /register`` and ``PUT /unregister``."""
    return msgspec.json.encode(SymbolList([SymbolEntry(k.code, k.exchange) for k in keys]))


def token_body(password: str) -> bytes:
    """The JSON body of ``POST /token``."""
    return msgspec.json.encode({"APIPassword": password})


class _TokenAnswer(msgspec.Struct, rename="pascal"):
    result_code: int | None = None
    token: str | None = None


def parse_token(body: bytes | str) -> str:
    """The token out of a ``TokenSuccess`` answer; raises :class:`KabuError` if there is none."""
    try:
        answer = msgspec.json.decode(body, type=_TokenAnswer)
    except msgspec.DecodeError as exc:
        raise KabuError(None, f"unreadable token answer: {exc}", 200) from None
    if answer.result_code not in (0, None) or not answer.token:
        raise KabuError(None, f"token refused (ResultCode {answer.result_code})", 200)
    return answer.token


class _RegistAnswer(msgspec.Struct, rename="pascal"):
    # A list everywhere at a real station; the spec types /unregister/all's as an object, so take both.
    regist_list: list[SymbolEntry] | dict[str, object] | None = None


def parse_regist_list(body: bytes | str) -> list[SymbolKey]:
    """The station's registered symbols out of a ``RegistSuccess`` answer."""
    try:
        answer = msgspec.json.decode(body, type=_RegistAnswer)
    except msgspec.DecodeError as exc:
        raise KabuError(None, f"unreadable register answer: {exc}", 200) from None
    if not isinstance(answer.regist_list, list):
        return []
    return [entry.key for entry in answer.regist_list]


def websocket_url(base_url: str) -> str:
    """``http://HOST:PORT/kabusapi`` -> ``ws://HOST:PORT/kabusapi/websocket``."""
    base = base_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[len("https://") :] + "/websocket"
    if base.startswith("http://"):
        return "ws://" + base[len("http://") :] + "/websocket"
    raise ValueError(f"base URL must start with http:// or https://, got {base_url!r}")

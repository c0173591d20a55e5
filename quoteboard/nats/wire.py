"""The NATS wire contract between ``quoteboard relay --nats`` and its subscribers, in one place.

Subjects and buckets:

- ``kabu.quote.<exchange>.<code>``: a quote as JSON, the keys of ``stream``'s NDJSON (:func:`encode_quote`);
- ``kabu.frame.<exchange>.<code>``: the station's frame as it came (a recording through NATS is exact);
- ``kabu.candle.<interval>.<exchange>.<code>``: each closed candle, as ``stream --candles`` prints it
  (:func:`quoteboard.history.wire.candle_record`);
- KV ``kabu_quotes``, key ``<exchange>.<code>``: the latest quote's record with its frame under
  ``"frame"`` (:func:`snapshot_value`, read back by :func:`decode_snapshot`);
- KV ``kabu_relay``, key ``status``: the relay's state;
- requests on ``kabu.ctl.register`` / ``kabu.ctl.unregister`` (:func:`control_body`) answered with a
  ``RegistList`` (:func:`regist_list_body`, :func:`decode_regist_list`) or Kabu's ``{"Code", "Message"}``;
  ``kabu.ctl.lease`` renews a client's lease; ``kabu.ctl.positions`` answers what ``GET /positions``
  answers an HTTP client of the relay; ``kabu.ctl.candles`` (:func:`candles_body`) what
  ``GET /relay/candles`` answers; ``kabu.ctl.ranking`` (:func:`ranking_body`) what its
  ``GET /ranking`` answers, from the same 30 s cache.

Pure functions and constants: nats-py is not imported here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

import msgspec

from quoteboard.kabu.protocol import Quote, SymbolKey, decode_frame
from quoteboard.kabu.records import quote_record  # the one schema, documented in README's "NDJSON lines"

__all__ = [
    "CTL_CANDLES",
    "CTL_LEASE",
    "CTL_POSITIONS",
    "CTL_RANKING",
    "CTL_REGISTER",
    "CTL_UNREGISTER",
    "QUOTES_BUCKET",
    "RELAY_BUCKET",
    "RELAY_STATUS_KEY",
    "candle_subject",
    "candles_body",
    "control_body",
    "decode_regist_list",
    "decode_snapshot",
    "encode_quote",
    "frame_subject",
    "kv_key",
    "quote_subject",
    "ranking_body",
    "regist_list_body",
    "snapshot_value",
]

QUOTES_BUCKET: Final = "kabu_quotes"
RELAY_BUCKET: Final = "kabu_relay"
#: The key of the relay's status in :data:`RELAY_BUCKET`.
RELAY_STATUS_KEY: Final = "status"
CTL_REGISTER: Final = "kabu.ctl.register"
CTL_UNREGISTER: Final = "kabu.ctl.unregister"
CTL_LEASE: Final = "kabu.ctl.lease"
CTL_POSITIONS: Final = "kabu.ctl.positions"
CTL_CANDLES: Final = "kabu.ctl.candles"
CTL_RANKING: Final = "kabu.ctl.ranking"

_encoder: Final = msgspec.json.Encoder()
_decoder: Final = msgspec.json.Decoder()


def quote_subject(key: SymbolKey) -> str:
    return f"kabu.quote.{key.exchange}.{key.code}"


def frame_subject(key: SymbolKey) -> str:
    return f"kabu.frame.{key.exchange}.{key.code}"


def candle_subject(key: SymbolKey, interval: str) -> str:
    return f"kabu.candle.{interval}.{key.exchange}.{key.code}"


def candles_body(key: SymbolKey, interval: str, day: str | None = None) -> dict[str, object]:
    """A ``kabu.ctl.candles`` request: ``key``'s candles of ``interval`` on the JST ``day``
    (``YYYY-MM-DD``; None: the latest day the relay holds)."""
    body: dict[str, object] = {"Symbol": key.code, "Exchange": key.exchange, "interval": interval}
    if day is not None:
        body["date"] = day
    return body


def kv_key(key: SymbolKey) -> str:
    return f"{key.exchange}.{key.code}"


def encode_quote(quote: Quote) -> bytes:
    """The JSON object published on :func:`quote_subject`: ``stream``'s NDJSON line of the quote."""
    return _encoder.encode(quote_record(quote))


def snapshot_value(record: bytes, frame: bytes) -> bytes:
    """The ``kabu_quotes`` entry: ``record`` (from :func:`encode_quote`) with the frame under ``"frame"``
    (spliced in: the record is not decoded again)."""
    return record[:-1] + b',"frame":' + _encoder.encode(frame.decode("utf-8", "replace")) + b"}"


def decode_snapshot(value: bytes) -> Quote | None:
    """The quote in a ``kabu_quotes`` entry: its frame decoded, at the time the relay received it
    (None for an entry that holds no quote)."""
    try:
        record = _decoder.decode(value)
        frame = record["frame"]
        received = datetime.fromisoformat(record["received_at"]).timestamp()
    except (msgspec.DecodeError, KeyError, TypeError, ValueError):
        return None
    result = decode_frame(frame, received)
    return result if isinstance(result, Quote) else None


def control_body(client: str, keys: Iterable[SymbolKey]) -> dict[str, Any]:
    """A register or unregister request of ``client``."""
    return {"client": client, "Symbols": [{"Symbol": k.code, "Exchange": k.exchange} for k in keys]}


def ranking_body(client: str, type_number: int, division: str) -> dict[str, Any]:
    """A ranking request of ``client``: the query of ``GET /ranking`` (``Type``, ``ExchangeDivision``)."""
    return {"client": client, "Type": str(type_number), "ExchangeDivision": division}


def regist_list_body(keys: Iterable[SymbolKey]) -> dict[str, object]:
    """The answer to a register, unregister or lease request: the client's symbols, as Kabu lists them."""
    return {"RegistList": [{"Symbol": k.code, "Exchange": k.exchange} for k in keys]}


def decode_regist_list(answer: dict[str, Any]) -> list[SymbolKey]:
    """The symbols of a :func:`regist_list_body` answer; ValueError when it has none."""
    items = answer.get("RegistList")
    if not isinstance(items, list):
        raise ValueError("the relay's answer has no RegistList")
    try:
        return [SymbolKey(str(item["Symbol"]), int(item["Exchange"])) for item in items]
    except (KeyError, TypeError, ValueError):
        raise ValueError("the relay's RegistList is not Kabu's") from None

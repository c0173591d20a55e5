"""Kabu's error answers, built in one place for whoever plays the station: the relay and the test station.

An error answer is an HTTP status and the body ``{"Code": ..., "Message": ...}`` (the spec's
``ErrorResponse``). :func:`error_answer` builds one from a code: the official message (from the
vendor's table, ``contract/kabusapi/error-codes.tsv``, which is not shipped in the wheel; a test checks
every message here against it), the status Kabu answers it with, and, where the answerer knows more,
a detail after the official words. The client's side, reading answers, is :mod:`.errors`.

Like :mod:`.protocol`, it imports no asyncio, httpx, websockets or textual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import msgspec

__all__ = ["CODES", "ErrorAnswer", "error_answer"]

#: The codes the relay and the test station answer: the HTTP status Kabu sends each with, and its
#: official message, word for word as in contract/kabusapi/error-codes.tsv.
CODES: Final[dict[int, tuple[int, str]]] = {
    4001001: (500, "内部エラー"),
    4001005: (400, "パラメータ変換エラー"),
    4001006: (429, "API実行回数エラー"),
    4001007: (400, "ログイン認証エラー"),
    4001008: (403, "API利用不可"),
    4001009: (401, "APIキー不一致"),
    4001011: (400, "リクエスト文字列不正"),
    4001012: (404, "リクエスト不正"),
    4001013: (400, "トークン取得失敗：kabuステーションがログインしている状態で、APIパスワードが不正"),
    4001014: (405, "許可されていないHTTPメソッド"),
    4001015: (413, "ContentLength超過"),
    4001020: (400, "銘柄が解除できませんでした"),
    4002001: (400, "銘柄が見つからない"),
    4002006: (400, "レジスト数エラー"),
}


@dataclass(frozen=True, slots=True)
class ErrorAnswer:
    """One error answer: the HTTP status and Kabu's ``{"Code", "Message"}``."""

    status: int
    code: int
    message: str

    def body(self) -> dict[str, object]:
        return {"Code": self.code, "Message": self.message}

    def json(self) -> bytes:
        return msgspec.json.encode(self.body())


def error_answer(code: int, detail: str = "", *, status: int | None = None) -> ErrorAnswer:
    """The answer for ``code`` (one of :data:`CODES`): its official message, then ``detail`` if
    given; its usual status unless ``status`` says otherwise."""
    usual, message = CODES[code]
    return ErrorAnswer(status or usual, code, f"{message}: {detail}" if detail else message)

"""The error answers the relay and the test station build: the vendor's codes and words, one place."""

from __future__ import annotations

import csv

import msgspec
import pytest

from quoteboard.kabu.codes import CODES, ErrorAnswer, error_answer
from tests.schemas import CONTRACT, validate


def _official() -> dict[int, str]:
    with (CONTRACT / "error-codes.tsv").open(encoding="utf-8", newline="") as table:
        return {int(row["code"]): row["message"] for row in csv.DictReader(table, delimiter="\t")}


def test_every_code_and_message_is_the_vendors_word_for_word():
    official = _official()
    for code, (_, message) in CODES.items():
        assert code in official, code
        assert message == official[code], code


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_answer_is_an_official_error_response_with_an_error_status(code):
    answer = error_answer(code)
    assert 400 <= answer.status < 600
    body = msgspec.json.decode(answer.json())
    assert body == {"Code": code, "Message": _official()[code]}
    validate(body, "ErrorResponse", strict=True)


def test_a_detail_follows_the_official_words_and_a_status_can_be_given():
    assert error_answer(4001009, "unknown token") == ErrorAnswer(401, 4001009, "APIキー不一致: unknown token")
    assert error_answer(4001014, status=404).status == 404


def test_a_code_outside_the_table_is_refused_rather_than_answered_without_words():
    with pytest.raises(KeyError):
        error_answer(4009999)

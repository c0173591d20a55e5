"""The relay's error answers are Kabu's: the vendor's code, its official words first, then the why."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from quoteboard.feeds.source import FeedSource
from quoteboard.relay.runner import RelayServer
from quoteboard.server import TestServer
from tests.relay.support import Kabu
from tests.schemas import CONTRACT, validate

PASSWORD = "station-secret-pw"


def _official() -> dict[int, str]:
    with (CONTRACT / "error-codes.tsv").open(encoding="utf-8", newline="") as table:
        return {int(row["code"]): row["message"] for row in csv.DictReader(table, delimiter="\t")}


@pytest_asyncio.fixture
async def relay() -> AsyncIterator[RelayServer]:
    async with (
        TestServer(seed=5, rate_limit=None, password=PASSWORD, max_symbols=2) as station,
        RelayServer(FeedSource.kabu(station.base_url, PASSWORD), port=0, say=lambda line: None) as srv,
    ):
        yield srv


async def test_every_error_answer_starts_with_the_official_message_of_its_code(relay):
    async with Kabu(relay, PASSWORD) as client, httpx.AsyncClient(base_url=relay.base_url) as anon:
        answers = [
            await anon.post("/token", json={"APIPassword": "not it"}),
            await anon.put("/register", json=Kabu.symbols("7203"), headers={"X-API-KEY": "nope"}),
            await client.call("PUT", "/register", content=b"{not json"),
            await client.call("PUT", "/register", content=b" " * 70_000),
            await client.call("GET", "/no/such/endpoint"),
            await client.call("GET", "/board/7203"),
            await client.call("DELETE", "/register"),
            await client.call("POST", "/sendorder", json={"Symbol": "7203"}),
            await client.call("PUT", "/register", json=Kabu.symbols("7203", "9433", "6758")),
        ]
    official = _official()
    seen = []
    for answer in answers:
        body = answer.json()
        validate(body, "ErrorResponse", strict=True)
        assert body["Message"].startswith(official[body["Code"]]), body
        seen.append((answer.status_code, body["Code"]))
    assert seen == [(400, 4001013), (401, 4001009), (400, 4001011), (413, 4001015), (404, 4001012),
                    (400, 4001005), (405, 4001014), (403, 4001008), (400, 4002006)]  # fmt: skip

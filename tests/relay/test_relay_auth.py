"""Who may do what at the relay: the one check (RelayApp.admit) every way in goes through.

The REST calls, /token, /relay/status and the PUSH socket are driven over loopback in test_relay.py;
here the rules themselves, including a caller from the network, which loopback tests cannot be.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from quoteboard.feeds.source import FeedSource
from quoteboard.relay.answers import Asker, RelayError
from quoteboard.relay.runner import RelayServer
from quoteboard.server import TestServer
from tests.relay.support import Kabu

PASSWORD = "station-secret-pw"
RELAY_PASSWORD = "relay-pw-123"


@pytest_asyncio.fixture
async def station() -> AsyncIterator[TestServer]:
    async with TestServer(seed=5, rate_limit=None, password=PASSWORD) as srv:
        yield srv


def refusal(relay: RelayServer, act: str, asker: Asker) -> int | None:
    """The code ``act`` is refused with, or None if allowed."""
    assert relay.relay is not None
    try:
        relay.relay.admit(act, asker)  # type: ignore[arg-type]
    except RelayError as exc:
        return exc.code
    return None


async def test_without_a_password_the_stations_password_tokens_and_no_orders(station):
    source = FeedSource.kabu(station.base_url, PASSWORD)
    async with RelayServer(source, port=0, say=lambda line: None) as relay, Kabu(relay, PASSWORD) as a:
        net, mine = Asker(loopback=False), Asker(token=a.token, loopback=False)
        rules = {
            "the station's password": refusal(relay, "token", Asker(password=PASSWORD)),
            "another password": refusal(relay, "token", Asker(password="guess")),
            "a call without a token": refusal(relay, "call", net),
            "a call with an unknown token": refusal(relay, "call", Asker(token="nope", loopback=True)),
            "a call with a token": refusal(relay, "call", mine),
            "an order with a token": refusal(relay, "order", mine),
            "the status from the network": refusal(relay, "status", net),
            "a socket without a token": refusal(relay, "push", net),
            "a socket with an unknown token": refusal(relay, "push", Asker(token="nope")),
            "a socket with a token": refusal(relay, "push", mine),
        }
        assert relay.relay is not None and relay.relay.admit("call", mine) is relay.book.client(a.token)
    assert rules == {
        "the station's password": None,
        "another password": 4001013,
        "a call without a token": 4001009,
        "a call with an unknown token": 4001009,
        "a call with a token": None,
        "an order with a token": 4001008,
        "the status from the network": None,
        "a socket without a token": None,
        "a socket with an unknown token": 4001009,
        "a socket with a token": None,
    }


async def test_with_a_password_only_it_and_tokens_and_orders_when_allowed(station):
    source = FeedSource.kabu(station.base_url, PASSWORD)
    relay = RelayServer(source, port=0, password=RELAY_PASSWORD, allow_orders=True, say=lambda line: None)
    async with relay, Kabu(relay, RELAY_PASSWORD) as a:
        net, mine = Asker(loopback=False), Asker(token=a.token, loopback=False)
        rules = {
            "the station's password": refusal(relay, "token", Asker(password=PASSWORD)),
            "the relay's password": refusal(relay, "token", Asker(password=RELAY_PASSWORD)),
            "no password": refusal(relay, "token", Asker()),
            "an order with a token": refusal(relay, "order", mine),
            "an order without one": refusal(relay, "order", Asker(loopback=True)),
            "the status from the network": refusal(relay, "status", net),
            "the status from this machine": refusal(relay, "status", Asker(loopback=True)),
            "the status with a token": refusal(relay, "status", mine),
            "a socket without a token": refusal(relay, "push", Asker(loopback=True)),
            "a socket with a token": refusal(relay, "push", mine),
        }
    assert rules == {
        "the station's password": 4001013,
        "the relay's password": None,
        "no password": 4001013,
        "an order with a token": None,
        "an order without one": 4001009,
        "the status from the network": 4001009,
        "the status from this machine": None,
        "the status with a token": None,
        "a socket without a token": 4001009,
        "a socket with a token": None,
    }


@pytest.mark.parametrize("act", ["call", "order", "status", "push"])
async def test_a_refusal_never_names_a_password_or_token(station, act):
    source = FeedSource.kabu(station.base_url, PASSWORD)
    async with RelayServer(source, port=0, password=RELAY_PASSWORD, say=lambda line: None) as relay:
        assert relay.relay is not None
        with pytest.raises(RelayError) as refused:
            relay.relay.admit(act, Asker(token="secret-token-xyz", password=RELAY_PASSWORD))  # type: ignore[arg-type]
    text = refused.value.message
    assert "secret-token-xyz" not in text and RELAY_PASSWORD not in text and PASSWORD not in text

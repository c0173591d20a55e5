"""The relay's bookkeeping on its own: clients, reference counts, the shared cap, leases."""

from __future__ import annotations

import pytest

from quoteboard.kabu.errors import SymbolLimitError
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.relay.book import Book, TooManyClients

A, B, C = SymbolKey("7203"), SymbolKey("9433"), SymbolKey("6758")


def test_each_client_has_its_own_token_and_list():
    book = Book()
    one, two = book.join("127.0.0.1:1", 0.0), book.join("127.0.0.1:2", 0.0)
    assert one.token != two.token and book.client(one.token) is one and book.client("nope") is None
    book.register(one, [A, B])
    book.register(two, [B])
    assert one.regist_list() == [A, B] and two.regist_list() == [B]
    assert book.union == [A, B] and book.count() == "2/50"
    assert "token" not in repr(one) and one.token not in repr(one)


def test_a_symbol_leaves_the_station_with_its_last_client():
    book = Book()
    one, two = book.join("a", 0.0), book.join("b", 0.0)
    book.register(one, [A, B])
    book.register(one, [A])  # again: still counted once for this client
    book.register(two, [A])
    assert book.unregister(one, [A]) == []  # two still wants it
    assert book.unregister(two, [A, C]) == [A]  # C was never two's: nothing to let go
    assert book.unregister_all(one) == [B] and book.union == []


def test_what_to_register_upstream_is_only_what_no_client_has_within_the_shared_cap():
    book = Book(limit=3)
    one, two = book.join("a", 0.0), book.join("b", 0.0)
    assert book.plan_register([A, B, A]) == [A, B]
    book.register(one, [A, B])
    assert book.plan_register([B, C]) == [C]
    with pytest.raises(SymbolLimitError) as caught:
        book.plan_register([C, SymbolKey("9984")])
    assert caught.value.code == 4002006 and book.union == [A, B]
    book.register(two, [B])
    assert two.symbols == {B: None}


def test_a_client_without_sockets_is_released_after_its_lease():
    book = Book(lease=10.0)
    idle, busy = book.join("a", 0.0), book.join("b", 0.0)
    book.register(idle, [A, B])
    book.register(busy, [B])
    busy.sockets = 1
    assert book.expired(9.9) == [] and book.expired(10.0) == [idle]  # busy has a socket
    assert book.leave(idle) == [A] and book.client(idle.token) is None
    assert book.union == [B] and book.expired(100.0) == []


def test_the_number_of_clients_is_bounded():
    book = Book(max_clients=1)
    book.join("a", 0.0)
    with pytest.raises(TooManyClients, match="at most 1 clients"):
        book.join("b", 0.0)

"""The real nats-server for the NATS tests: one per test module (a restart test makes its own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.nats.support import NatsServer


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    with NatsServer(Path(tmp_path_factory.mktemp("nats"))) as server:
        yield server

"""The reliability suite's marker: ``slow`` for the one test that outlasts websockets' keepalive."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: runs for most of a minute; skip it locally with -m 'not slow'")

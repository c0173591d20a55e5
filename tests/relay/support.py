"""A plain Kabu client for the relay's tests: httpx for REST, websockets for PUSH, nothing of ours."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Self

import httpx
from websockets.asyncio.client import ClientConnection, connect


class Kabu:
    """One client program: a token of its own, REST calls with it, PUSH sockets presenting it."""

    def __init__(self, server: Any, password: str) -> None:
        self.server = server
        self.password = password
        self.http = httpx.AsyncClient(base_url=server.base_url, timeout=10)
        self.token = ""

    async def __aenter__(self) -> Self:
        answer = await self.http.post("/token", json={"APIPassword": self.password})
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["Token"]
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.http.aclose()

    @staticmethod
    def symbols(*codes: str) -> dict[str, object]:
        return {"Symbols": [{"Symbol": code, "Exchange": 1} for code in codes]}

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, path, headers={"X-API-KEY": self.token}, **kwargs)

    async def _list(self, method: str, path: str, body: object = None) -> list[str]:
        answer = await (self.call(method, path, json=body) if body is not None else self.call(method, path))
        assert answer.status_code == 200, answer.text
        return [f"{s['Symbol']}@{s['Exchange']}" for s in answer.json()["RegistList"]]

    async def register(self, *codes: str) -> list[str]:
        return await self._list("PUT", "/register", self.symbols(*codes))

    async def unregister(self, *codes: str) -> list[str]:
        if not codes:  # nothing: the list as it stands (an empty unregister changes nothing)
            return await self._list("PUT", "/unregister", self.symbols())
        return await self._list("PUT", "/unregister", self.symbols(*codes))

    async def unregister_all(self) -> list[str]:
        return await self._list("PUT", "/unregister/all")

    @contextlib.asynccontextmanager
    async def push(self, **options: Any) -> AsyncIterator[ClientConnection]:
        """A PUSH socket presenting this client's token, as py-kabusapi does (X-API-KEY)."""
        async with connect(self.server.websocket_url, ping_interval=None,
                           additional_headers={"X-API-KEY": self.token}, **options) as ws:  # fmt: skip
            yield ws


async def frames_of(ws: ClientConnection, n: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    """The next ``n`` frames, decoded; fails after ``timeout`` seconds."""
    frames = []
    async with asyncio.timeout(timeout):
        for _ in range(n):
            frames.append(json.loads(await ws.recv()))
    return frames


def said_lines(relay: Any) -> list[str]:
    return list(relay.lines)

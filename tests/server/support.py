"""Helpers shared by the server tests."""

from __future__ import annotations

import httpx

from quoteboard.server import TestServer


async def register(srv: TestServer, *codes: str) -> None:
    """Register ``codes`` (exchange 1) at ``srv`` as any Kabu client would: a token, then PUT."""
    async with httpx.AsyncClient(base_url=srv.base_url) as client:
        token = (await client.post("/token", json={"APIPassword": "pw"})).json()["Token"]
        body = {"Symbols": [{"Symbol": code, "Exchange": 1} for code in codes]}
        answer = await client.put("/register", json=body, headers={"X-API-KEY": token})
        assert answer.status_code == 200, answer.text

"""Helpers shared by the recording tests (``tests/test_record.py``) and the station's replay tests
(``tests/server/test_server_replay.py``): Kabu frames, recordings, and a registered REST client."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from quoteboard.history.recording import Recorder
from quoteboard.server import TestServer


def board(code: str, price: float, exchange: int | None = 1) -> str:
    """A small Kabu board frame (Kabu's reversed naming: BidPrice is the best sell)."""
    return json.dumps(
        {
            "Symbol": code,
            "Exchange": exchange,
            "CurrentPrice": price,
            "BidPrice": price + 1,
            "AskPrice": price,
        }
    )


def record(path: Path, frames: list[tuple[float, str | bytes]], symbols=("7203@1",)) -> Path:
    with Recorder(path, symbols, source="test", started_at=frames[0][0] if frames else 0.0) as rec:
        for t, frame in frames:
            rec.write(frame.encode() if isinstance(frame, str) else frame, t)
    return path


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


async def token_and_register(srv: TestServer, *keys: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=srv.base_url)
    token = (await client.post("/token", json={"APIPassword": "pw"})).json()["Token"]
    client.headers["X-API-KEY"] = token
    if keys:
        symbols = [{"Symbol": k.split("@")[0], "Exchange": int(k.split("@")[1])} for k in keys]
        answer = await client.put("/register", json={"Symbols": symbols})
        assert answer.status_code == 200, answer.text
    return client


async def receive(ws, n: int, timeout: float = 5.0) -> list[str | bytes]:
    async with asyncio.timeout(timeout):
        return [await ws.recv() for _ in range(n)]


async def silent(ws, seconds: float) -> bool:
    try:
        await asyncio.wait_for(ws.recv(), seconds)
    except TimeoutError:
        return True
    return False


def sample_recording(path: Path) -> Path:
    """Frames 0.1 s apart: two symbols, a frame that does not decode, and a code the catalogue lacks.
    The header registers 7203 and 9433."""
    frames: list[tuple[float, str | bytes]] = [
        (1000.0, board("7203", 2500)),
        (1000.1, board("9433", 4000)),
        (1000.2, "garbage, as received"),
        (1000.3, board("7203", 2501)),
        (1000.4, board("1301", 3000)),
        (1000.5, board("7203", 2502)),
    ]
    return record(path, frames, symbols=["7203@1", "9433@1"])

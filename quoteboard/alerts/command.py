"""``--alert-command CMD``: a program run for each fired alert, the alert in its environment.

The command line is split once, by the platform's rules (:func:`quoteboard.cmdline.split_command`),
into an argv that is executed directly, never through a shell; the alert (station text: a symbol's
name, say) reaches the program only as the values of ``QUOTEBOARD_ALERT_SYMBOL``, ``_NAME``,
``_RULE``, ``_PRICE`` and ``_TIME``, so nothing a station sends is ever read as a command. The
program's stdout goes nowhere (it would tear the board's screen or ``stream``'s NDJSON); the last
line of its stderr is quoted if it fails. A program still running after :data:`TIMEOUT` seconds is
killed and reported.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from typing import Final

from quoteboard import cmdline
from quoteboard.alerts.book import Alert, alert_record

__all__ = ["ENV_PREFIX", "TIMEOUT", "alert_environment", "parse_command", "program_argv", "run_alert_command"]

TIMEOUT: Final = 10.0
ENV_PREFIX: Final = "QUOTEBOARD_ALERT_"


def parse_command(text: str) -> list[str]:
    """The argv of ``text``. Raises ``ValueError`` with a sentence for an empty or unbalanced one."""
    if not text.strip():
        raise ValueError("--alert-command is empty: give a program, e.g. --alert-command notify-send")
    try:
        return cmdline.split_command(text)
    except ValueError as exc:
        raise ValueError(f"--alert-command {text!r}: {exc}") from None


def program_argv(argv: list[str]) -> list[str]:
    """``argv`` with its program found the way a shell would find it. On Windows, CreateProcess only
    tries ``NAME.exe``, so ``notify`` would not find ``notify.cmd``: ``shutil.which`` there follows
    PATHEXT. Elsewhere the argv is used as it is (exec searches PATH itself)."""
    if not cmdline.on_windows():
        return argv
    # CreateProcess runs a .bat/.cmd through cmd.exe /c by itself, and Python's list2cmdline quotes
    # each argument for it. cmd then re-reads the line (%VAR%, &, ^), but every argument here is the
    # user's own, as they would type it at a prompt: the alert (station text) reaches the script only
    # through its environment, never this line, so a symbol name cannot become a command.
    return [shutil.which(argv[0]) or argv[0], *argv[1:]]


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
            *program_argv(argv),
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

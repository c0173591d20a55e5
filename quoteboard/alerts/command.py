"""``--alert-command CMD``: a program run for each fired alert, the alert in its environment.

The alert (station text: a symbol's name, say) reaches the program only as the values of
``QUOTEBOARD_ALERT_SYMBOL``, ``_NAME``, ``_RULE``, ``_PRICE`` and ``_TIME``; how the program is run
(no shell, stdout discarded, :data:`~quoteboard.hooks.TIMEOUT`) is :mod:`quoteboard.hooks`'.
"""

from __future__ import annotations

from typing import Final

from quoteboard import hooks
from quoteboard.alerts.book import Alert, alert_record
from quoteboard.hooks import TIMEOUT, program_argv

__all__ = ["ENV_PREFIX", "TIMEOUT", "alert_environment", "parse_command", "program_argv", "run_alert_command"]

ENV_PREFIX: Final = "QUOTEBOARD_ALERT_"


def parse_command(text: str) -> list[str]:
    """The argv of ``text``. Raises ``ValueError`` with a sentence for an empty or unbalanced one."""
    return hooks.parse_command(text, "--alert-command")


def alert_environment(alert: Alert) -> dict[str, str]:
    """``QUOTEBOARD_ALERT_SYMBOL`` and the rest, for ``alert``."""
    return {ENV_PREFIX + name.upper(): value for name, value in alert_record(alert).items()}


async def run_alert_command(argv: list[str], alert: Alert, timeout: float = TIMEOUT) -> str | None:
    """Run ``argv`` for ``alert`` (:func:`quoteboard.hooks.run_hook`): None if it exited 0, else a
    sentence saying what went wrong."""
    what = f"alert command {argv[0]!r} for {alert.key} {alert.rule}"
    return await hooks.run_hook(argv, alert_environment(alert), what, timeout)

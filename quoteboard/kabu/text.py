"""Text from the station made safe for a terminal."""

from __future__ import annotations

from typing import Final

__all__ = ["printable"]

#: Characters a terminal acts on instead of showing: the C0 and C1 controls (ESC starts a terminal
#: command, CR moves the cursor, BEL rings) and the bidi controls that reorder the text after them.
_UNPRINTABLE: Final = dict.fromkeys(
    (*range(0x20), 0x7F, *range(0x80, 0xA0), 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)),
    "\ufffd",
)


def printable(text: str) -> str:
    """``text`` with each control character replaced by U+FFFD (�), so that text from the station (a
    name, an error message) can go on a terminal without the terminal acting on it."""
    return text if text.isprintable() else text.translate(_UNPRINTABLE)

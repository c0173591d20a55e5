"""A command line a user gives for a hook (``--alert-command``), split into the argv to run.

Every hook splits its command line with :func:`split_command`: by the Microsoft C runtime's rules on
Windows (what ``cmd.exe`` and every C program there do with the line the user typed), by POSIX shell
rules (:func:`shlex.split`) elsewhere. The argv is run directly, never through a shell.

:func:`split_windows` is the CRT's algorithm (``parse_cmdline`` of the 2008+ CRT, which
``CommandLineToArgvW`` shares except for ``""`` inside quotes), a pure function so that it is
tested on any OS:

- the program name (the first token) runs to the next whitespace outside quotes; a ``"`` only
  toggles quoting there, and backslashes are literal (a path cannot hold a quote);
- in the other arguments, 2n backslashes then ``"`` give n backslashes and the quote toggles
  quoting; 2n+1 backslashes then ``"`` give n backslashes and a literal quote; backslashes before
  anything else are literal;
- inside quotes, ``""`` is a literal quote (the 2008+ CRT) and quoting goes on;
- ``""`` alone is an empty argument; a quote left open runs to the end of the line.
"""

from __future__ import annotations

import os
import shlex

__all__ = ["on_windows", "split_command", "split_windows"]

_BLANKS = " \t"


def split_command(text: str, *, windows: bool | None = None) -> list[str]:
    """The argv of ``text`` by this platform's rules (``windows`` overrides which). Raises
    ``ValueError`` for an empty line, or a POSIX one whose quotes do not close."""
    if windows is None:
        windows = on_windows()
    argv = split_windows(text) if windows else shlex.split(text)
    if not argv or not argv[0]:
        raise ValueError("no program given")
    return argv


def on_windows() -> bool:
    """Whether command lines here follow Windows' rules (a function, so tests can say otherwise)."""
    return os.name == "nt"


def split_windows(text: str) -> list[str]:
    """``text`` split as a Windows C program's ``main`` would receive it as ``argv``."""
    argv: list[str] = []
    i, end = 0, len(text)
    while i < end and text[i] in _BLANKS:
        i += 1
    if i == end:
        return argv
    # The program name: quotes toggle, nothing escapes.
    name: list[str] = []
    quoted = False
    while i < end and (quoted or text[i] not in _BLANKS):
        if text[i] == '"':
            quoted = not quoted
        else:
            name.append(text[i])
        i += 1
    argv.append("".join(name))
    while True:
        while i < end and text[i] in _BLANKS:
            i += 1
        if i == end:
            return argv
        arg: list[str] = []
        quoted = False
        while i < end and (quoted or text[i] not in _BLANKS):
            slashes = 0
            while i < end and text[i] == "\\":
                slashes += 1
                i += 1
            if i < end and text[i] == '"':
                arg.append("\\" * (slashes // 2))
                if slashes % 2:
                    arg.append('"')  # an escaped quote
                elif quoted and i + 1 < end and text[i + 1] == '"':
                    arg.append('"')  # "" inside quotes
                    i += 1
                else:
                    quoted = not quoted
                i += 1
            else:
                arg.append("\\" * slashes)  # not before a quote: as typed
                if i < end and (quoted or text[i] not in _BLANKS):
                    arg.append(text[i])
                    i += 1
        argv.append("".join(arg))

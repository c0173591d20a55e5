"""Hook command lines split by the platform's rules: the Microsoft C runtime's on Windows (tested
here on any OS, as a pure function), POSIX shell rules elsewhere."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quoteboard.alerts.command import parse_command
from quoteboard.cmdline import split_command, split_windows

# What the 2008+ CRT's parse_cmdline gives a C program's main() for each line (the cases of
# Microsoft's "Parsing C++ command-line arguments" table, and the program-name rule).
WINDOWS_CASES = [
    # A quoted path with spaces, and a quoted argument: the quotes are not part of either.
    (r'"C:\Program Files\Tool\notify.exe" --title "price alert"',
     [r"C:\Program Files\Tool\notify.exe", "--title", "price alert"]),
    # Backslashes not before a quote are literal, in the program and its arguments.
    (r"C:\Tools\notify.exe C:\logs\alerts.txt", [r"C:\Tools\notify.exe", r"C:\logs\alerts.txt"]),
    # 2n backslashes + quote: n backslashes, the quote toggles.
    (r'prog "a\\" b', ["prog", "a\\", "b"]),
    (r'prog a\\\\"b c" d', ["prog", r"a\\b c", "d"]),
    # 2n+1 backslashes + quote: n backslashes and a literal quote.
    (r'prog a\"b', ["prog", 'a"b']),
    (r'prog a\\\"b', ["prog", 'a\\"b']),
    (r'prog "a\"b c"', ["prog", 'a"b c']),
    # "" inside quotes is a literal quote (CRT 2008+), and the quoting goes on.
    (r'prog "say ""hi"" now"', ["prog", 'say "hi" now']),
    # Empty arguments.
    ('prog "" x ""', ["prog", "", "x", ""]),
    # A trailing backslash, and one before the end of a quoted argument left open.
    ("prog dir\\", ["prog", "dir\\"]),
    ('prog "C:\\dir\\', ["prog", "C:\\dir\\"]),
    # A quote left open runs to the end of the line.
    ('prog "open ended', ["prog", "open ended"]),
    # The program name: quotes toggle, backslashes never escape, tabs separate.
    (r'"C:\dir\"prog.exe	arg', [r"C:\dir\prog.exe", "arg"]),
    (r'C:\"My Tools"\notify.exe x', [r"C:\My Tools\notify.exe", "x"]),
    # Quotes glue parts into one argument; blanks around are skipped.
    ('  prog   a"b c"d  ', ["prog", "ab cd"]),
    ("   ", []),
]  # fmt: skip


@pytest.mark.parametrize(("line", "argv"), WINDOWS_CASES)
def test_a_windows_command_line_splits_as_the_c_runtime_splits_it(line: str, argv: list[str]) -> None:
    assert split_windows(line) == argv
    if argv:
        assert split_command(line, windows=True) == argv


# Text a program name can hold on Windows (no quote: not allowed in a file name), and any argument.
_names = st.text(st.characters(blacklist_characters='"\0\t\n ', blacklist_categories=("Cs",)), min_size=1)
_args = st.lists(st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",))), max_size=5)


@given(_names, _args)
def test_what_subprocess_quotes_for_windows_splits_back_into_the_argv(name: str, args: list[str]) -> None:
    # subprocess on Windows joins an argv with list2cmdline for CreateProcess, and the program splits
    # it with the CRT's rules: the two are each other's inverse.
    argv = [name, *args]
    assert split_windows(subprocess.list2cmdline(argv)) == argv


def test_a_posix_command_line_splits_as_a_posix_shell_splits_it() -> None:
    line = r"""notify-send 'price alert' "it's \"up\"" a\ b C:\\x"""
    assert split_command(line, windows=False) == ["notify-send", "price alert", 'it\'s "up"', "a b", "C:\\x"]
    # The same line by Windows' rules keeps single quotes and splits at every blank.
    assert split_command("notify-send 'price alert'", windows=True) == ["notify-send", "'price", "alert'"]


def test_an_empty_program_is_refused_on_both() -> None:
    for windows in (True, False):
        with pytest.raises(ValueError, match="no program"):
            split_command('"" arg', windows=windows)


def test_the_alert_command_is_split_by_this_platforms_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    import quoteboard.cmdline as cmdline

    line = r'"C:\Program Files\Tool\notify.exe" --title "price alert" C:\logs'
    monkeypatch.setattr(cmdline, "on_windows", lambda: True)
    assert parse_command(line) == [r"C:\Program Files\Tool\notify.exe", "--title", "price alert", r"C:\logs"]
    monkeypatch.setattr(cmdline, "on_windows", lambda: False)  # an unquoted backslash escapes there
    assert parse_command(line) == [r"C:\Program Files\Tool\notify.exe", "--title", "price alert", "C:logs"]


def test_on_windows_the_program_is_looked_up_as_a_shell_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On Windows shutil.which follows PATHEXT (notify -> notify.cmd), which CreateProcess does not;
    # here it shows the lookup is made, with the arguments left alone.
    import quoteboard.cmdline as cmdline
    from quoteboard.alerts.command import program_argv

    script = tmp_path / "notify"
    script.write_text("#!/bin/sh\n", encoding="utf-8")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(cmdline, "on_windows", lambda: True)
    assert program_argv(["notify", "a b"]) == [str(script), "a b"]
    assert program_argv(["missing", "x"]) == ["missing", "x"]  # CreateProcess then says it is not found
    monkeypatch.setattr(cmdline, "on_windows", lambda: False)
    assert program_argv(["notify", "a b"]) == ["notify", "a b"]

"""Whether the user's locale is Japanese: the palette a board starts with when none was saved.

:func:`is_japanese` is pure, given what the platform says; :func:`default_palette` asks the platform.
The environment speaks first, as it does for every program's messages: ``LC_ALL``, then
``LC_MESSAGES``, then ``LANG``, the first one set wins (POSIX; MSYS's shells set them on Windows too).
Windows' consoles set none of them: there the UI language (``GetUserDefaultUILanguage``) says what the
user reads. Last comes the locale Python started with (``locale.getlocale()``: ``Japanese_Japan`` on
Windows, ``ja_JP`` elsewhere).
"""

from __future__ import annotations

import locale
import os
import re
import sys
from collections.abc import Mapping
from typing import Final

from quoteboard.board.colours import Palette

__all__ = ["default_palette", "is_japanese"]

#: The variables that name the messages' locale, strongest first.
LOCALE_VARIABLES: Final = ("LC_ALL", "LC_MESSAGES", "LANG")
#: A Windows LANGID's primary language (its low 10 bits) for Japanese.
LANG_JAPANESE: Final = 0x11
#: How a locale name starts for Japanese: POSIX's and BCP 47's "ja", ISO 639-2's "jpn", Windows' "Japanese".
_JAPANESE_NAMES: Final = frozenset({"ja", "jpn", "japanese"})


def _names_japanese(name: str) -> bool:
    return re.split(r"[_.@-]", name.strip(), maxsplit=1)[0].lower() in _JAPANESE_NAMES


def is_japanese(
    environ: Mapping[str, str], *, platform: str, locale_name: str | None, ui_language: int | None = None
) -> bool:
    """Whether a user with this environment reads Japanese. ``locale_name`` is ``locale.getlocale()[0]``;
    ``ui_language`` the Windows UI language's LANGID (only looked at when ``platform`` is ``win32``)."""
    for variable in LOCALE_VARIABLES:
        if value := environ.get(variable):  # set but empty counts as unset, as in POSIX
            return _names_japanese(value)
    if platform == "win32" and ui_language is not None:
        return ui_language & 0x3FF == LANG_JAPANESE
    return locale_name is not None and _names_japanese(locale_name)


def default_palette() -> Palette:
    """``japanese`` when the user's locale is Japanese, else the theme's colours."""
    ui_language = None
    if sys.platform == "win32":
        import ctypes

        ui_language = int(ctypes.windll.kernel32.GetUserDefaultUILanguage())
    try:
        name = locale.getlocale()[0]
    except ValueError:  # a locale Python has no alias for: it cannot be Japanese by name then
        name = None
    japanese = is_japanese(os.environ, platform=sys.platform, locale_name=name, ui_language=ui_language)
    return "japanese" if japanese else "theme"

"""The board's up and down colours, as CSS variables: the theme's, Japanese, or a colour-blind palette.

Widgets colour a rise with ``$quote-up`` (backgrounds) and ``$quote-up-text`` (text), a fall with
``$quote-down`` and ``$quote-down-text``. With the ``theme`` palette these are the theme's own success
and error colours (or the theme's ``quote-*`` variables, should a theme define them); the
``japanese`` palette draws a rise in red and a fall in green, the way the exchange's board and
Japanese brokers' screens do; the ``colour-blind`` palette uses blue and orange instead of green and
red, from Okabe and Ito's set, which the common colour vision deficiencies tell apart. Without
Textual: the app feeds it the theme's variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, get_args

__all__ = ["PALETTES", "PALETTE_NAMES", "Palette", "palette_variables"]

Palette = Literal["theme", "japanese", "colour-blind"]
PALETTES: Final[tuple[Palette, ...]] = get_args(Palette)

#: What the command palette calls each one, and what it says of it.
PALETTE_NAMES: Final[dict[Palette, tuple[str, str]]] = {
    "theme": ("Theme palette", "The theme's own up and down colours, green and red (saved)"),
    "japanese": ("Japanese palette", "Rise in red, fall in green, as on Japanese boards (saved)"),
    "colour-blind": ("Colour-blind palette", "Blue and orange for up and down, not green and red (saved)"),
}

#: Okabe-Ito blue and orange; lighter text shades on a dark background, darker on a light one.
_COLOUR_BLIND: Final = {
    "quote-up": "#0072B2",
    "quote-down": "#E69F00",
}
_COLOUR_BLIND_TEXT: Final = {
    True: {"quote-up-text": "#56B4E9", "quote-down-text": "#E69F00"},
    False: {"quote-up-text": "#0072B2", "quote-down-text": "#A65E00"},
}
#: Red up and green down, by whether the theme is dark: text shades at 4.5:1 or more (WCAG AA) on
#: the default themes' background and surface, flash backgrounds under which `$text` reads as well.
_JAPANESE: Final = {
    True: {
        "quote-up": "#E53935",
        "quote-down": "#2E9E4F",
        "quote-up-text": "#FF7373",
        "quote-down-text": "#4ADE80",
    },
    False: {
        "quote-up": "#D32F2F",
        "quote-down": "#2E7D32",
        "quote-up-text": "#A31515",
        "quote-down-text": "#0A6630",
    },
}
#: Where each variable comes from in a theme, for the ``theme`` palette.
_FROM_THEME: Final = {
    "quote-up": "success",
    "quote-down": "error",
    "quote-up-text": "text-success",
    "quote-down-text": "text-error",
}


def palette_variables(palette: Palette, theme: Mapping[str, str], dark: bool) -> dict[str, str]:
    """The four ``quote-*`` variables for ``palette`` over a theme whose variables are ``theme``."""
    if palette == "colour-blind":
        return {**_COLOUR_BLIND, **_COLOUR_BLIND_TEXT[dark]}
    if palette == "japanese":
        return dict(_JAPANESE[dark])
    return {name: theme.get(name) or theme[source] for name, source in _FROM_THEME.items()}

"""The board's up and down colours, as CSS variables: the theme's, or a colour-blind palette.

Widgets colour a rise with ``$quote-up`` (backgrounds) and ``$quote-up-text`` (text), a fall with
``$quote-down`` and ``$quote-down-text``. With the ``theme`` palette these are the theme's own success
and error colours (or the theme's ``quote-*`` variables, should a theme define them); the
``colour-blind`` palette uses blue and orange instead of green and red, from Okabe and Ito's set,
which the common colour vision deficiencies tell apart. Without Textual: the app feeds it the
theme's variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, get_args

__all__ = ["PALETTES", "Palette", "palette_variables"]

Palette = Literal["theme", "colour-blind"]
PALETTES: Final[tuple[Palette, ...]] = get_args(Palette)

#: Okabe-Ito blue and orange; lighter text shades on a dark background, darker on a light one.
_COLOUR_BLIND: Final = {
    "quote-up": "#0072B2",
    "quote-down": "#E69F00",
}
_COLOUR_BLIND_TEXT: Final = {
    True: {"quote-up-text": "#56B4E9", "quote-down-text": "#E69F00"},
    False: {"quote-up-text": "#0072B2", "quote-down-text": "#A65E00"},
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
    return {name: theme.get(name) or theme[source] for name, source in _FROM_THEME.items()}

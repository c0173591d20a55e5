"""The colours controller: which palette colours up and down, chosen in the command palette and saved.

The palette is the one saved in ``settings.toml``, else the locale's (``japanese`` for a Japanese
locale, see :mod:`quoteboard.board.user_locale`), and a saved choice wins over the locale. The CSS
variables themselves come from :func:`quoteboard.board.colours.palette_variables`, which the app asks
for whenever Textual refreshes its CSS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from textual.app import App, SystemCommand

from quoteboard.board.colours import PALETTE_NAMES, PALETTES, Palette, palette_variables
from quoteboard.board.view import BoardWidgets
from quoteboard.store.settings import Settings, SettingsStore

__all__ = ["ColoursController"]


class ColoursController:
    """The board's palette. ``settings`` None neither reads nor saves it (tests, a replay's board);
    ``default`` is the palette until one is saved. Made before Textual's ``App.__init__``, which
    already asks for the CSS variables."""

    def __init__(
        self, host: App[Any], widgets: BoardWidgets, *, settings: SettingsStore | None, default: Palette
    ) -> None:
        self.host = host
        self.table = widgets.table
        self.positions = widgets.positions
        self.movers = widgets.movers
        self.settings = settings
        self.palette: Palette = default

    def variables(self, theme: Mapping[str, str], dark: bool) -> dict[str, str]:
        """The ``quote-*`` CSS variables over a theme whose variables are ``theme``."""
        return palette_variables(self.palette, theme, dark)

    def load(self) -> None:
        """Colour with the saved palette, if one was saved."""
        if self.settings is None:
            return
        settings, message = self.settings.load()
        if message:
            self.host.notify(message, title="settings", severity="warning", timeout=12)
        if settings.palette is not None and settings.palette != self.palette:
            self.set(settings.palette, save=False)

    def set(self, palette: Palette, *, save: bool = True) -> None:
        """Colour up and down with ``palette``, and remember it (``save``)."""
        self.palette = palette
        self.host.refresh_css(animate=False)
        # refresh_css tells each widget its styles changed; the table's cached rows are dropped here
        # as well, since a row drawn in the old colours would otherwise stay until its next quote.
        self.table.forget_styles()
        self.positions.redraw()
        self.movers.redraw()
        if save and self.settings is not None:
            error = self.settings.save(Settings(palette))
            if error:
                self.host.notify(error, title="palette not saved", severity="error", timeout=12)

    def commands(self) -> Iterable[SystemCommand]:
        """One command for each palette, the one in use said so."""
        for palette in PALETTES:
            title, help_text = PALETTE_NAMES[palette]
            in_use = " (in use)" if palette == self.palette else ""
            yield SystemCommand(f"{title}{in_use}", help_text, self._setter(palette))

    def _setter(self, palette: Palette) -> Callable[[], None]:
        return lambda: self.set(palette)

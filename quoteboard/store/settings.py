"""The board's settings on disk: ``settings.toml`` in the config directory, beside the watchlist::

    palette = "colour-blind"

Kept by :class:`quoteboard.store.TomlStore` like the watchlist: written atomically; a file that cannot
be read or parsed is kept aside as ``settings.toml.bak`` (then ``.bak.1``...) and the defaults are
used; an unknown value is dropped, the original kept aside too. Each case comes back as a sentence for
the user; nothing here raises because of the disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from quoteboard.board.colours import PALETTES, Palette
from quoteboard.store import TomlStore

__all__ = ["FILE_NAME", "Settings", "SettingsStore"]

FILE_NAME: Final = "settings.toml"
_HEADER: Final = (
    "# quoteboard's settings, rewritten when one changes.\n# palette: theme, japanese or colour-blind.\n"
)


@dataclass(frozen=True, slots=True)
class Settings:
    """What the board remembers besides the watchlist."""

    #: None until the user picks one: the board then goes by the locale (see ``board/user_locale.py``).
    palette: Palette | None = None


class SettingsStore(TomlStore[Settings]):
    """Reads and writes one settings file; neither method raises because of the file or the disk."""

    file_name, what, header = FILE_NAME, "the settings", _HEADER

    def load(self) -> tuple[Settings, str | None]:
        """The saved settings (the defaults if there is no file), and a sentence if something was wrong."""
        loaded = self.read()
        return loaded.value, loaded.said("using the default settings")

    def default(self) -> Settings:
        return Settings()

    def decode(self, data: dict[str, Any]) -> tuple[Settings, list[str]]:
        # Other keys are left unsaid, as before: a later version's setting is no damage.
        palette = data.get("palette")
        if palette is None:
            return Settings(), []
        for known in PALETTES:  # the loop gives `known` its Literal type
            if palette == known:
                return Settings(known), []
        return Settings(), [f"palette = {palette!r} is not one of {', '.join(PALETTES)} (ignored)"]

    def encode(self, value: Settings) -> dict[str, Any]:
        return {} if value.palette is None else {"palette": value.palette}

"""The board's settings on disk: ``settings.toml`` in the config directory, beside the watchlist::

    palette = "colour-blind"

Written atomically, with the watchlist's helpers (see :mod:`quoteboard.watchlist`). A file that
cannot be read or parsed is moved aside as ``settings.toml.bak`` (then ``.bak.1``...) and the
defaults are used; an unknown value is ignored. Each case comes back as a sentence for the user;
nothing here raises because of the disk.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import tomli_w

from quoteboard.colours import PALETTES, Palette
from quoteboard.safefile import backup_path
from quoteboard.safefile import os_reason as _reason
from quoteboard.safefile import write_atomically as _write_atomically
from quoteboard.watchlist import _toml_problem, config_dir

__all__ = ["FILE_NAME", "Settings", "SettingsStore"]

FILE_NAME: Final = "settings.toml"
_HEADER: Final = "# quoteboard's settings, rewritten when one changes.\n# palette: theme or colour-blind.\n"


@dataclass(frozen=True, slots=True)
class Settings:
    """What the board remembers besides the watchlist."""

    palette: Palette = "theme"


class SettingsStore:
    """Reads and writes one settings file; neither method raises because of the file or the disk."""

    def __init__(self, path: Path | None = None) -> None:
        self.path: Path = path if path is not None else config_dir() / FILE_NAME

    def load(self) -> tuple[Settings, str | None]:
        """The saved settings (the defaults if there is no file), and a sentence if something was wrong."""
        try:
            text = self.path.read_bytes().decode("utf-8-sig")
            data = tomllib.loads(text)
        except FileNotFoundError:
            return Settings(), None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            if isinstance(exc, tomllib.TOMLDecodeError):
                problem = f"{self.path} is not valid TOML ({_toml_problem(exc)})"
            elif isinstance(exc, OSError):
                problem = f"could not read {self.path} ({_reason(exc)})"
            else:
                problem = f"{self.path} is not UTF-8 text"
            return Settings(), self._move_aside(problem)
        palette = data.get("palette", "theme")
        for known in PALETTES:  # the loop gives `known` its Literal type
            if palette == known:
                return Settings(known), None
        return Settings(), f"{self.path}: palette = {palette!r} is not one of {', '.join(PALETTES)} (ignored)"

    def save(self, settings: Settings) -> str | None:
        """Write ``settings`` atomically; None, or a sentence saying why they were not saved."""
        data = (_HEADER + tomli_w.dumps({"palette": settings.palette})).encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(self.path, data)
        except OSError as exc:
            return f"could not save the settings to {self.path} ({_reason(exc)})"
        return None

    def _move_aside(self, problem: str) -> str:
        backup = backup_path(self.path)
        try:
            os.replace(self.path, backup)
        except OSError as exc:
            return f"{problem}; could not move it aside ({_reason(exc)}); using the default settings"
        return f"{problem}; moved it aside to {backup.name}, using the default settings"

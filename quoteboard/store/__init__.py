"""Where quoteboard's files live and how they are kept: one atomic TOML store that the watchlist, the
alerts and the settings use (:mod:`quoteboard.store.toml`), on top of the atomic write and the backup
naming (:mod:`quoteboard.store.atomic`)."""

from quoteboard.store.toml import CONFIG_DIR_ENV, Loaded, TomlStore, config_dir

__all__ = ["CONFIG_DIR_ENV", "Loaded", "TomlStore", "config_dir"]

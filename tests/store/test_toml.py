"""The one TOML store behind the watchlist, the alerts and the settings: each kind of damage is said
for what it is (not UTF-8, not TOML with the parser's line and column, not the expected shape), the
same way for all three files, and the original is always kept aside."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from quoteboard.alerts.book import AlertBook, AlertStore, parse_rule
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.store import atomic
from quoteboard.store.settings import Settings, SettingsStore
from quoteboard.store.watchlist import Watchlist, WatchlistStore


def load_watchlist(path: Path) -> tuple[object, str | None]:
    loaded = WatchlistStore(path).load()
    return loaded.watchlist, loaded.notice()


def load_alerts(path: Path) -> tuple[object, str | None]:
    loaded = AlertStore(path).load()
    return [(str(a.key), str(a.rule)) for a in loaded.book], loaded.message


def load_settings(path: Path) -> tuple[object, str | None]:
    return SettingsStore(path).load()


Loader = Callable[[Path], tuple[object, str | None]]
#: Each file: how to load it, its defaults, and what is said is used instead of an unusable file.
FILES: dict[str, tuple[Loader, object, str]] = {
    "watchlist.toml": (load_watchlist, Watchlist(), "starting with an empty watchlist"),
    "alerts.toml": (load_alerts, [], "no alerts"),
    "settings.toml": (load_settings, Settings(), "using the default settings"),
}
each_file = pytest.mark.parametrize("name", list(FILES))


@each_file
def test_a_file_that_is_not_utf8_is_said_to_be_so_with_the_byte_and_its_offset(tmp_path: Path, name: str):
    load, default, instead = FILES[name]
    path = tmp_path / name
    raw = "# あ saved as Shift-JIS\n".encode("shift_jis")  # あ is 0x82 0xA0
    path.write_bytes(raw)
    value, message = load(path)
    assert value == default
    assert message == f"{path} is not UTF-8 text (byte 0x82 at offset 2); kept it as {name}.bak; {instead}"
    assert (tmp_path / f"{name}.bak").read_bytes() == raw


@each_file
def test_utf8_that_is_not_toml_is_said_to_be_so_with_the_parsers_line_and_column(tmp_path: Path, name: str):
    load, default, instead = FILES[name]
    path = tmp_path / name
    raw = '# トヨタ is UTF-8\n[[alerts]\nsymbol = "7203@1"\n'
    path.write_text(raw, encoding="utf-8")
    value, message = load(path)
    assert value == default
    assert message is not None
    assert message.startswith(f"{path} is not valid TOML (line 2, column 9: ")
    assert message.endswith(f"; kept it as {name}.bak; {instead}")
    assert "UTF-8" not in message
    assert (tmp_path / f"{name}.bak").read_text(encoding="utf-8") == raw


#: Valid TOML whose content is not what each file holds, the phrase that says so, and what is kept.
WRONG_SHAPE: dict[str, tuple[str, str, object]] = {
    "watchlist.toml": (
        'symbols = ["7203@1", 42]\n',
        '42 is not a symbol such as "7203@1" (dropped)',
        Watchlist([SymbolKey("7203", 1)]),
    ),
    "alerts.toml": (
        '[[alerts]]\nsymbol = "7203@1"\nrule = ">1750"\n[[alerts]]\nsymbol = "7203@1"\nrule = "soon"\n',
        "alert 2: 'soon' is not an alert",
        [("7203@1", ">1750")],
    ),
    "settings.toml": (
        'palette = "pink"\n',
        "palette = 'pink' is not one of theme, japanese, colour-blind (ignored)",
        Settings(),
    ),
}


@each_file
def test_toml_of_the_wrong_shape_is_said_as_such_and_the_usable_part_kept(tmp_path: Path, name: str):
    load, _, instead = FILES[name]
    path = tmp_path / name
    raw, phrase, kept = WRONG_SHAPE[name]
    path.write_text(raw, encoding="utf-8")
    value, message = load(path)
    assert value == kept
    assert message is not None and message.startswith(f"{path}: ") and phrase in message
    assert message.endswith(f"; the original is kept as {name}.bak")
    assert "UTF-8" not in message and "not valid TOML" not in message and instead not in message
    assert (tmp_path / f"{name}.bak").read_text(encoding="utf-8") == raw
    assert load(path) == (kept, None)  # rewritten with what was usable: the next start is quiet


@each_file
def test_a_directory_in_place_of_the_file_is_moved_aside(tmp_path: Path, name: str):
    load, default, instead = FILES[name]
    path = tmp_path / name
    path.mkdir()
    (path / "keep.txt").write_text("mine", encoding="utf-8")
    value, message = load(path)
    assert value == default
    assert message is not None and message.startswith(f"could not read {path} (")
    assert message.endswith(f"; moved it aside to {name}.bak; {instead}")
    assert (tmp_path / f"{name}.bak" / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_a_bad_alerts_file_that_cannot_be_backed_up_is_not_overwritten_by_a_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    store = AlertStore(tmp_path / "alerts.toml")
    store.path.write_bytes(b"[[alerts")

    def refuse(*args: object, **kwargs: object) -> object:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    loaded = store.load()
    assert loaded.message is not None and "could not back it up (Permission denied)" in loaded.message
    assert "changes to the alerts will not be saved" in loaded.message
    monkeypatch.undo()
    store.path.write_bytes(b"[[alerts")  # (as it was)
    assert store.load().message is not None  # backed up now, then rewritten
    assert store.save(AlertBook()) is None
    assert (tmp_path / "alerts.toml.bak").read_bytes() == b"[[alerts"


class RefusingRename:
    """os.replace as Windows answers it while another program holds the target open, ``refusals``
    times (None: always); the sleeps between tries are counted, not slept."""

    def __init__(self, refusals: int | None) -> None:
        self.refusals = refusals
        self.calls = 0
        self.sleeps: list[float] = []

    def __call__(self, source: Path, target: Path) -> None:
        self.calls += 1
        if self.refusals is None or self.calls <= self.refusals:
            raise PermissionError(errno.EACCES, "Access is denied", str(target))
        os.replace(source, target)


def install_refusing_rename(monkeypatch: pytest.MonkeyPatch, refusals: int | None) -> RefusingRename:
    rename = RefusingRename(refusals)
    monkeypatch.setattr(atomic, "_rename", rename)
    monkeypatch.setattr(atomic, "_sleep", rename.sleeps.append)
    return rename


def test_a_save_that_windows_refuses_for_a_moment_is_retried_and_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    store = AlertStore(tmp_path / "alerts.toml")
    book = AlertBook()
    book.add(SymbolKey("7203"), parse_rule(">1750"))
    rename = install_refusing_rename(monkeypatch, refusals=3)
    assert store.save(book) is None
    assert rename.calls == 4 and len(rename.sleeps) == 3
    assert 'symbol = "7203@1"' in store.path.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alerts.toml"]  # no temp file left


def test_a_save_that_windows_keeps_refusing_says_so_and_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    store = AlertStore(tmp_path / "alerts.toml")
    assert store.save(AlertBook()) is None
    before = store.path.read_bytes()
    book = AlertBook()
    book.add(SymbolKey("7203"), parse_rule(">1750"))
    rename = install_refusing_rename(monkeypatch, refusals=None)
    message = store.save(book)
    assert message == (
        f"could not save the alerts to {store.path} (Access is denied, 5 tries over 1 s: is another "
        "program holding it open?)"
    )
    assert rename.calls == 5 and sum(rename.sleeps) == pytest.approx(1.0)
    assert store.path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alerts.toml"]

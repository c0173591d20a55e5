"""The watchlist file: round trips, the config directory, damaged files kept aside, failed saves
reported instead of raised, and saves that stay atomic when the process is killed mid-write."""

from __future__ import annotations

import dataclasses
import errno
import os
import random
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import platformdirs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quoteboard.kabu.protocol import EXCHANGES, SymbolKey, parse_symbol
from quoteboard.store import atomic
from quoteboard.store.watchlist import (
    CONFIG_DIR_ENV,
    SORT_MODES,
    LoadResult,
    Watchlist,
    Watchlists,
    WatchlistStore,
    config_dir,
)

TOYOTA = SymbolKey("7203", 1)
NTT = SymbolKey("9432", 1)
KDDI = SymbolKey("9433", 1)


@pytest.fixture
def store(tmp_path: Path) -> WatchlistStore:
    return WatchlistStore(tmp_path / "config" / "watchlist.toml")


def temp_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.tmp"))


def saved(store: WatchlistStore) -> dict[str, object]:
    return tomllib.loads(store.path.read_text("utf-8"))


def main(data: dict[str, object]) -> dict[str, object]:
    """The list ``main`` of a parsed file."""
    return data["lists"]["main"]  # type: ignore[index,no-any-return]


def write(store: WatchlistStore, content: str | bytes) -> bytes:
    store.path.parent.mkdir(parents=True, exist_ok=True)
    raw = content.encode() if isinstance(content, str) else content
    store.path.write_bytes(raw)
    return raw


# --------------------------------------------------------------------------------------------------
# Round trips and the config directory
# --------------------------------------------------------------------------------------------------


def test_saved_watchlist_loads_back_in_the_same_order(store: WatchlistStore):
    watchlist = Watchlist([KDDI, TOYOTA, SymbolKey("130A", 3), NTT], sort="volume")
    assert store.save(watchlist) is None
    assert store.load() == LoadResult(Watchlists.single(watchlist), None)
    assert main(saved(store))["symbols"] == ["9433@1", "7203@1", "130A@3", "9432@1"]


def test_missing_file_loads_as_an_empty_watchlist_without_a_message(store: WatchlistStore):
    assert store.load() == LoadResult(Watchlists.single(Watchlist([], "added")), None)
    assert not store.path.parent.exists()  # loading creates nothing


def test_saved_file_holds_only_symbols_and_sort_never_a_password(store: WatchlistStore):
    # The type has no field a password could go in, and the file has no other key.
    assert [f.name for f in dataclasses.fields(Watchlist)] == ["symbols", "sort"]
    assert store.save(Watchlist([TOYOTA], "code")) is None
    assert saved(store) == {"shown": "main", "lists": {"main": {"symbols": ["7203@1"], "sort": "code"}}}


def test_config_dir_environment_variable_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "elsewhere"))
    assert config_dir() == tmp_path / "elsewhere"
    store = WatchlistStore()
    assert store.path == tmp_path / "elsewhere" / "watchlist.toml"
    assert store.save(Watchlist([TOYOTA])) is None  # creates the directory
    assert WatchlistStore().load().watchlist.symbols == [TOYOTA]


def test_config_dir_defaults_to_the_platform_user_config_directory(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(CONFIG_DIR_ENV, raising=False)
    assert config_dir() == platformdirs.user_config_path("quoteboard", appauthor=False)
    assert WatchlistStore().path == config_dir() / "watchlist.toml"


def test_bare_and_lowercase_codes_are_normalised_without_a_complaint(store: WatchlistStore):
    write(store, 'symbols = ["7203", " 130a @ 3 "]\n')
    assert store.load() == LoadResult(Watchlists.single(Watchlist([TOYOTA, SymbolKey("130A", 3)])), None)
    assert not store.path.with_name("watchlist.toml.bak").exists()


def test_a_byte_order_mark_from_windows_notepad_is_accepted(store: WatchlistStore):
    write(store, '\ufeffsymbols = ["7203@1"]\n'.encode())
    assert store.load() == LoadResult(Watchlists.single(Watchlist([TOYOTA])), None)


def test_add_and_remove_keep_symbols_unique_and_in_order():
    watchlist = Watchlist()
    assert watchlist.add(KDDI) and watchlist.add(TOYOTA)
    assert not watchlist.add(KDDI)
    assert watchlist.remove(KDDI) and not watchlist.remove(KDDI)
    assert watchlist.symbols == [TOYOTA]


def test_saving_an_unknown_sort_mode_is_a_programming_error(store: WatchlistStore):
    with pytest.raises(ValueError, match="sort must be one of"):
        store.save(Watchlist([TOYOTA], "price"))  # type: ignore[arg-type]
    assert not store.path.exists()


def test_several_lists_round_trip_with_their_sorts_order_and_the_shown_one(store: WatchlistStore):
    lists = Watchlists.single(Watchlist([TOYOTA, KDDI], "code"))
    lists.create("banks", Watchlist([SymbolKey("8306"), SymbolKey("8316")], "change"))
    lists.create("my tech 2", Watchlist([SymbolKey("6758")], "volume"))
    lists.create("空")
    lists.shown = "banks"
    assert store.save(lists) is None
    assert store.load() == LoadResult(lists, None)
    data = saved(store)
    assert data["shown"] == "banks"
    assert list(data["lists"]) == ["main", "banks", "my tech 2", "空"]  # type: ignore[call-overload]
    assert data["lists"]["my tech 2"] == {"symbols": ["6758@1"], "sort": "volume"}  # type: ignore[index]


def test_a_file_in_the_single_list_format_is_read_as_the_list_main_nothing_lost(store: WatchlistStore):
    # Exactly what the board wrote before it had several lists.
    old = (
        "# quoteboard's watchlist, rewritten whenever the board's list changes.\n"
        "# symbols: CODE@EXCHANGE in board order. sort: added, code, change or volume.\n"
        'symbols = ["9433@1", "7203@1", "130A@3"]\n'
        'sort = "change"\n'
    )
    write(store, old)
    result = store.load()
    expected = Watchlists.single(Watchlist([KDDI, TOYOTA, SymbolKey("130A", 3)], "change"))
    assert result == LoadResult(expected, None)
    assert result.lists.names == ["main"] and result.lists.shown == "main"
    # The next save writes the new format with the same list; nothing is backed up or dropped.
    assert store.save(result.lists) is None
    assert main(saved(store)) == {"symbols": ["9433@1", "7203@1", "130A@3"], "sort": "change"}
    assert store.load() == LoadResult(expected, None)
    assert not store.path.with_name("watchlist.toml.bak").exists()


def test_bad_lists_are_dropped_the_rest_kept_and_the_original_backed_up(store: WatchlistStore):
    raw = write(
        store,
        'shown = "gone"\nextra = 1\n'
        '[lists.main]\nsymbols = ["7203@1", "bad!"]\n'
        '[lists.MAIN]\nsymbols = ["9433@1"]\n'
        '[lists.banks]\nsymbols = ["8306@1"]\nsort = "code"\n',
    )
    result = store.load()
    assert result.lists.names == ["main", "banks"]
    assert result.lists.shown == "main"
    assert result.lists.lists["main"] == Watchlist([TOYOTA])
    assert result.lists.lists["banks"] == Watchlist([SymbolKey("8306")], "code")
    assert result.message is not None
    assert "list 'main': 'bad!' is not a symbol code" in result.message
    assert "already a list named 'MAIN'" in result.message
    assert store.path.with_name("watchlist.toml.bak").read_bytes() == raw


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "a list needs a name"),
        ("x" * 25, "at most 24 characters"),
        (" main2", "no spaces at either end"),
        ("tab\there", "no control characters"),
        ("Main", "already a list named 'Main'"),
    ],
)
def test_bad_list_names_are_refused_with_a_reason(name: str, problem: str):
    lists = Watchlists()
    with pytest.raises(ValueError, match=problem):
        lists.create(name)
    assert lists.names == ["main"]


def test_lists_rename_in_place_delete_to_a_neighbour_and_step_round():
    lists = Watchlists()
    lists.create("a")
    lists.create("b")
    assert lists.step(1) == "a" and lists.step(1) == "b" and lists.step(1) == "main"
    assert lists.step(-1) == "b"
    lists.rename("a", "alpha")
    assert lists.names == ["main", "alpha", "b"]
    lists.rename("b", "B")  # only the case changes: not a clash with itself
    assert lists.shown == "B"
    lists.delete("B")
    assert lists.shown == "alpha"
    lists.delete("main")
    with pytest.raises(ValueError, match="last list"):
        lists.delete("alpha")


symbol_keys = st.builds(
    SymbolKey, st.from_regex(r"[0-9A-Z]{1,12}", fullmatch=True), st.sampled_from(list(EXCHANGES))
)
watchlists = st.builds(
    Watchlist, st.lists(symbol_keys, unique=True, max_size=60), st.sampled_from(SORT_MODES)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(watchlist=watchlists)
def test_any_watchlist_of_valid_symbols_round_trips_exactly(tmp_path: Path, watchlist: Watchlist):
    store = WatchlistStore(tmp_path / "watchlist.toml")  # one file, overwritten by each example
    assert store.save(watchlist) is None
    assert store.load() == LoadResult(Watchlists.single(watchlist), None)
    assert temp_files(tmp_path) == []


# --------------------------------------------------------------------------------------------------
# Damaged files: kept aside, never raised
# --------------------------------------------------------------------------------------------------


def test_corrupt_toml_is_kept_as_bak_and_the_board_starts_empty(store: WatchlistStore):
    raw = write(store, 'symbols = [\n  "7203@1",\n  x = 3\n')
    result = store.load()
    assert result.watchlist == Watchlist()
    assert result.message is not None
    assert "is not valid TOML (line 3" in result.message and "watchlist.toml.bak" in result.message
    assert store.path.with_name("watchlist.toml.bak").read_bytes() == raw
    # The bad file was replaced by what the board shows, so the next start is quiet.
    assert main(saved(store)) == {"symbols": [], "sort": "added"}
    assert store.load() == LoadResult(Watchlists.single(Watchlist()), None)


def test_wrong_types_are_kept_as_bak_and_ignored(store: WatchlistStore):
    raw = write(store, 'symbols = "7203@1"\nsort = 3\n')
    result = store.load()
    assert result.watchlist == Watchlist([], "added")
    assert result.message is not None
    assert "symbols = '7203@1' is not a list" in result.message and "sort = 3" in result.message
    assert store.path.with_name("watchlist.toml.bak").read_bytes() == raw


def test_bad_symbol_entries_are_dropped_and_the_rest_kept_in_order(store: WatchlistStore):
    raw = write(store, 'symbols = ["9433@1", "no such!", 42, "7203", "9433", "1301@99", "9432@1"]\n')
    result = store.load()
    assert result.watchlist == Watchlist([KDDI, TOYOTA, NTT])
    assert result.message is not None
    assert "'no such!' is not a symbol code" in result.message and "42 is not a symbol" in result.message
    assert "'9433' repeats 9433@1" in result.message
    assert "and 1 more" in result.message  # the unknown exchange 99
    assert store.path.with_name("watchlist.toml.bak").read_bytes() == raw
    assert main(saved(store))["symbols"] == ["9433@1", "7203@1", "9432@1"]


def test_unknown_settings_and_sort_modes_are_reported_and_dropped(store: WatchlistStore):
    write(store, 'symbols = ["7203@1"]\nsort = "price"\npassword = "hunter2"\n')
    result = store.load()
    assert result.watchlist == Watchlist([TOYOTA], "added")
    assert result.message is not None
    assert "'price' is not one of added, code, change, volume" in result.message
    assert "unknown setting 'password'" in result.message
    assert "hunter2" not in store.path.read_text("utf-8")


def test_invalid_utf8_is_kept_as_bak_and_the_board_starts_empty(store: WatchlistStore):
    raw = write(store, b'symbols = ["7203@1", "\xff\xfe"]\n')
    result = store.load()
    assert result.watchlist == Watchlist()
    assert result.message is not None and "is not UTF-8 text (byte 0xFF at offset 22)" in result.message
    assert store.path.with_name("watchlist.toml.bak").read_bytes() == raw


def test_a_directory_in_place_of_the_file_is_moved_aside(store: WatchlistStore):
    store.path.mkdir(parents=True)
    (store.path / "keep.txt").write_text("mine")
    result = store.load()
    assert result.watchlist == Watchlist()
    assert result.message is not None
    assert result.message.startswith(f"could not read {store.path}")
    assert "moved it aside to watchlist.toml.bak" in result.message
    assert (store.path.with_name("watchlist.toml.bak") / "keep.txt").read_text() == "mine"
    assert store.save(Watchlist([TOYOTA])) is None
    assert store.load().watchlist.symbols == [TOYOTA]


def test_older_backups_are_kept_and_the_next_one_is_numbered(store: WatchlistStore):
    for n, name in enumerate(["watchlist.toml.bak", "watchlist.toml.bak.1", "watchlist.toml.bak.2"]):
        write(store, f"broken {n}")
        message = store.load().message
        assert message is not None and name in message
    for n, name in enumerate(["watchlist.toml.bak", "watchlist.toml.bak.1", "watchlist.toml.bak.2"]):
        assert store.path.with_name(name).read_text() == f"broken {n}"


def test_a_bad_file_that_cannot_be_backed_up_is_never_overwritten(
    store: WatchlistStore, monkeypatch: pytest.MonkeyPatch
):
    raw = write(store, "not = [toml")

    def refuse(*args: object, **kwargs: object) -> object:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    result = store.load()
    assert result.watchlist == Watchlist()
    assert result.message is not None and "could not back it up (Permission denied)" in result.message
    message = store.save(Watchlist([TOYOTA]))
    assert message is not None and "did not save the watchlist" in message
    assert store.path.read_bytes() == raw
    monkeypatch.undo()  # the disk works again: the backup is made first, then the save
    assert store.save(Watchlist([TOYOTA])) is None
    assert store.path.with_name("watchlist.toml.bak").read_bytes() == raw
    assert main(saved(store))["symbols"] == ["7203@1"]


def test_leftover_temporary_files_are_removed_on_load(store: WatchlistStore):
    assert store.save(Watchlist([TOYOTA])) is None
    leftover = store.path.with_name(".watchlist.toml.k1ll3d.tmp")
    leftover.write_text('symbols = ["half')
    assert store.load() == LoadResult(Watchlists.single(Watchlist([TOYOTA])), None)
    assert not leftover.exists()


def test_saving_through_a_symlink_writes_where_it_points(tmp_path: Path):
    real = tmp_path / "dotfiles" / "watchlist.toml"
    real.parent.mkdir()
    real.write_text('symbols = ["9433@1"]\n')
    link = tmp_path / "config" / "watchlist.toml"
    link.parent.mkdir()
    try:
        link.symlink_to(real)
    except (OSError, NotImplementedError):
        pytest.skip("this system does not let us create symlinks")
    store = WatchlistStore(link)
    assert store.save(Watchlist([TOYOTA])) is None
    assert link.is_symlink()
    assert main(tomllib.loads(real.read_text()))["symbols"] == ["7203@1"]
    leftover = real.with_name(".watchlist.toml.k1ll3d.tmp")  # a killed save's, next to the target
    leftover.write_text("")
    assert store.load() == LoadResult(Watchlists.single(Watchlist([TOYOTA])), None)
    assert not leftover.exists()


# --------------------------------------------------------------------------------------------------
# Failed saves: a sentence, not an exception
# --------------------------------------------------------------------------------------------------


def test_save_where_the_config_directory_is_a_file_returns_a_message(tmp_path: Path):
    # Works as root too, unlike chmod: nothing can create a directory where a file is.
    (tmp_path / "config").write_text("not a directory")
    store = WatchlistStore(tmp_path / "config" / "watchlist.toml")
    assert store.load().watchlist == Watchlist()
    message = store.save(Watchlist([TOYOTA]))
    assert message is not None
    assert f"could not create the directory {tmp_path / 'config'}" in message
    assert (tmp_path / "config").read_text() == "not a directory"


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions that bind (not root)"
)
def test_save_into_a_read_only_directory_returns_a_message(store: WatchlistStore):
    assert store.save(Watchlist([TOYOTA])) is None
    before = store.path.read_bytes()
    store.path.parent.chmod(0o500)
    try:
        message = store.save(Watchlist([KDDI]))
    finally:
        store.path.parent.chmod(0o700)
    assert message is not None and "Permission denied" in message
    assert store.path.read_bytes() == before


@pytest.mark.skipif(os.name != "posix", reason="a directory is synced on POSIX only")
def test_a_save_syncs_the_file_then_the_directory_that_holds_its_new_name(
    store: WatchlistStore, monkeypatch: pytest.MonkeyPatch
):
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append("directory" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    assert store.save(Watchlist([TOYOTA])) is None
    assert synced == ["file", "directory"]


def test_a_full_disk_leaves_the_old_file_and_no_temporary_file(
    store: WatchlistStore, monkeypatch: pytest.MonkeyPatch
):
    assert store.save(Watchlist([TOYOTA])) is None
    before = store.path.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", disk_full)
    message = store.save(Watchlist([KDDI, NTT]))
    assert message == f"could not save the watchlist to {store.path} (No space left on device)"
    assert store.path.read_bytes() == before
    assert temp_files(store.path.parent) == []


# --------------------------------------------------------------------------------------------------
# Atomicity under SIGKILL
# --------------------------------------------------------------------------------------------------

SIZE = 2000  # symbols per version: about 30 kB, a few milliseconds a save
KILLS = 20
EXCHANGE_CODES = list(EXCHANGES)

# Saves version after version as fast as it can, each version recognisable in full from its first
# symbol. It starts like the board, with load(), which also removes the temp file the last kill left.
# A failed save is reported on stderr and the loop goes on: on Windows, replacing a file that the
# test is reading at that instant fails (a sharing violation), which save() reports, as it should.
SAVER = """
import sys
from pathlib import Path

from quoteboard.kabu.protocol import EXCHANGES, SymbolKey
from quoteboard.store.watchlist import SORT_MODES, Watchlist, WatchlistStore

store, size, exchanges = WatchlistStore(Path(sys.argv[1])), int(sys.argv[2]), list(EXCHANGES)
loaded = store.load()
if loaded.message:
    print(loaded.message, file=sys.stderr, flush=True)
version = int(loaded.watchlist.symbols[0].code[:6])
print("ready", flush=True)
while True:
    version += 1
    symbols = [SymbolKey(f"{version:06d}X{i:04d}", exchanges[i % len(exchanges)]) for i in range(size)]
    failure = store.save(Watchlist(symbols, SORT_MODES[version % len(SORT_MODES)]))
    if failure:
        print(failure, file=sys.stderr, flush=True)
"""


def version_symbols(version: int) -> list[str]:
    return [f"{version:06d}X{i:04d}@{EXCHANGE_CODES[i % len(EXCHANGE_CODES)]}" for i in range(SIZE)]


def complete_version(path: Path) -> int:
    """The version the file holds, after checking it holds all of that version and nothing else."""
    whole = tomllib.loads(path.read_text("utf-8"))
    assert set(whole) == {"shown", "lists"} and whole["shown"] == "main"
    data = main(whole)
    symbols = data["symbols"]
    assert isinstance(symbols, list) and symbols, "the file has no symbols"
    version = int(symbols[0][:6])
    assert symbols == version_symbols(version)
    assert data == {"symbols": symbols, "sort": SORT_MODES[version % len(SORT_MODES)]}
    return version


@pytest.mark.timeout(60)
def test_saves_killed_at_random_moments_leave_an_old_or_new_complete_file(tmp_path: Path):
    """SIGKILL (``Popen.kill``) a process that saves in a loop, 20 times at random moments.

    While it runs, the file is read over and over; after each kill, once more. Every read finds one
    whole version, never older than the one read before. After a kill there is at most one temporary
    file, the one the killed save was writing; the next process's load() removes it, so they never
    accumulate. (Kills land inside a save only now and then, as a save is a small part of each loop;
    the reads during the saves are what would catch a file written in place.)
    """
    store = WatchlistStore(tmp_path / "watchlist.toml")
    assert store.save(Watchlist([parse_symbol(s) for s in version_symbols(0)])) is None
    rng = random.Random(7203)
    last = reads = 0
    for _ in range(KILLS):
        saver = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(store.path), str(SIZE)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert saver.stdout is not None and saver.stdout.readline() == b"ready\n"
            kill_at = time.monotonic() + rng.uniform(0.0, 0.08)
            while time.monotonic() < kill_at:
                try:
                    version = complete_version(store.path)
                except PermissionError:
                    if os.name != "nt":  # Windows: opened while being replaced; try again
                        raise
                    continue
                assert version >= last
                last, reads = version, reads + 1
            assert saver.poll() is None, "the saver stopped by itself"
        finally:
            saver.kill()
            _, errors = saver.communicate()
        if os.name != "nt":
            assert errors == b"", errors.decode(errors="replace")
        version = complete_version(store.path)
        assert version >= last
        last = version
        assert len(temp_files(tmp_path)) <= 1
    assert last > KILLS and reads > KILLS, "too few saves or reads to say anything"
    assert store.load().message is None
    assert temp_files(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["watchlist.toml"]

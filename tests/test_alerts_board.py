"""Price alerts on the board, driven with Pilot against the embedded test server: ``!`` sets one, a
price the server pushes fires it, and ``--alert-command`` gets it in its environment."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from quoteboard.alerts.book import AlertStore
from quoteboard.board.widgets.alert_list import AlertList
from quoteboard.board.widgets.alert_screen import AlertScreen
from quoteboard.kabu.protocol import SymbolKey
from tests.app_support import make_app, table_lines, wait_for

SIZE = (160, 48)
TOYOTA = SymbolKey("7203")
#: Writes the QUOTEBOARD_ALERT_* variables it was given to the file named by its first argument.
ENV_DUMP = (
    "import json, os, sys\n"
    "values = {k: v for k, v in os.environ.items() if k.startswith('QUOTEBOARD_ALERT_')}\n"
    "open(sys.argv[1], 'w', encoding='utf-8').write(json.dumps(values))\n"
)


def env_dump_command(tmp_path: Path) -> tuple[list[str], Path]:
    script = tmp_path / "dump_env.py"
    script.write_text(ENV_DUMP, encoding="utf-8")
    out = tmp_path / "alert-env.json"
    return [sys.executable, str(script), str(out)], out


def quoted(app, key: SymbolKey) -> bool:
    row = app.board.rows.get(key)
    return row is not None and row.quote is not None and row.quote.last is not None


async def test_an_alert_set_with_bang_fires_on_a_pushed_crossing_price_and_runs_the_command(
    tmp_path: Path,
) -> None:
    command, out = env_dump_command(tmp_path)
    store = AlertStore(tmp_path / "alerts.toml")
    app = make_app(tmp_path, symbols=[TOYOTA], alerts=store, alert_command=command)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: quoted(app, TOYOTA), what="a quote for 7203")
        last = app.board.rows[TOYOTA].quote.last
        threshold = round(last * 1.01)  # above today's price: nothing fires yet
        await pilot.press("exclamation_mark")
        assert isinstance(app.screen, AlertScreen)
        await pilot.press(*f">{threshold}", "enter")
        assert not isinstance(app.screen, AlertScreen)
        [alert] = app.alerts.book.of(TOYOTA)
        assert alert.armed and str(alert.rule) == f">{threshold}"
        assert store.load().book.of(TOYOTA)[0].armed  # saved at once
        assert any(f">{threshold} armed" in line for line in app.panel.query_one(AlertList).lines)

        app.server.kabu.market.jump("7203@1", threshold * 1.01)  # the next pushed trades cross it
        await wait_for(pilot, lambda: not alert.armed, what="the alert to fire")
        assert alert.fired_price is not None and alert.fired_price >= threshold
        await wait_for(pilot, lambda: out.exists(), what="the alert command to run")
        env = json.loads(out.read_text(encoding="utf-8"))
        assert env == {
            "QUOTEBOARD_ALERT_SYMBOL": "7203@1",
            "QUOTEBOARD_ALERT_NAME": "トヨタ自動車",
            "QUOTEBOARD_ALERT_RULE": f">{threshold}",
            "QUOTEBOARD_ALERT_PRICE": env["QUOTEBOARD_ALERT_PRICE"],
            "QUOTEBOARD_ALERT_TIME": alert.fired_at,
        }
        assert float(env["QUOTEBOARD_ALERT_PRICE"]) == alert.fired_price
        # The notification, the mark on the row, the panel, the file.
        said = [n.message for n in app._notifications if n.title == "alert"]
        assert said == [f"7203@1 トヨタ自動車\n>{threshold} at {env['QUOTEBOARD_ALERT_PRICE']}"]
        await pilot.pause(0.1)
        assert table_lines(app)[1].startswith("7203@1 !")
        assert any("fired at" in line for line in app.panel.query_one(AlertList).lines)
        assert not store.load().book.of(TOYOTA)[0].armed
        # It fired once: later crossing quotes leave it as it was.
        fired_price = alert.fired_price
        pushed = app.feed.received
        await wait_for(pilot, lambda: app.feed.received >= pushed + 3, what="more quotes")
        assert alert.fired_price == fired_price


async def test_bad_alert_input_is_said_under_the_input_and_nothing_is_saved(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.toml")
    app = make_app(tmp_path, symbols=[TOYOTA], alerts=store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("exclamation_mark", *"1750", "enter")
        screen = app.screen
        assert isinstance(screen, AlertScreen)
        assert "is not an alert" in screen.error and ">1750" in screen.error
        await pilot.press("escape")
        assert not isinstance(app.screen, AlertScreen)
        assert len(app.alerts.book) == 0
        assert not store.path.exists()


def fired_notes(app) -> int:
    return sum(1 for note in app._notifications if note.title == "alert")


async def test_alerts_are_deleted_and_rearmed_in_the_panel(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.toml")
    store.path.write_text(
        '[[alerts]]\nsymbol = "7203@1"\nrule = ">1"\n\n[[alerts]]\nsymbol = "7203@1"\nrule = "<1"\n',
        encoding="utf-8",
    )
    app = make_app(tmp_path, symbols=[TOYOTA], alerts=store)
    async with app.run_test(size=SIZE) as pilot:
        book = app.alerts.book
        fires, waits = book.of(TOYOTA)
        # Armed while already past its threshold: it fires on the first quote.
        await wait_for(pilot, lambda: not fires.armed, what="an alert armed past its threshold to fire")
        assert waits.armed and fired_notes(app) == 1
        alerts = app.panel.query_one(AlertList)
        alerts.focus()
        await pilot.press("enter")  # the first, fired: re-armed, so it fires again on the next quote
        await wait_for(pilot, lambda: fired_notes(app) == 2, what="the re-armed alert to fire again")
        await pilot.press("down", "delete")  # the second: deleted
        assert book.of(TOYOTA) == [fires]
        assert [str(alert.rule) for alert in store.load().book] == [">1"]
        await pilot.press("escape")
        assert app.focused is app.table


async def test_a_symbol_with_an_armed_alert_stays_registered_off_the_list(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.toml")
    store.path.write_text('[[alerts]]\nsymbol = "9433@1"\nrule = ">99999"\n', encoding="utf-8")
    app = make_app(tmp_path, symbols=[TOYOTA], alerts=store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.server.registered == ["7203@1", "9433@1"], what="both registered")
        assert app.table.order == [TOYOTA]
        [alert] = app.alerts.book.of(SymbolKey("9433"))
        app.alerts.delete(alert)  # what the panel's Delete and the palette's command call
        await wait_for(pilot, lambda: app.server.registered == ["7203@1"], what="9433 unregistered")
        assert len(store.load().book) == 0


async def test_the_palette_deletes_and_rearms_the_highlighted_rows_alerts(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.toml")
    store.path.write_text('[[alerts]]\nsymbol = "7203@1"\nrule = ">1"\n', encoding="utf-8")
    app = make_app(tmp_path, symbols=[TOYOTA], alerts=store)
    async with app.run_test(size=SIZE) as pilot:
        [alert] = app.alerts.book.of(TOYOTA)
        await wait_for(pilot, lambda: not alert.armed)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Re-arm alert 7203@1 >1" in titles and "Delete alert 7203@1 >1" in titles
        await pilot.press("ctrl+p", *"Delete alert 7203", "enter")
        await wait_for(pilot, lambda: len(app.alerts.book) == 0, what="the alert deleted")
        assert table_lines(app)[1].startswith("7203@1 ") and not table_lines(app)[1].startswith("7203@1 !")


async def test_a_failing_alert_command_is_reported_and_the_board_carries_on(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.toml")
    store.path.write_text('[[alerts]]\nsymbol = "7203@1"\nrule = ">1"\n', encoding="utf-8")
    failing = [sys.executable, "-c", "import sys; sys.stderr.write('pager down'); sys.exit(4)"]
    app = make_app(tmp_path, symbols=[TOYOTA], alerts=store, alert_command=failing)
    async with app.run_test(size=SIZE) as pilot:

        def reported() -> list[str]:
            return [n.message for n in app._notifications if n.title == "alert command"]

        await wait_for(pilot, reported, what="the failure reported")
        [said] = reported()
        assert "exit status 4" in said and "pager down" in said
        pushed = app.feed.received
        await wait_for(pilot, lambda: app.feed.received >= pushed + 3, what="quotes still coming")


async def test_a_damaged_alerts_file_is_kept_aside_with_a_notice(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.toml")
    store.path.write_text("[[alerts]\nsymbol = ", encoding="utf-8")
    app = make_app(tmp_path, symbols=[TOYOTA], alerts=store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        [said] = [n.message for n in app._notifications if n.title == "alerts"]
        # UTF-8 that is not TOML: said as such, where the parser stopped, and not as a wrong encoding.
        assert "is not valid TOML (line 1, column 9: " in said and "UTF-8" not in said
        assert "kept it as alerts.toml.bak" in said
        assert (tmp_path / "alerts.toml.bak").read_text(encoding="utf-8") == "[[alerts]\nsymbol = "
        assert len(app.alerts.book) == 0

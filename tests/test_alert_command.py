"""``--alert-command``: a real program run without a shell, the alert only in its environment; a
failing or hanging one reported; ``stream --alerts`` printing fired alerts as NDJSON."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from quoteboard.alerts.book import Alert, AlertBook, Rule, parse_rule
from quoteboard.alerts.command import parse_command, run_alert_command
from quoteboard.commands.alert_stream import stream_alerts
from quoteboard.feeds.kabu import KabuFeed
from quoteboard.kabu.protocol import Quote, SymbolKey, decode_frame
from quoteboard.kabu.records import alert_line as stream_alert_line
from quoteboard.kabu.records import quote_record
from tests.ndjson_support import alert_line, quote_line
from tests.test_alerts_board import ENV_DUMP

NASTY = "$(touch pwned); rm -rf pwned2 `touch pwned3` | touch pwned4 && touch pwned5 > pwned6"


def dump_script(tmp_path: Path) -> Path:
    script = tmp_path / "dump_env.py"
    script.write_text(ENV_DUMP, encoding="utf-8")
    return script


TOYOTA = SymbolKey("7203")


def fired(key: SymbolKey = TOYOTA, name: str = "トヨタ自動車") -> Alert:
    return Alert(key, Rule(">", 1750), fired_price=1751.5, fired_at="2026-12-03T10:01:02+09:00", name=name)


async def test_shell_metacharacters_reach_the_command_only_as_environment_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where a `touch pwned` run by a shell would leave its file
    out = tmp_path / "env.json"
    # The symbol and the name are station text; the command line's own quoted argument holds
    # metacharacters too: none of it may be executed.
    argv = parse_command(f"{sys.executable} {dump_script(tmp_path)} {out} '{NASTY}'")
    assert argv[-1] == NASTY
    alert = fired(SymbolKey(f"72;{NASTY}"), name=NASTY)
    assert await run_alert_command(argv, alert) is None
    env = json.loads(out.read_text(encoding="utf-8"))
    assert env["QUOTEBOARD_ALERT_NAME"] == NASTY
    assert env["QUOTEBOARD_ALERT_SYMBOL"] == f"72;{NASTY}@1"
    assert env["QUOTEBOARD_ALERT_RULE"] == ">1750" and env["QUOTEBOARD_ALERT_PRICE"] == "1751.5"
    assert env["QUOTEBOARD_ALERT_TIME"] == "2026-12-03T10:01:02+09:00"
    assert sorted(os.listdir(tmp_path)) == ["dump_env.py", "env.json"]  # nothing was touched


async def test_a_failing_command_is_reported_with_its_last_stderr_line(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import sys; sys.stderr.write('first\\nno route to pager\\n'); sys.exit(3)"]
    said = await run_alert_command(argv, fired())
    assert said is not None and "exit status 3" in said and "no route to pager" in said


async def test_a_missing_command_is_reported(tmp_path: Path) -> None:
    said = await run_alert_command([str(tmp_path / "no-such-program")], fired())
    assert said is not None and "did not start" in said


async def test_a_hanging_command_is_stopped_after_the_timeout(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    said = await run_alert_command(argv, fired(), timeout=0.5)
    assert said is not None and "still running after 0.5 s and was stopped" in said


def test_a_command_line_that_does_not_split_is_refused() -> None:
    with pytest.raises(ValueError, match="No closing quotation"):
        parse_command("notify-send 'unbalanced")
    with pytest.raises(ValueError, match="empty"):
        parse_command("   ")


def quoteboard(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "quoteboard", *args],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, env={**os.environ, **env},
    )  # fmt: skip


def test_stream_alerts_prints_fired_alerts_as_ndjson_and_runs_the_command(tmp_path: Path) -> None:
    # 7203's alert is armed below today's price (it fires on the first quote); 9433's never fires.
    (tmp_path / "alerts.toml").write_text(
        '[[alerts]]\nsymbol = "7203@1"\nrule = ">1"\n\n[[alerts]]\nsymbol = "9433@1"\nrule = "<1"\n',
        encoding="utf-8",
    )
    out = tmp_path / "env.json"
    command = f"{sys.executable} {dump_script(tmp_path)} {out}"
    result = quoteboard(
        "stream", "--demo", "--alerts", "--count", "1", "--alert-command", command,
        env={"QUOTEBOARD_CONFIG_DIR": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    record = alert_line(line)
    assert (record.symbol, record.exchange, record.name, record.rule) == ("7203", 1, "トヨタ自動車", ">1")
    env = json.loads(out.read_text(encoding="utf-8"))
    # The command's environment is text: the same alert, in the board's words.
    assert env == {
        "QUOTEBOARD_ALERT_SYMBOL": "7203@1", "QUOTEBOARD_ALERT_NAME": record.name,
        "QUOTEBOARD_ALERT_RULE": ">1", "QUOTEBOARD_ALERT_PRICE": env["QUOTEBOARD_ALERT_PRICE"],
        "QUOTEBOARD_ALERT_TIME": record.time,
    }  # fmt: skip
    assert float(env["QUOTEBOARD_ALERT_PRICE"]) == record.price
    saved = (tmp_path / "alerts.toml").read_text(encoding="utf-8")
    assert f"fired_price = {record.price}" in saved  # marked fired, as the board would


def test_stream_alerts_without_an_armed_alert_explains(tmp_path: Path) -> None:
    result = quoteboard("stream", "--demo", "--alerts", env={"QUOTEBOARD_CONFIG_DIR": str(tmp_path)})
    assert result.returncode == 2 and "no armed alert" in result.stderr and not result.stdout


def test_alert_command_on_a_quote_stream_is_refused(tmp_path: Path) -> None:
    result = quoteboard("stream", "--demo", "--alert-command", "true", env={})
    assert result.returncode == 2 and "needs --alerts" in result.stderr


def test_an_alert_line_and_a_quote_line_of_the_same_quote_share_one_schema() -> None:
    quote = decode_frame(
        json.dumps({"Symbol": "9433", "Exchange": 1, "SymbolName": "ＫＤＤＩ", "CurrentPrice": 4001,
                    "CurrentPriceTime": "2026-12-03T10:01:02+09:00"}),
        received_at=1_796_259_662.25,
    )  # fmt: skip
    assert isinstance(quote, Quote)
    book = AlertBook()
    book.add(quote.key, parse_rule(">4000"))
    [fired] = book.check(quote)
    encode = msgspec.json.encode
    as_quote = quote_line(encode(quote_record(quote)))
    as_alert = alert_line(encode(stream_alert_line(fired, quote)))
    shared = ("symbol", "exchange", "name", "time", "received_at")
    assert [getattr(as_alert, key) for key in shared] == [getattr(as_quote, key) for key in shared]
    assert (as_alert.symbol, as_alert.exchange, as_alert.price) == ("9433", 1, 4001)
    assert as_alert.received_at == "2026-12-03T10:01:02.250+09:00"


async def test_stream_alerts_reads_the_limits_and_fires_limit_up_on_the_quote_at_the_limit(server) -> None:
    """In process, on the real test station: the limit is read from /symbol before the watch, and
    the alert fires when the station puts 7203 at its upper limit (and not before)."""
    book = AlertBook()
    alert = book.add(SymbolKey("7203"), parse_rule("limit-up"))
    feed = KabuFeed(server.base_url, "pw")
    await feed.register([SymbolKey("7203")])
    out, err = io.StringIO(), io.StringIO()
    watch = asyncio.create_task(stream_alerts(feed, book, out, err, count=1, duration=20))
    try:
        while server.frames_sent < 3:  # quotes away from the limit: nothing fires
            await asyncio.sleep(0.05)
        assert alert.armed and not out.getvalue()
        server.kabu.market.hold("7203@1", "limit-up")
        assert await asyncio.wait_for(watch, 20) == 1
    finally:
        watch.cancel()
        await feed.close()
    upper = server.kabu.market.symbol("7203@1").UpperLimit
    record = alert_line(out.getvalue().strip())
    assert (record.rule, record.price) == ("limit-up", upper)
    assert "limits are not known" not in err.getvalue()

"""The API password never leaves: not on screen, in a screenshot, a file, a log, a repr, an error
message, a crash report, or the CLI's stderr, whatever the session goes through."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from rich.console import Console
from rich.traceback import Traceback

from quoteboard.board.widgets.password_screen import PasswordScreen
from quoteboard.kabu.protocol import SymbolKey
from quoteboard.kabu.rest import KabuRest
from quoteboard.secret import Secret
from quoteboard.server import TestServer
from tests.app_support import Outcomes, make_app, screen_text, wait_for
from tests.reliability.support import forward_to, record_status_texts

PASSWORD = "Zq7-hunter2-pw"
SIZE = (160, 48)


def crash_report(error: BaseException) -> str:
    """The error as Textual's crash screen renders it: a traceback with every frame's locals."""
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(Traceback.from_exception(type(error), error, error.__traceback__, show_locals=True))
    return console.file.getvalue()  # type: ignore[attr-defined]


class Outputs:
    """Everything a session showed or wrote, to be searched for the password at the end."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}
        self.outcomes = Outcomes()  # every outcome the panel is told to show

    def add(self, what: str, text: str) -> None:
        self.texts[f"{len(self.texts):02} {what}"] = text

    def screen(self, app, moment: str) -> None:
        self.add(f"screen {moment}", screen_text(app))
        self.add(f"screenshot {moment}", app.export_screenshot())
        self.add(f"status bar {moment}", app.status_bar.text)
        self.add(f"panel {moment}", app.panel.outcome)

    def follow(self, app) -> None:
        """Keep every outcome the panel shows and every status the bar shows from now on."""
        self.statuses = record_status_texts(app.status_bar)

    def leaks(self) -> list[str]:
        return [what for what, text in self.texts.items() if PASSWORD in text]


@pytest.fixture
async def station():
    async with TestServer(seed=3, rate_limit=None, password=PASSWORD) as srv:
        yield srv


async def test_a_whole_session_shows_and_writes_the_password_nowhere(
    tmp_path: Path, station: TestServer, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and websockets included
    outputs = Outputs()
    errors: list[BaseException] = []
    logged_out = False

    def faults(request: httpx.Request) -> httpx.Response | None:
        body = request.content.decode()
        if request.url.path.endswith("/token") and logged_out:
            # A station that echoes the request in its error page, after the early-morning logout.
            return httpx.Response(500, text=f"<pre>bad request: {body}</pre>")
        if request.url.path.endswith("/register") and '"9984"' in body and not errors:
            error = RuntimeError("the transport fell over")  # an unexpected bug, not a network error
            errors.append(error)
            raise error
        return None

    recording = tmp_path / "session.ndjson"
    app = make_app(tmp_path, demo=False, password=PASSWORD, base_url=station.base_url,
                   symbols=[SymbolKey("7203")], record=recording,
                   rest_transport=forward_to(station, faults))  # fmt: skip
    # The session ends in a crash (see its end): run_test raises it on the way out.
    with pytest.raises(RuntimeError, match="forced crash"):
        async with app.run_test(size=SIZE, message_hook=outputs.outcomes) as pilot:
            outputs.follow(app)
            # Start.
            await wait_for(pilot, lambda: app.feed.received > 0 and station.registered == ["7203@1"])
            outputs.screen(app, "after start")
            # Add, remove.
            await pilot.press("a", *"6758", "enter")
            await wait_for(pilot, lambda: "6758@1 registered" in app.panel.outcome)
            outputs.screen(app, "after add")
            await pilot.press("d")
            await wait_for(pilot, lambda: "6758@1 unregistered" in app.panel.outcome)
            outputs.screen(app, "after remove")
            # REST errors: an unknown code; then a voided token whose renewal gets an echoing 500.
            await pilot.press("a", *"1111", "enter")
            await wait_for(pilot, lambda: "4002001" in app.panel.outcome)
            outputs.screen(app, "after an unknown code")
            station.void_tokens()
            logged_out = True
            await pilot.press("a", *"9433", "enter")
            await wait_for(
                pilot,
                lambda: "9433@1 kept on the watchlist, not registered yet" in app.panel.outcome,
                what="the 500",
            )
            logged_out = False
            assert "HTTP 500" in app.panel.outcome and '"APIPassword":"***"' in app.panel.outcome  # echoed
            outputs.screen(app, "after the echoing 500")
            # An unexpected exception in a REST call, and the crash report it would make.
            await pilot.press("a", *"9984", "enter")
            said = lambda: "the transport fell over" in app.panel.outcome  # noqa: E731
            await wait_for(pilot, said, what="the bug, said")
            outputs.screen(app, "after the unexpected error")
            assert errors and "RuntimeError" in crash_report(errors[0])
            outputs.add("crash report of the REST bug", crash_report(errors[0]))
            # Switch to the demo and back.
            await pilot.press("f")
            await wait_for(pilot, lambda: app.feed.name == "demo" and app.feed.status.state == "live")
            outputs.screen(app, "on the demo")
            await pilot.press("f")
            await wait_for(pilot, lambda: app.feed.name == "kabu" and app.feed.status.state == "live")
            await wait_for(pilot, lambda: app.feed.received > 0)
            outputs.screen(app, "back on kabu")
            outputs.add("repr of the feed", repr(app.feed))
            outputs.add("repr of the REST client", repr(app.feed.rest))
            for note in app._notifications:
                outputs.add("notification", f"{note.title} {note.message}")
            # Finally a crash: Textual prints its report, locals and all, on the way out.
            app.action_cycle_sort = _crash  # type: ignore[method-assign]
            await pilot.press("s")
            await pilot.pause(0.2)
    captured = capsys.readouterr()
    outputs.add("stdout", captured.out)
    outputs.add("stderr", captured.err)
    assert "forced crash" in captured.err  # the crash report was printed, and is searched
    outputs.add("log", caplog.text)
    outputs.add("every panel outcome", "\n".join(outputs.outcomes))
    outputs.add("every status", "\n".join(outputs.statuses))
    assert any('"APIPassword":"***"' in text for text in outputs.outcomes)  # the echo was followed
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file():
            outputs.add(f"file {path.name}", path.read_bytes().decode("utf-8", "replace"))
    assert recording.exists() and len(outputs.texts) > 30
    assert outputs.leaks() == []


def _crash() -> None:
    raise RuntimeError("forced crash")


async def test_a_bad_station_url_is_said_and_the_board_keeps_the_password_to_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A URL without http:// used to crash the board with the password in the report's locals."""
    app = make_app(tmp_path, demo=False, password=PASSWORD, base_url="localhost:18080/kabusapi",
                   symbols=[SymbolKey("7203")])  # fmt: skip
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.feed is not None and app.feed.status.state == "closed")
        assert "must start with http://" in app.status_bar.text and "http://" in app.panel.outcome
        shown = screen_text(app) + app.export_screenshot() + app.panel.outcome + app.status_bar.text
    captured = capsys.readouterr()
    assert PASSWORD not in shown + captured.out + captured.err


async def test_a_failing_token_request_leaves_no_password_in_its_crash_report() -> None:
    def explode(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("boom")

    rest = KabuRest("http://station.test/kabusapi", PASSWORD, transport=httpx.MockTransport(explode))
    with pytest.raises(RuntimeError) as caught:
        await rest.token()
    await rest.aclose()
    report = crash_report(caught.value)
    assert "token" in report and PASSWORD not in report


def test_the_cli_never_prints_the_password_given_on_the_command_line(tmp_path: Path) -> None:
    import asyncio

    async def run(url: str) -> subprocess.CompletedProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "quoteboard", "stream", "--kabu", PASSWORD, "--kabu-url", url,
            "--symbols", "7203", "--count", "1",
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        return subprocess.CompletedProcess([], proc.returncode, out.decode(), err.decode())

    async def both() -> list[subprocess.CompletedProcess]:
        async with TestServer(seed=1, rate_limit=None, password="the-right-one") as srv:
            return [await run(srv.base_url), await run("localhost:18080/kabusapi")]

    wrong_password, bad_url = asyncio.run(both())
    for result in (wrong_password, bad_url):
        assert result.stdout == ""
        assert PASSWORD not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert wrong_password.returncode == 1 and len(wrong_password.stderr.strip().splitlines()) == 1
    assert "4001013" in wrong_password.stderr
    assert bad_url.returncode == 2 and "--kabu-url: expected an http:// URL" in bad_url.stderr  # usage


async def test_a_crash_opening_the_station_after_the_password_modal_keeps_it_out_of_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """The password typed in the modal passes through a chain of calls (the modal's answer, the
    feed switch, the feed, the REST client) whose frames a crash report shows with their locals."""
    import quoteboard.kabu.rest as rest_module

    errors: list[BaseException] = []
    real_client = httpx.AsyncClient
    broken = False

    def client(*args: object, **kwargs: object) -> httpx.AsyncClient:
        if broken:
            error = RuntimeError("the HTTP client fell over")
            errors.append(error)
            raise error
        return real_client(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(rest_module.httpx, "AsyncClient", client)
    app = make_app(tmp_path, symbols=[SymbolKey("7203")])
    with pytest.raises(RuntimeError, match="fell over"):
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.feed is not None and app.feed.received > 0)
            broken = True
            await pilot.press("f")
            await wait_for(pilot, lambda: isinstance(app.screen, PasswordScreen), what="the modal")
            await pilot.press(*PASSWORD, "enter")
            await wait_for(pilot, lambda: bool(errors), what="the crash")
            await pilot.pause(0.2)
    report = crash_report(errors[0])
    for frame in ("got", "_switch", "start_feed", "start", "__init__"):  # the chain, locals shown
        assert f"in {frame}" in report, report
    assert PASSWORD not in report and "Secret('***')" in report
    captured = capsys.readouterr()
    assert "fell over" in captured.err and PASSWORD not in captured.out + captured.err


def test_a_secret_shows_as_stars_however_it_is_printed() -> None:
    import pickle

    secret = Secret(PASSWORD)
    logged = "%s %r" % (secret, secret)  # noqa: UP031 (logging formats this way)
    shown = [repr(secret), str(secret), f"{secret}", f"{secret!r:>30}", logged, repr([secret]),
             repr({"password": secret})]  # fmt: skip
    assert all("***" in text and PASSWORD not in text for text in shown), shown
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(secret)
    assert secret.reveal() == PASSWORD and secret == Secret(PASSWORD) and secret != PASSWORD
    assert Secret.of(secret) is secret and Secret.of(None) == Secret("") and not Secret.of(None)

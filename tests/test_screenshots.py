"""The README's screenshots read, once rendered, as the board read: no run of text loses its spaces.

Rich's SVG draws each styled run as its own ``<text>``, spaces as U+00A0. A renderer that honours SVG's
default ``xml:space`` strips a run's leading and trailing spaces and collapses the others, and librsvg
counts U+00A0 among them: "^p" + " palette" came out as "^ppalette". ``drawn_lines`` reads an SVG the
way such a renderer draws it, each run at its own x, so a lost space shows as two words run together.
"""

from __future__ import annotations

import importlib.util
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest
from rich.cells import cell_len

from tests.app_support import frozen_demo_server, make_app, table_lines, wait_for

ROOT = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
SPACES = re.compile("[ \u00a0]+")


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("screenshots_script", ROOT / "scripts" / "screenshots.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def drawn_lines(svg: str, *, renderer_rules: bool = True) -> list[str]:
    """The terminal's lines as a renderer draws the SVG: each line-clipped run placed at its column.

    With ``renderer_rules``, a run outside ``xml:space="preserve"`` loses its leading and trailing
    spaces and has the others collapsed (librsvg's reading of the default, U+00A0 included);
    without, every run is drawn as written."""
    root = ET.fromstring(svg)
    parents = {child: parent for parent in root.iter() for child in parent}

    def preserved(element: ET.Element | None) -> bool:
        while element is not None:
            if XML_SPACE in element.attrib:
                return element.attrib[XML_SPACE] == "preserve"
            element = parents.get(element)
        return False

    rows: dict[float, list[tuple[float, str]]] = {}
    cell_width = 0.0
    for text in root.iter(f"{SVG}text"):
        if "-line-" not in text.get("clip-path", ""):
            continue  # the window's title
        written = text.text or ""
        cell_width = cell_width or float(text.attrib["textLength"]) / cell_len(written)
        drawn = written
        if renderer_rules and not preserved(text):
            drawn = SPACES.sub(" ", written).strip(" \u00a0")
        rows.setdefault(float(text.attrib["y"]), []).append((float(text.attrib["x"]), drawn))
    lines = []
    for y in sorted(rows):
        line = ""
        for x, drawn in sorted(rows[y]):
            line += " " * max(0, round(x / cell_width) - cell_len(line)) + drawn
        lines.append(line.replace("\u00a0", " ").rstrip())
    return lines


@pytest.mark.parametrize("name", sorted(path.name for path in (ROOT / "screenshots").glob("*.svg")))
def test_readme_screenshot_keeps_its_spaces_when_rendered(name: str) -> None:
    svg = (ROOT / "screenshots" / name).read_text(encoding="utf-8")
    assert drawn_lines(svg) == drawn_lines(svg, renderer_rules=False)


async def test_screenshot_script_writes_runs_that_keep_their_spaces(tmp_path: Path) -> None:
    script = load_script()
    app = make_app(tmp_path, demo_server=frozen_demo_server)
    async with app.run_test(size=script.SIZE) as pilot:
        await wait_for(
            pilot,
            lambda: table_lines(app) and not any("waiting" in line for line in table_lines(app)),
            what="every row drawn",
        )
        script.save_svg(app, tmp_path / "board.svg")
    lines = drawn_lines((tmp_path / "board.svg").read_text(encoding="utf-8"))
    assert lines[-1].endswith("^p palette")  # the footer's key and its label are two runs
    assert re.search(r"\bRemove\s+f\s+Feed demo↔kabu\b", lines[-1])
    assert lines == drawn_lines((tmp_path / "board.svg").read_text(encoding="utf-8"), renderer_rules=False)

"""The GitHub workflow (which cannot run here) parses, and runs what the README and .ci/run promise."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW: dict[Any, Any] = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text("utf-8"))
README = (ROOT / "README.md").read_text("utf-8")


def runs(job: str) -> list[str]:
    return [step["run"] for step in WORKFLOW["jobs"][job]["steps"] if "run" in step]


def test_the_workflow_runs_on_pushes_and_pull_requests():
    on = WORKFLOW.get("on", WORKFLOW.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(on)


def test_the_suite_runs_on_windows_linux_and_macos_with_python_3_11_to_3_13():
    job = WORKFLOW["jobs"]["tests"]
    assert job["runs-on"] == "${{ matrix.os }}"
    matrix = job["strategy"]["matrix"]
    assert set(matrix["os"]) == {"ubuntu-latest", "windows-latest", "macos-latest"}
    assert matrix["python-version"] == ["3.11", "3.12", "3.13"]
    assert job["strategy"]["fail-fast"] is False  # one platform's failure must not hide another's


def test_the_steps_are_the_readmes_test_command():
    set_up = re.search(r"^```sh\n.*\n(.*)\n```$", README, flags=re.M)
    assert set_up is not None
    install, _, test = set_up.group(1).partition(" && .venv/bin/python ")
    extra = shlex.split(install)[-1]  # ".[test]", as the README quotes it
    commands = runs("tests")
    assert f'python -m pip install "{extra}"' in commands
    assert f"python {test}" in commands


def test_actions_are_pinned_to_their_current_majors_with_a_pip_cache():
    for job in WORKFLOW["jobs"].values():
        uses = [step["uses"] for step in job["steps"] if "uses" in step]
        assert uses == ["actions/checkout@v4", "actions/setup-python@v5"]
        setup = next(step for step in job["steps"] if step.get("uses") == "actions/setup-python@v5")
        assert setup["with"]["cache"] == "pip"


def test_the_checks_job_runs_the_linters_and_both_type_checks_as_ci_run_does():
    ci_run = (ROOT / ".ci/run").read_text("utf-8")
    checks = runs("checks")
    in_ci_run = re.findall(r"^check \.venv/bin/(ruff .*|mypy .*)$", ci_run, flags=re.M)
    assert len(in_ci_run) == 4, in_ci_run  # ruff check, ruff format --check, mypy twice
    for command in in_ci_run:
        assert command in checks
    assert "mypy --strict --platform win32 quoteboard" in checks
    assert any("PYTHONIOENCODING" in command and "cp932" in command for command in checks)

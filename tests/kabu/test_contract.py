"""The vendor's contract the schema tests validate against is the copy inside the repository.

A clone must be enough to run the suite: nothing may be read from beside the repository (the tests
once read ``../shared/kabusapi``, which only the development machine had).
"""

from __future__ import annotations

import copy
from pathlib import Path

from tests.schemas import CONTRACT, REPO_ROOT, SPEC_PATH, properties, spec, validate

FILES = ("kabu_STATION_API.yaml", "push-fields.tsv", "error-codes.tsv", "LICENSE", "README.md")
#: Every schema the tests validate against or list the fields of.
USED = (
    "TokenSuccess",
    "RegistSuccess",
    "UnregisterAllSuccess",
    "BoardSuccess",
    "SymbolSuccess",
    "PositionsSuccess",
    "ErrorResponse",
)


def test_the_repository_root_is_quoteboards():
    assert (REPO_ROOT / "pyproject.toml").is_file()
    assert 'name = "quoteboard"' in (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert (REPO_ROOT / "tests" / "schemas.py").is_file()


def test_the_contract_is_vendored_inside_the_repository():
    assert CONTRACT.resolve().is_relative_to(REPO_ROOT.resolve())
    assert CONTRACT.resolve() == (REPO_ROOT / "contract" / "kabusapi").resolve()
    assert SPEC_PATH.resolve().parent == CONTRACT.resolve()
    for name in FILES:
        assert (CONTRACT / name).is_file(), name
        assert (CONTRACT / name).stat().st_size > 0, name
    assert "MIT License" in (CONTRACT / "LICENSE").read_text(encoding="utf-8")
    assert "kabucom/kabusapi" in (CONTRACT / "README.md").read_text(encoding="utf-8")


def test_the_spec_loads_with_every_schema_the_tests_use():
    document = spec()
    assert document["openapi"].startswith("3.")
    schemas = document["components"]["schemas"]
    for name in USED:
        assert name in schemas, name
    assert {"Symbol", "BidPrice", "AskPrice", "Sell1", "Buy1"} <= properties("BoardSuccess")
    # The official example validates, strictly, through the registry built from the vendored copy.
    validate(copy.deepcopy(schemas["BoardSuccess"]["example"]), "BoardSuccess", strict=True)
    validate({"Code": 4001009, "Message": "APIキー不一致"}, "ErrorResponse", strict=True)


def test_no_test_or_ci_script_reads_the_contract_from_outside_the_repository():
    old = "shared/kabusapi"
    tests = [p for p in sorted((REPO_ROOT / "tests").rglob("*.py")) if p != Path(__file__).resolve()]
    places = [*tests, REPO_ROOT / ".ci" / "run"]
    offenders = [str(p.relative_to(REPO_ROOT)) for p in places if old in p.read_text(encoding="utf-8")]
    assert offenders == []

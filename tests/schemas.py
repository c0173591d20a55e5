"""The official Kabu Station schemas, for checking answers and frames against the vendor's contract.

``validate(instance, "BoardSuccess")`` raises ``jsonschema.ValidationError`` unless ``instance``
matches ``#/components/schemas/BoardSuccess`` of ``contract/kabusapi/kabu_STATION_API.yaml`` (the
vendor's contract, vendored in the repository). ``$ref``s resolve through a ``referencing`` registry
holding the whole spec. ``date-time`` and ``int32`` formats are checked.

``strict=True`` also rejects fields the schema does not name (at every level), which the spec itself
allows: useful to catch a typo in a field name that the lax schema would let through.
"""

from __future__ import annotations

import copy
import functools
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry
from referencing.jsonschema import DRAFT4

__all__ = ["CONTRACT", "REPO_ROOT", "SPEC_PATH", "properties", "schema", "spec", "validate"]

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The vendor's contract, copied unchanged into the repository: every test reads it from here.
CONTRACT = REPO_ROOT / "contract" / "kabusapi"
SPEC_PATH = CONTRACT / "kabu_STATION_API.yaml"
_BASE = "urn:kabusapi:spec"

FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    moment = datetime.fromisoformat(value)
    return "T" in value and moment.tzinfo is not None


@FORMATS.checks("int32")
def _int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


class _Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true and false. PyYAML's 1.1 rules would read the ranking schemas'
    field ``No`` (順位) as the boolean False, and a strict check would then refuse the field."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@functools.cache
def spec() -> dict[str, Any]:
    """The parsed OpenAPI document (OpenAPI 3 documents are YAML 1.2)."""
    return yaml.load(SPEC_PATH.read_text(encoding="utf-8"), Loader=_Yaml12Loader)


@functools.cache
def _registry() -> Registry:
    # OpenAPI 3.0 schema objects are a subset of JSON Schema draft 4 (plus `example`, ignored).
    return Registry().with_resource(_BASE, DRAFT4.create_resource(spec()))


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"{_BASE}#/components/schemas/{name}"}


def _inline(node: Any, depth: int = 0) -> Any:
    """``node`` with every ``$ref`` replaced by what it points to, and unknown fields forbidden."""
    if depth > 50:
        raise RecursionError("schema too deep (a recursive $ref?)")
    if isinstance(node, list):
        return [_inline(item, depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = node["$ref"]
        if target.startswith("#"):
            target = _BASE + target
        return _inline(_registry().resolver().lookup(target).contents, depth + 1)
    out = {key: _inline(value, depth + 1) for key, value in node.items()}
    if "properties" in out:
        out["additionalProperties"] = False
    return out


@functools.cache
def schema(name: str, strict: bool = False) -> dict[str, Any]:
    """The schema ``#/components/schemas/<name>`` (strict: self-contained, no unknown fields)."""
    if strict:
        return _inline(copy.deepcopy(spec()["components"]["schemas"][name]))
    return _ref(name)


@functools.cache
def _validator(name: str, strict: bool) -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator(schema(name, strict), registry=_registry(), format_checker=FORMATS)


def validate(instance: Any, name: str, *, strict: bool = False) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``instance`` matches the named official schema."""
    _validator(name, strict).validate(instance)


def properties(name: str) -> set[str]:
    """The field names the named schema lists."""
    return set(spec()["components"]["schemas"][name].get("properties", {}))

"""The committed JSON Schemas are generated from the models and agree with them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from reconciler.manifests.schema import (
    MANIFEST_SCHEMA_FILE,
    SETTINGS_SCHEMA_FILE,
    manifest_schema,
    schema_files,
    stale_files,
)
from tests.conftest import EXAMPLES, REPO

SCHEMAS = REPO / "schemas"
EXAMPLE_FILES = sorted(EXAMPLES.rglob("*.yaml"))
_HEADER = "# yaml-language-server: $schema="


def test_committed_schemas_are_fresh() -> None:
    assert stale_files(SCHEMAS) == [], "run `reconciler schema --write schemas`"


def test_stale_schema_is_detected(tmp_path: Path, run_cli) -> None:
    for name, text in schema_files().items():
        (tmp_path / name).write_text(text)
    assert run_cli("schema", "--check", tmp_path).code == 0
    (tmp_path / MANIFEST_SCHEMA_FILE).write_text("{}\n")
    result = run_cli("schema", "--check", tmp_path)
    assert result.code == 1
    assert "reconciler.schema.json: stale" in result.out


def test_schema_command_prints_the_manifest_schema(run_cli) -> None:
    result = run_cli("schema")
    assert result.code == 0
    assert json.loads(result.out) == manifest_schema()


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_each_example_names_its_schema_on_the_first_line(path: Path) -> None:
    first = path.read_text("utf-8").splitlines()[0]
    assert first.startswith(_HEADER)
    target = (path.parent / first[len(_HEADER) :]).resolve()
    expected = SETTINGS_SCHEMA_FILE if path.name == "reconciler.yaml" else MANIFEST_SCHEMA_FILE
    assert target == (SCHEMAS / expected).resolve()


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_examples_validate_against_the_committed_schema(path: Path) -> None:
    name = SETTINGS_SCHEMA_FILE if path.name == "reconciler.yaml" else MANIFEST_SCHEMA_FILE
    schema = json.loads((SCHEMAS / name).read_text("utf-8"))
    for document in yaml.safe_load_all(path.read_text("utf-8")):
        # JSON has no timestamps: editors see the ISO strings YAML tools would write.
        jsonschema.validate(json.loads(json.dumps(document, default=str)), schema)


def test_schema_refuses_what_the_models_refuse() -> None:
    schema = json.loads((SCHEMAS / MANIFEST_SCHEMA_FILE).read_text("utf-8"))
    bad = {
        "apiVersion": "reconciler/v1",
        "kind": "LaunchPlan",
        "metadata": {"name": "lp"},
        "spec": {"workflow": {"name": "wf"}, "scheduel": {}},
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def _property_names(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                yield from value
            yield from _property_names(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _property_names(item)


@pytest.mark.parametrize("name", [MANIFEST_SCHEMA_FILE, SETTINGS_SCHEMA_FILE])
def test_field_names_are_camel_case_as_flyte_tools_write_them(name: str) -> None:
    """A capital only where a word starts: ``k8sServiceAccount`` as in flytectl, never the
    ``k8SServiceAccount`` that capitalising after a digit gives."""
    schema = json.loads((SCHEMAS / name).read_text("utf-8"))
    names = set(_property_names(schema))
    assert "k8sServiceAccount" in names or name == SETTINGS_SCHEMA_FILE
    assert [n for n in names if re.search(r"[0-9][A-Z]|_", n)] == []

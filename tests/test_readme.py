"""Every manifest and ``reconciler.yaml`` example in README.md is valid, by the committed JSON
Schema (what editors check against) and by ``reconciler validate`` (what CI runs), so the README
can never teach a spelling the tool refuses."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from reconciler.manifests.parse import KINDS
from reconciler.manifests.schema import MANIFEST_SCHEMA_FILE, SETTINGS_SCHEMA_FILE
from tests.conftest import REPO, write

README = REPO / "README.md"
_FENCE = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)
# Defaults a reader's reconciler.yaml would hold, for examples that leave project/domain out.
_SETTINGS = "defaults: {project: flytesnacks, domain: development}\n"
_MINIMAL_MANIFEST = (
    "apiVersion: reconciler/v1\nkind: Signal\nmetadata: {name: s}\n"
    "spec: {execution: run-1, signalId: ok, approve: true}\n"
)


@dataclass(frozen=True)
class Example:
    line: int
    text: str
    documents: list[Any]

    @property
    def is_settings(self) -> bool:
        return not any(isinstance(d, dict) and "kind" in d for d in self.documents)


def _examples() -> list[Example]:
    text = README.read_text("utf-8")
    found = []
    for match in _FENCE.finditer(text):
        body = match.group(1)
        if not re.search(r"^apiVersion: reconciler/v1$", body, re.MULTILINE):
            continue  # another tool's YAML (the pre-commit hook)
        line = text.count("\n", 0, match.start()) + 2
        found.append(Example(line, body, list(yaml.safe_load_all(body))))
    return found


EXAMPLES = _examples()


def test_readme_shows_every_kind_and_the_settings_file() -> None:
    kinds = {d.get("kind") for e in EXAMPLES for d in e.documents if isinstance(d, dict)}
    assert set(KINDS) <= kinds
    assert any(e.is_settings for e in EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"README.md:{e.line}")
def test_readme_example_matches_the_committed_schema(example: Example) -> None:
    name = SETTINGS_SCHEMA_FILE if example.is_settings else MANIFEST_SCHEMA_FILE
    schema = json.loads((REPO / "schemas" / name).read_text("utf-8"))
    for document in example.documents:
        # JSON has no timestamps: editors see the ISO strings YAML tools would write.
        jsonschema.validate(json.loads(json.dumps(document, default=str)), schema)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"README.md:{e.line}")
def test_readme_example_passes_validate(example: Example, run_cli, tmp_path: Path) -> None:
    if example.is_settings:
        write(tmp_path / "reconciler.yaml", example.text)
        write(tmp_path / "m.yaml", _MINIMAL_MANIFEST)
    else:
        write(tmp_path / "reconciler.yaml", _SETTINGS)
        write(tmp_path / "example.yaml", example.text)
    result = run_cli("validate", tmp_path)
    assert result.code == 0, f"README.md:{example.line}:\n{result.out}{result.err}"

"""JSON Schemas generated from the models, for editors (yaml-language-server) and other tools.

``schemas/`` holds the generated files; a test fails when they are stale, and
``python -m reconciler schema --write`` regenerates them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from reconciler.config import Settings
from reconciler.manifests.parse import KINDS

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
MANIFEST_SCHEMA_FILE = "reconciler.schema.json"
SETTINGS_SCHEMA_FILE = "reconciler-settings.schema.json"


def manifest_schema() -> dict[str, Any]:
    """One schema for every manifest document, dispatched on ``kind``."""
    models = tuple(KINDS.values())
    union = Annotated[Union[models], Field(discriminator="kind")]  # type: ignore[valid-type]  # noqa: UP007
    schema = TypeAdapter(union).json_schema(by_alias=True)
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "Flyte reconciler manifest",
        "description": "A document of kind " + ", ".join(KINDS) + " (apiVersion reconciler/v1).",
        **schema,
    }


def settings_schema() -> dict[str, Any]:
    schema = Settings.model_json_schema(by_alias=True)
    return {
        "$schema": SCHEMA_DIALECT,
        **schema,
        "title": "Flyte reconciler settings (reconciler.yaml)",
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def schema_files() -> dict[str, str]:
    return {
        MANIFEST_SCHEMA_FILE: render(manifest_schema()),
        SETTINGS_SCHEMA_FILE: render(settings_schema()),
    }


def stale_files(directory: Path) -> list[Path]:
    """Files under ``directory`` that differ from what the models generate now."""
    return [
        directory / name
        for name, text in schema_files().items()
        if not (directory / name).is_file() or (directory / name).read_text("utf-8") != text
    ]

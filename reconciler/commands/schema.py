"""``reconciler schema``: print, write or check the generated JSON Schemas."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from reconciler.commands import Outcome
from reconciler.manifests.schema import (
    manifest_schema,
    render,
    schema_files,
    settings_schema,
    stale_files,
)


@dataclass(frozen=True)
class SchemaOptions:
    settings: bool = False
    write_dir: Path | None = None
    check_dir: Path | None = None


def run_schema(options: SchemaOptions, out: TextIO) -> Outcome:
    if options.check_dir is not None:
        stale = stale_files(options.check_dir)
        for path in stale:
            out.write(f"{path}: stale; run `reconciler schema --write {options.check_dir}`\n")
        return Outcome.FAILURE if stale else Outcome.SUCCESS
    if options.write_dir is not None:
        options.write_dir.mkdir(parents=True, exist_ok=True)
        for name, text in schema_files().items():
            target = options.write_dir / name
            temporary = target.with_suffix(".tmp")
            temporary.write_text(text, "utf-8")
            temporary.replace(target)  # never leave a half-written schema behind
            out.write(f"wrote {target}\n")
        return Outcome.SUCCESS
    out.write(render(settings_schema() if options.settings else manifest_schema()))
    return Outcome.SUCCESS

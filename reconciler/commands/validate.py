"""``reconciler validate PATH...``: check every manifest offline and report every problem."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

from reconciler.commands import Outcome
from reconciler.manifests.load import load_tree
from reconciler.manifests.source import manifests_at
from reconciler.render.diagnostics import render_github, render_json, render_text

OutputFormat = Literal["text", "json", "github"]


@dataclass(frozen=True)
class ValidateOptions:
    paths: tuple[Path, ...]
    environment: str | None = None
    output: OutputFormat = "text"
    verbose: bool = False
    ref: str | None = None
    """``--ref REV``: check the manifests as they are at this git revision."""


def run_validate(options: ValidateOptions, out: TextIO) -> Outcome:
    with manifests_at(options.paths, options.ref) as snapshot:
        tree = load_tree(snapshot.paths, options.environment, display=snapshot.display)
        # rendered while the revision's copy exists: verbose output may name its files
        if options.output == "json":
            render_json(tree, out)
        elif options.output == "github":
            render_github(tree, out)
        else:
            render_text(tree, out, verbose=options.verbose)
    return Outcome.SUCCESS if tree.ok else Outcome.FAILURE

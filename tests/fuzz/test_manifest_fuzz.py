"""Fuzzing over the manifest grammar (issue #13, item 4): valid, nearly valid and hostile trees
of all five kinds plus reconciler.yaml, through the real CLI entry point.

Whatever the input, ``validate`` and ``plan`` end with the project's own outcome (never
"internal error"), and every problem they report names a file of the tree, a line inside it and
a column: ``file:line:column: ...``. ``plan`` runs against a local Admin that knows the names
the grammar uses, so valid trees get through reading Admin, typing inputs and planning.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from reconciler.localadmin import LocalAdmin
from tests.fuzz import grammar
from tests.fuzz.conftest import Run, fuzz_settings, fuzz_timeout, run_cli, written

_LOCATED = re.compile(r"(?P<file>[^\n]+?):(?P<line>\d+):(?P<column>\d+): \S")
_SUMMARY = re.compile(r"(valid|invalid): \d+ ")


def _lines_in(tree: grammar.Tree, name: str) -> int | None:
    data = tree.files.get(name)
    if data is None:
        return None
    return data.count(b"\n") + data.count(b"\r") + 2  # a mark may sit just past the end


def _check_located(tree: grammar.Tree, lines: list[str], given_path: str, shown: str) -> None:
    """Every line is ``file:line:column: message`` about a file of the tree (or the path given
    on the command line), with the line inside that file."""
    for line in lines:
        match = _LOCATED.match(line)
        assert match, f"not located: {line!r}\n{shown}"
        name = match["file"]
        if name == given_path:
            continue
        limit = _lines_in(tree, name)
        assert limit is not None, f"names no file of the tree: {line!r}\n{shown}"
        assert 1 <= int(match["line"]) <= limit, f"line out of the file: {line!r}\n{shown}"
        assert int(match["column"]) >= 1, line


def _no_crash(result: Run, shown: str) -> None:
    text = result.out + result.err
    assert "internal error" not in text, f"{text}\n{shown}"
    assert "Traceback" not in text, f"{text}\n{shown}"


@fuzz_timeout()
@fuzz_settings("validate")
@given(tree=grammar.trees(), output=st.sampled_from(["text", "json", "github"]))
def test_validate_reports_every_problem_at_its_place_and_never_crashes(
    tree: grammar.Tree, output: str, fuzz_environment: None, fuzz_base: Path
) -> None:
    with written(fuzz_base, tree) as root:
        result = run_cli(root, "validate", ".", "-o", output)
    shown = tree.show()[:4000]
    _no_crash(result, shown)
    assert result.code in (0, 1), result
    assert result.err == "", result.err
    if output == "json":
        report = json.loads(result.out)
        assert report["valid"] == (result.code == 0)
        lines = [
            f"{d['file']}:{d['line']}:{d['column']}: {d['severity']}" for d in report["diagnostics"]
        ]
        _check_located(tree, lines, ".", shown)
        return
    lines = result.out.split("\n")
    assert lines[-1] == "", result.out
    *problems, summary = lines[:-1]
    assert _SUMMARY.match(summary), result.out
    assert summary.startswith("valid") == (result.code == 0), result.out
    if output == "github":
        for line in problems:
            assert re.match(r"::(error|warning) file=[^,]+,line=\d+,col=\d+::", line), line
        return
    _check_located(tree, problems, ".", shown)
    if result.code == 0:
        assert all(": warning: " in line for line in problems), result.out


@fuzz_timeout()
@fuzz_settings("plan")
@given(
    tree=grammar.trees(("valid", "valid", "valid", "nearly"), connection_settings=False),
    output=st.sampled_from(["text", "json", "markdown"]),
    prune=st.booleans(),
)
def test_plan_of_any_tree_is_a_plan_or_located_problems(
    tree: grammar.Tree,
    output: str,
    prune: bool,
    fuzz_environment: None,
    fuzz_base: Path,
    world_admin: LocalAdmin,
) -> None:
    endpoint = ("--endpoint", world_admin.endpoint, "--insecure")
    with written(fuzz_base, tree) as root:
        validated = run_cli(root, "validate", ".")
        args = ["plan", ".", "-o", output, "--detailed-exitcode", *endpoint]
        result = run_cli(root, *args, *(["--prune"] if prune else []))
    shown = tree.show()[:4000]
    _no_crash(result, shown)
    if result.code == 1:
        errors = result.err.rstrip("\n").split("\n")
        if prune and errors == [
            "error: --prune needs ownerId in reconciler.yaml: only owned resources are pruned"
        ]:
            return  # a usage error, about the command line rather than a manifest
        _check_located(tree, errors, ".", f"{result.out}\n{shown}")
        return
    assert validated.code == 0, f"plan passed what validate refused:\n{validated.out}\n{shown}"
    assert result.code in (0, 2, 3), result
    if output == "json":
        plan = json.loads(result.out)
        assert plan["format_version"] == 1

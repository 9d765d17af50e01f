"""``reconciler validate`` end to end through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.manifests.parse import KINDS
from tests.conftest import EXAMPLES, REPO, write

LP = """apiVersion: reconciler/v1
kind: LaunchPlan
metadata: {{name: {name}}}
spec:
  version: v1
  workflow: {{name: wf, version: v1}}
"""


def test_examples_are_valid(run_cli) -> None:
    result = run_cli("validate", EXAMPLES)
    assert result.code == 0, result.out
    assert result.out.splitlines()[-1].startswith("valid: ")


def test_examples_hold_every_kind_in_two_projects_and_two_domains(run_cli) -> None:
    result = run_cli("validate", EXAMPLES, "-o", "json")
    addresses = [m["address"] for m in json.loads(result.out)["manifests"]]
    kinds = {a.split("/")[0] for a in addresses}
    assert kinds == set(KINDS)
    assert len({a.split("/")[1] for a in addresses}) >= 2
    assert len({a.split("/")[2] for a in addresses}) >= 2


def test_console_script_and_module_run_the_same_command() -> None:
    for command in (
        [sys.executable, "-m", "reconciler", "validate", str(EXAMPLES)],
        [str(Path(sys.executable).parent / "reconciler"), "validate", str(EXAMPLES)],
    ):
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "valid: " in done.stdout


def test_defaults_from_settings_fill_project_and_domain(run_cli, tmp_path: Path) -> None:
    write(tmp_path / "reconciler.yaml", "defaults: {project: flytesnacks, domain: staging}\n")
    write(tmp_path / "lp.yaml", LP.format(name="lp"))
    result = run_cli("validate", tmp_path, "-o", "json")
    assert result.code == 0, result.out
    [manifest] = json.loads(result.out)["manifests"]
    assert manifest["address"] == "LaunchPlan/flytesnacks/staging/lp"


def test_named_environment_overrides_defaults(run_cli, tmp_path: Path) -> None:
    write(
        tmp_path / "reconciler.yaml",
        "defaults: {project: flytesnacks, domain: development}\n"
        "environments:\n  prod:\n    defaults: {domain: production}\n",
    )
    write(tmp_path / "lp.yaml", LP.format(name="lp"))
    result = run_cli("validate", tmp_path, "--env", "prod", "-o", "json")
    [manifest] = json.loads(result.out)["manifests"]
    assert manifest["address"] == "LaunchPlan/flytesnacks/production/lp"


def test_unknown_environment_is_a_one_line_error(run_cli, tmp_path: Path) -> None:
    write(tmp_path / "reconciler.yaml", "environments: {prod: {}}\n")
    write(tmp_path / "lp.yaml", LP.format(name="lp"))
    result = run_cli("validate", tmp_path, "--env", "qa")
    assert result.code == 1
    assert result.err == "error: unknown environment 'qa' in reconciler.yaml (known: prod)\n"


def test_settings_file_is_not_read_as_a_manifest_and_nested_ones_are_refused(
    run_cli, tmp_path: Path
) -> None:
    write(tmp_path / "reconciler.yaml", "defaults: {project: p, domain: d}\n")
    write(tmp_path / "team" / "reconciler.yaml", "defaults: {project: q, domain: d}\n")
    write(tmp_path / "team" / "lp.yaml", LP.format(name="lp"))
    result = run_cli("validate", tmp_path)
    assert result.code == 1
    assert "team/reconciler.yaml:1:1: reconciler.yaml is only read at the root" in result.out


def test_nonexistent_path_is_reported(run_cli, tmp_path: Path) -> None:
    result = run_cli("validate", tmp_path / "nope")
    assert result.code == 1
    assert "nope:1:1: no such file or directory" in result.out


def test_directory_without_manifests_is_invalid(run_cli, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    result = run_cli("validate", tmp_path)
    assert result.code == 1
    assert "no manifest files (*.yaml, *.yml) found" in result.out


def test_paths_are_required(run_cli) -> None:
    result = run_cli("validate")
    assert result.code == 2
    assert "Missing argument 'PATHS...'" in result.err


def test_hidden_directories_are_skipped(run_cli, tmp_path: Path) -> None:
    write(tmp_path / "reconciler.yaml", "defaults: {project: p, domain: d}\n")
    write(tmp_path / "lp.yaml", LP.format(name="lp"))
    write(tmp_path / ".git" / "broken.yaml", "{{{")
    assert run_cli("validate", tmp_path).code == 0


def test_files_are_read_in_sorted_order(run_cli, tmp_path: Path) -> None:
    write(tmp_path / "reconciler.yaml", "defaults: {project: p, domain: d}\n")
    for name in ("b/z.yaml", "a.yml", "b/a.yaml", "c.yaml"):
        write(tmp_path / name, LP.format(name=name.replace("/", "-").split(".")[0]))
    result = run_cli("validate", tmp_path, "-o", "json")
    files = [
        Path(m["file"]).relative_to(tmp_path).as_posix()
        for m in json.loads(result.out)["manifests"]
    ]
    assert files == ["a.yml", "b/a.yaml", "b/z.yaml", "c.yaml"]


def test_warnings_do_not_fail_validation(run_cli, tmp_path: Path) -> None:
    write(
        tmp_path / "reg.yaml",
        "apiVersion: reconciler/v1\nkind: Registration\n"
        "metadata: {name: core, project: p, domain: d}\nspec: {package: dist/pkg.tgz}\n",
    )
    result = run_cli("validate", tmp_path)
    assert result.code == 0
    assert "reg.yaml:4:17: warning: spec.package: 'dist/pkg.tgz' does not exist" in result.out
    assert result.out.splitlines()[-1] == "valid: 1 manifest in 1 file, 1 warning"


def test_json_output_lists_every_diagnostic(run_cli) -> None:
    corpus = REPO / "tests" / "corpus" / "invalid"
    result = run_cli("validate", corpus / "18-cron-out-of-range.yaml", "-o", "json")
    assert result.code == 1
    report = json.loads(result.out)
    assert report["valid"] is False
    [problem] = report["diagnostics"]
    assert (problem["line"], problem["column"]) == (8, 11)
    assert problem["path"] == "spec.schedule.cron"
    assert problem["severity"] == "error"


def test_github_output_is_annotations(run_cli) -> None:
    corpus = REPO / "tests" / "corpus" / "invalid"
    result = run_cli("validate", corpus / "18-cron-out-of-range.yaml", "-o", "github")
    first = result.out.splitlines()[0]
    assert first.startswith("::error file=")
    assert ",line=8,col=11::spec.schedule.cron: invalid cron expression" in first


def test_verbose_lists_each_manifest_address(run_cli) -> None:
    result = run_cli("validate", EXAMPLES, "-v")
    assert "LaunchPlan/flytesnacks/production/daily_report" in result.out


def test_no_colour_when_not_a_terminal(run_cli) -> None:
    assert "\x1b[" not in run_cli("validate", EXAMPLES).out


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["validate", "--help"]])
def test_help_and_version_exit_zero(run_cli, argv: list[str]) -> None:
    assert run_cli(*argv).code == 0

"""Which ``reconciler.yaml`` applies: the nearest one at or above the paths given, up to the
root of the git repository, and its relative paths are relative to where it is."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from tests.conftest import write

LP = """apiVersion: reconciler/v1
kind: LaunchPlan
metadata: {name: lp}
spec: {version: v1, workflow: {name: wf, version: v1}}
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with the settings at its root and manifests two levels down."""
    root = tmp_path / "repo"
    git.Repo.init(root)
    write(root / "reconciler.yaml", "defaults: {project: flytesnacks, domain: staging}\n")
    write(root / "manifests" / "prod" / "lp.yaml", LP)
    return root


def _addresses(result) -> list[str]:  # type: ignore[no-untyped-def]
    assert result.code == 0, result.out + result.err
    return [m["address"] for m in json.loads(result.out)["manifests"]]


def test_settings_above_the_path_given_are_used(run_cli, repo: Path) -> None:
    expected = ["LaunchPlan/flytesnacks/staging/lp"]
    assert _addresses(run_cli("validate", repo / "manifests" / "prod", "-o", "json")) == expected
    assert _addresses(run_cli("validate", repo / "manifests", "-o", "json")) == expected
    single_file = repo / "manifests" / "prod" / "lp.yaml"
    assert _addresses(run_cli("validate", single_file, "-o", "json")) == expected


def test_the_nearest_settings_file_wins(run_cli, repo: Path) -> None:
    write(repo / "manifests" / "prod" / "reconciler.yaml", "defaults: {project: p, domain: prod}\n")
    result = run_cli("validate", repo / "manifests" / "prod", "-o", "json")
    assert _addresses(result) == ["LaunchPlan/p/prod/lp"]


def test_the_search_stops_at_the_repository_root(run_cli, tmp_path: Path, repo: Path) -> None:
    (repo / "reconciler.yaml").unlink()
    write(tmp_path / "reconciler.yaml", "defaults: {project: outside, domain: outside}\n")
    result = run_cli("validate", repo / "manifests")
    assert result.code == 1
    assert "required field 'project' is missing (or set defaults.project" in result.out


def test_outside_a_repository_the_search_goes_up(run_cli, tmp_path: Path) -> None:
    write(tmp_path / "reconciler.yaml", "defaults: {project: p, domain: d}\n")
    write(tmp_path / "a" / "b" / "lp.yaml", LP)
    result = run_cli("validate", tmp_path / "a" / "b", "-o", "json")
    assert _addresses(result) == ["LaunchPlan/p/d/lp"]


def test_verbose_validate_names_the_settings_file(run_cli, repo: Path, monkeypatch) -> None:
    monkeypatch.chdir(repo)
    result = run_cli("validate", Path("manifests") / "prod", "-v")
    assert result.code == 0, result.out
    assert result.out.splitlines()[0] == "settings file: reconciler.yaml"


def test_relative_paths_in_settings_are_relative_to_the_file(
    run_cli, repo: Path, tmp_path: Path, monkeypatch
) -> None:
    write(
        repo / "reconciler.yaml",
        "admin: {endpoint: 'local:state/admin.db', caCertFilePath: certs/ca.pem}\n",
    )
    (repo / "state").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = run_cli("ping", repo / "manifests" / "prod", "-v")
    assert result.code == 0, result.err
    assert f"settings file: {repo / 'reconciler.yaml'}" in result.err
    assert f"ca_cert_file_path = {repo / 'certs' / 'ca.pem'}  [reconciler.yaml]" in result.err
    assert (repo / "state" / "admin.db").is_file()
    assert not (elsewhere / "state").exists()

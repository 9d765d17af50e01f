"""Each manifest kind: what it accepts, its defaults, and the checks that span fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.manifests.execution import attempt_name
from reconciler.manifests.load import load_tree
from tests.conftest import write


def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    write(tmp_path / "reconciler.yaml", "defaults: {project: p, domain: d}\n")
    write(tmp_path / "m.yaml", text)
    return load_tree([tmp_path])


def _messages(tree) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(d) for d in tree.diagnostics]


SIGNAL_SPEC = "spec: {execution: run-1, signalId: ok, approve: true}\n"
HEAD = "apiVersion: reconciler/v1\nkind: {kind}\nmetadata: {{name: {name}}}\n"


def test_launch_plan_defaults(tmp_path: Path) -> None:
    tree = _load(
        tmp_path,
        HEAD.format(kind="LaunchPlan", name="lp") + "spec: {workflow: {name: wf, version: v1}}\n",
    )
    [manifest] = tree.manifests
    spec = manifest.model.spec
    assert (spec.version, spec.active, spec.schedule, spec.labels) == ("auto", True, None, {})


def test_execution_on_failure_shorthand_and_object(tmp_path: Path) -> None:
    text = (
        HEAD.format(kind="Execution", name="a")
        + "spec: {launchPlan: {name: lp}, onFailure: relaunch}\n---\n"
        + HEAD.format(kind="Execution", name="b")
        + "spec: {launchPlan: {name: lp}, onFailure: {action: recover, maxAttempts: 3}}\n"
    )
    tree = _load(tmp_path, text)
    assert tree.ok, _messages(tree)
    a, b = (m.model.spec.on_failure for m in tree.manifests)
    assert (a.action, a.max_attempts) == ("relaunch", 1)
    assert (b.action, b.max_attempts) == ("recover", 3)


def test_attempt_names_are_deterministic_and_valid() -> None:
    assert attempt_name("close-2026-11", 2) == "close-2026-11-r2"


def test_signal_value_may_be_any_yaml_value_including_false(tmp_path: Path) -> None:
    text = (
        HEAD.format(kind="Signal", name="s")
        + "spec: {execution: run-1, signalId: threshold, value: false}\n"
    )
    tree = _load(tmp_path, text)
    assert tree.ok, _messages(tree)
    [manifest] = tree.manifests
    assert manifest.model.spec.value is False
    assert manifest.address == "Signal/p/d/run-1/threshold"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "{execution: run-1, signalId: ok}",
            "set exactly one of approve: true, reject: true or value",
        ),
        ("{execution: run-1, signalId: ok, approve: false}", "to refuse write reject: true"),
        ("{execution: Run_1, signalId: ok, reject: true}", "execution name 'Run_1'"),
    ],
)
def test_signal_refusals(tmp_path: Path, spec: str, message: str) -> None:
    tree = _load(tmp_path, HEAD.format(kind="Signal", name="s") + f"spec: {spec}\n")
    assert not tree.ok
    assert any(message in m for m in _messages(tree)), _messages(tree)


def test_launch_plan_workflow_version_may_come_from_a_registration(tmp_path: Path) -> None:
    (tmp_path / "pkg.tgz").write_bytes(b"")
    lp = HEAD.format(kind="LaunchPlan", name="lp") + "spec: {workflow: {name: wf}}\n"
    tree = _load(tmp_path, lp)
    assert any("workflow.version is required unless a Registration" in m for m in _messages(tree))
    registration = HEAD.format(kind="Registration", name="core") + "spec: {package: pkg.tgz}\n"
    tree = _load(tmp_path, lp + "---\n" + registration)
    assert tree.ok, _messages(tree)


def test_both_default_and_fixed_input_is_a_warning(tmp_path: Path) -> None:
    text = HEAD.format(kind="LaunchPlan", name="lp") + (
        "spec:\n  workflow: {name: wf, version: v1}\n"
        "  defaultInputs: {a: 1}\n  fixedInputs: {a: 2}\n"
    )
    tree = _load(tmp_path, text)
    assert tree.ok
    [warning] = tree.diagnostics
    assert (
        "m.yaml:7:17: warning: spec.fixedInputs.a: input 'a' is both a default and a fixed"
        in str(warning)
    )


def test_execution_of_the_active_version_of_an_inactive_launch_plan_warns(tmp_path: Path) -> None:
    text = (
        HEAD.format(kind="LaunchPlan", name="lp")
        + "spec: {version: v1, active: false, workflow: {name: wf, version: v1}}\n---\n"
        + HEAD.format(kind="Execution", name="run")
        + "spec: {launchPlan: {name: lp}}\n"
    )
    tree = _load(tmp_path, text)
    assert tree.ok
    assert any("declared inactive" in m for m in _messages(tree))


def test_reference_to_another_launch_plan_version_is_left_to_plan_time(tmp_path: Path) -> None:
    text = (
        HEAD.format(kind="LaunchPlan", name="lp")
        + "spec: {version: v2, workflow: {name: wf, version: v1}, fixedInputs: {x: 1}}\n---\n"
        + HEAD.format(kind="Execution", name="run")
        + "spec: {launchPlan: {name: lp, version: v1}, inputs: {x: 2}}\n"
    )
    assert _load(tmp_path, text).ok


def test_references_resolve_across_projects(tmp_path: Path) -> None:
    text = (
        "apiVersion: reconciler/v1\nkind: LaunchPlan\nmetadata: {name: lp, project: other}\n"
        "spec: {version: v1, workflow: {name: wf, version: v1}}\n---\n"
        + HEAD.format(kind="Backfill", name="bf")
        + "spec: {launchPlan: {name: lp, project: other}, from: 2023-01-01, to: 2023-01-02}\n"
    )
    tree = _load(tmp_path, text)
    assert any("has no schedule" in m for m in _messages(tree)), _messages(tree)


def test_settings_owner_id_must_be_a_label_value(tmp_path: Path, monkeypatch) -> None:
    write(tmp_path / "reconciler.yaml", "ownerId: team a\n")
    write(
        tmp_path / "m.yaml",
        HEAD.format(kind="Signal", name="s, project: p, domain: d") + SIGNAL_SPEC,
    )
    monkeypatch.chdir(tmp_path)
    tree = load_tree([Path(".")])
    [problem] = _messages(tree)
    assert problem.startswith(
        "reconciler.yaml:1:10: ownerId: 'team a' is not a valid Kubernetes label value"
    )


def test_settings_environment_overlay_keeps_unset_fields(tmp_path: Path) -> None:
    write(
        tmp_path / "reconciler.yaml",
        "admin: {endpoint: a:1, insecure: true}\nparallelism: 4\n"
        "environments:\n  prod: {admin: {endpoint: b:2}, ownerId: prod-owner}\n",
    )
    write(tmp_path / "m.yaml", HEAD.format(kind="LaunchPlan", name="lp"))
    settings = load_tree([tmp_path], "prod").settings
    assert (settings.admin.endpoint, settings.admin.insecure) == ("b:2", True)
    assert (settings.parallelism, settings.owner_id) == (4, "prod-owner")


def test_run_as_service_account_is_spelled_as_flytekit_and_flytectl_spell_it(
    tmp_path: Path,
) -> None:
    spec = "spec:\n  workflow: {name: wf, version: v1}\n  securityContext: {runAs: {%s: etl}}\n"
    tree = _load(tmp_path, HEAD.format(kind="LaunchPlan", name="lp") + spec % "k8sServiceAccount")
    assert tree.ok, _messages(tree)
    [manifest] = tree.manifests
    assert manifest.model.spec.security_context.run_as.k8s_service_account == "etl"

    # pydantic's camel-casing would have said k8SServiceAccount; nobody writes that
    for wrong in ("k8SServiceAccount", "k8s_service_account"):
        tree = _load(tmp_path, HEAD.format(kind="LaunchPlan", name="lp") + spec % wrong)
        [problem] = _messages(tree)
        assert problem.endswith(
            f"spec.securityContext.runAs.{wrong}: unknown field {wrong!r} "
            "(did you mean 'k8sServiceAccount'?)"
        )

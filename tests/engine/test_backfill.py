"""Backfill manifests against the local Admin, and against flytekit's own backfill workflow."""

from __future__ import annotations

import json
import warnings
from collections import OrderedDict
from datetime import datetime, timezone
from pathlib import Path

from flyteidl.admin import common_pb2, workflow_pb2

from reconciler.localadmin import LocalAdmin
from reconciler.plan.common import normalized
from tests.engine.conftest import DOMAIN, PROJECT
from tests.engine.test_plan_apply import LAUNCH_PLAN, _tree

BACKFILL = """\
apiVersion: reconciler/v1
kind: Backfill
metadata: {{name: october}}
spec:
  launchPlan: {{name: daily}}
  from: 2026-10-01T06:00:00Z
  to: {end}
  parallel: {parallel}
"""
ADDRESS = f"Backfill/{PROJECT}/{DOMAIN}/october"


def _root(tmp_path: Path, end: str = "2026-10-03T06:00:00Z", parallel: str = "false") -> Path:
    root = _tree(tmp_path)
    (root / "backfill.yaml").write_text(BACKFILL.format(end=end, parallel=parallel))
    return root


def _plan(run_cli, admin: LocalAdmin, root: Path) -> dict:  # type: ignore[type-arg, no-untyped-def]
    result = run_cli("plan", root, "-o", "json", "--endpoint", admin.endpoint, "--insecure")
    assert result.code == 0, result.err
    return {c["address"]: c for c in json.loads(result.out)["changes"]}


def _apply(run_cli, admin: LocalAdmin, root: Path) -> str:  # type: ignore[no-untyped-def]
    result = run_cli("apply", root, "--auto-approve", "--endpoint", admin.endpoint, "--insecure")
    assert result.code == 0, result.out + result.err
    return str(result.out)


def _children(stub, parent: str) -> int:  # type: ignore[no-untyped-def]
    listed = stub.ListExecutions(
        common_pb2.ResourceListRequest(
            id=common_pb2.NamedEntityIdentifier(project=PROJECT, domain=DOMAIN), limit=100
        )
    )
    return sum(
        1
        for e in listed.executions
        if e.spec.metadata.parent_node_execution.execution_id.name == parent
    )


def test_three_day_backfill_runs_three_ticks_once_and_extends_by_one(
    run_cli, local_admin, registered, stub, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _root(tmp_path)
    change = _plan(run_cli, local_admin, root)[ADDRESS]
    assert change["action"] == "create"
    assert change["after"]["ticks"] == [
        "2026-10-01T06:00:00Z",
        "2026-10-02T06:00:00Z",
        "2026-10-03T06:00:00Z",
    ]
    out = _apply(run_cli, local_admin, root)
    assert f"ok {ADDRESS}: created" in out
    local_admin.advance(3600)
    assert _children(stub, "october") == 3
    again = _plan(run_cli, local_admin, root)[ADDRESS]
    assert again["action"] == "noop"
    _root(tmp_path, end="2026-10-04T06:00:00Z")
    extended = _plan(run_cli, local_admin, root)[ADDRESS]
    assert extended["action"] == "create"
    assert extended["after"]["ticks"] == ["2026-10-04T06:00:00Z"]
    assert len(extended["after"]["covered"]) == 3
    assert extended["after"]["execution"] == "october-2"
    _apply(run_cli, local_admin, root)
    local_admin.advance(3600)
    assert _children(stub, "october-2") == 1
    assert _plan(run_cli, local_admin, root)[ADDRESS]["action"] == "noop"


def test_backfill_workflow_matches_flytekits(run_cli, local_admin, registered, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """flytekit excludes both ends; given a window that holds the same ticks its workflow is
    ours, node for node."""
    from flytekit.configuration import Config, ImageConfig, SerializationSettings
    from flytekit.remote import FlyteRemote
    from flytekit.remote.backfill import create_backfill_workflow
    from flytekit.tools.translator import get_serializable

    from reconciler.apply.run import decode
    from reconciler.plan.model import Operation

    root = _root(tmp_path)
    only_lp = run_cli(
        "apply",
        root,
        "--auto-approve",
        "--target",
        "LaunchPlan/daily",
        "--endpoint",
        local_admin.endpoint,
        "--insecure",
    )
    assert only_lp.code == 0, only_lp.out + only_lp.err
    change = _plan(run_cli, local_admin, root)[ADDRESS]
    [create_workflow] = [o for o in change["operations"] if o["call"] == "CreateWorkflow"]
    ours = decode(Operation.from_json(create_workflow)).spec.template

    remote = FlyteRemote(
        Config.for_endpoint(local_admin.endpoint, insecure=True),
        default_project=PROJECT,
        default_domain=DOMAIN,
    )
    lp = remote.fetch_launch_plan(name="daily", version="v1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        workflow, _, _ = create_backfill_workflow(
            datetime(2026, 10, 1, tzinfo=timezone.utc),  # exclusive in flytekit
            datetime(2026, 10, 3, 7, tzinfo=timezone.utc),  # exclusive in flytekit
            for_lp=lp,
        )
        settings = SerializationSettings(
            image_config=ImageConfig.auto_default_image(),
            project=PROJECT,
            domain=DOMAIN,
            version="ignored",
        )
        theirs = get_serializable(OrderedDict(), settings, workflow).to_flyte_idl().template
    for mine, flytekits in zip(ours.nodes, theirs.nodes, strict=True):
        assert normalized(mine)["inputs"] == normalized(flytekits)["inputs"], (
            normalized(mine)["inputs"],
            normalized(flytekits)["inputs"],
        )
        assert normalized(mine) == normalized(flytekits)
    assert ours.metadata == theirs.metadata
    assert normalized(ours.interface) == normalized(theirs.interface)
    assert isinstance(ours, type(workflow_pb2.WorkflowSpec().template))


def test_parallel_backfill_has_no_dependencies(run_cli, local_admin, registered, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from reconciler.apply.run import decode
    from reconciler.plan.model import Operation

    root = _root(tmp_path, parallel="true")
    change = _plan(run_cli, local_admin, root)[ADDRESS]
    [create_workflow] = [o for o in change["operations"] if o["call"] == "CreateWorkflow"]
    nodes = decode(Operation.from_json(create_workflow)).spec.template.nodes
    assert len(nodes) == 3
    assert all(not n.upstream_node_ids for n in nodes)


def test_backfill_of_an_unscheduled_launch_plan_is_a_plan_error(
    run_cli, local_admin, registered, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _root(tmp_path)
    (root / "lp.yaml").write_text(
        LAUNCH_PLAN.format(version="v1", active="true", team="a")
        .replace('  schedule: {cron: "0 6 * * *", kickoffTimeInputArg: run_date}\n', "")
        .replace("defaultInputs: {a: 3}", "defaultInputs: {a: 3, run_date: 2026-01-01}")
    )
    result = run_cli("plan", root, "--endpoint", local_admin.endpoint, "--insecure")
    assert result.code == 1
    assert "has no schedule" in result.err


def test_a_foreign_execution_under_the_backfill_name_is_neither_counted_nor_reused(
    run_cli, local_admin, registered, stub, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from tests.localadmin import builders as b

    root = _root(tmp_path)
    assert (
        run_cli(
            "apply",
            root,
            "--auto-approve",
            "--target",
            "LaunchPlan/daily",
            "--endpoint",
            local_admin.endpoint,
            "--insecure",
        ).code
        == 0
    )
    stub.CreateExecution(
        b.execution_request(
            "october",
            launch_plan=b.lp_id("daily"),
            inputs=b.literal_map(run_date=b.datetime_literal(0)),
        )
    )
    # the name is taken by someone else's run: it neither counts as covering ticks nor is
    # reused; the backfill runs under the next name
    result = run_cli(
        "apply", root, "--auto-approve", "--endpoint", local_admin.endpoint, "--insecure"
    )
    assert result.code == 0, result.out + result.err
    assert "3 of 3 tick(s) to run as october-2" in result.out

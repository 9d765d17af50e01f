"""No secret reaches any output of any command (issue #13, item 5; DESIGN.md, Guarantees).

One table: every CLI command, run in order against a local Admin that requires auth (OAuth2
client credentials through its own token endpoint) and, for ``ping``, against the loopback
OAuth2 stand-in. Distinctive secret values are set throughout:

- ``${env:...}`` values in the manifests: an input, a launch plan default, env vars, labels,
  annotations and a signal's value (a first set, then a rotated second set: what Admin holds
  from the first apply must not come back either);
- the OAuth2 client secret (``FLYTE_CREDENTIALS_CLIENT_SECRET``), a wrong one for the failing
  rows, and the access tokens the token endpoints hand out.

For each row, stdout, stderr, every file the command writes (saved plans with their base64
protobuf requests decoded), and every log record at DEBUG must hold none of them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from flyteidl.admin import launch_plan_pb2, task_pb2, workflow_pb2
from flyteidl.core import workflow_pb2 as core_wf_pb2
from flyteidl.service import admin_pb2_grpc

from reconciler.cli import cli, main
from reconciler.localadmin import AuthSettings, LocalAdmin, ManualClock
from tests.admin.standins import AdminStandIn, OAuthServer
from tests.engine.conftest import DOMAIN, PROJECT, WORKFLOW_INPUTS
from tests.localadmin import builders as b

FIRST = {
    "SECRET_INPUT": "inp-s3cr3t-one-5e1f",
    "SECRET_DEFAULT": "dflt-s3cr3t-one-72aa",
    "SECRET_LABEL": "lbl-s3cr3t-one-77",
    "SECRET_NOTE": "note-s3cr3t-one-9a2c",
    "SECRET_ENV": "env-s3cr3t-one-4c3d",
    "SECRET_SIGNAL": "sig-s3cr3t-one-0d9e",
}
ROTATED = {name: value.replace("-one-", "-two-") for name, value in FIRST.items()}
CLIENT_SECRET = "client-s3cr3t-oauth-6b1e"
WRONG_CLIENT_SECRET = "wrong-client-s3cr3t-3344"
ACCESS_TOKEN = "access-t0ken-local-8f2a"
# a manifest whose values from the environment do not fit where they go
BAD = {"SECRET_BAD_LABEL": "not a label s3cr3t-bad-0042", "SECRET_BAD_NUMBER": "num-s3cr3t-0043"}
NEVER_SHOWN = [
    *FIRST.values(),
    *ROTATED.values(),
    *BAD.values(),
    CLIENT_SECRET,
    WRONG_CLIENT_SECRET,
    ACCESS_TOKEN,
]

TREE = """\
apiVersion: reconciler/v1
kind: LaunchPlan
metadata: {name: guarded}
spec:
  version: v1
  workflow: {name: wf, version: v1}
  defaultInputs: {region: "${env:SECRET_DEFAULT}", a: 1}
  labels: {team: "${env:SECRET_LABEL}"}
  annotations: {note: "issued ${env:SECRET_NOTE}"}
  envs: {TOKEN: "${env:SECRET_ENV}"}
---
apiVersion: reconciler/v1
kind: Execution
metadata: {name: run-guarded}
spec:
  launchPlan: {name: guarded, version: v1}
  inputs: {region: "${env:SECRET_INPUT}", run_date: 2026-11-30T00:00:00Z}
  labels: {ticket: "${env:SECRET_LABEL}"}
  annotations: {why: "${env:SECRET_NOTE}"}
  envs: {TOKEN: "${env:SECRET_ENV}", HEADER: "Bearer ${env:SECRET_ENV}"}
---
apiVersion: reconciler/v1
kind: Execution
metadata: {name: run-vault}
spec:
  launchPlan: {name: vault, version: v1}
  inputs: {a: 1}
---
apiVersion: reconciler/v1
kind: Execution
metadata: {name: run-count}
spec:
  launchPlan: {name: counter, version: v1}
  inputs: {a: 1}
---
apiVersion: reconciler/v1
kind: Signal
metadata: {name: vault-token}
spec: {execution: run-vault, signalId: token, value: "${env:SECRET_SIGNAL}"}
"""
BAD_TREE = """\
apiVersion: reconciler/v1
kind: Execution
metadata: {name: run-bad}
spec:
  launchPlan: {name: guarded, version: v1}
  inputs: {a: "${env:SECRET_BAD_NUMBER}", run_date: 2026-11-30T00:00:00Z}
---
apiVersion: reconciler/v1
kind: Signal
metadata: {name: bad-number}
spec: {execution: run-count, signalId: number, value: "${env:SECRET_BAD_NUMBER}"}
"""
BAD_LABEL_TREE = """\
apiVersion: reconciler/v1
kind: Execution
metadata: {name: run-bad-label}
spec:
  launchPlan: {name: guarded, version: v1}
  inputs: {a: 1, run_date: 2026-11-30T00:00:00Z}
  labels: {ticket: "${env:SECRET_BAD_LABEL}"}
  onFailure: {action: recover}
"""
SETTINGS = f"""\
defaults: {{project: {PROJECT}, domain: {DOMAIN}}}
ownerId: team-secrets
admin:
  clientId: reconciler
"""


@dataclass(frozen=True)
class Row:
    """One command line of the table; ``{root}``, ``{bad}``, ``{badlabel}``, ``{admin}``,
    ``{standin}`` and ``{files}`` in ``args`` are filled in when it runs."""

    name: str
    args: tuple[str, ...]
    secrets: dict[str, str] = field(default_factory=lambda: FIRST)
    codes: tuple[int, ...] = (0,)
    writes: tuple[str, ...] = ()  # files under {files} the command writes
    before: str | None = None  # a step of the scenario to take first (see Scenario.steps)
    client_secret: str = CLIENT_SECRET


def _admin(*args: str) -> tuple[str, ...]:
    return (*args, "--endpoint", "{admin}", "--insecure")


ROWS: list[Row] = [
    Row("validate", ("validate", "{root}")),
    Row("validate -v", ("validate", "{root}", "-v")),
    Row("validate -o json", ("validate", "{root}", "-o", "json")),
    Row("validate -o github", ("validate", "{root}", "-o", "github")),
    Row("validate, values from env do not fit", ("validate", "{bad}", "-v")),
    Row("validate, a label from env", ("validate", "{badlabel}", "-v")),
    Row("schema", ("schema",)),
    Row("schema --settings", ("schema", "--settings")),
    Row("ping -v", _admin("ping", "{root}", "-v")),
    Row(
        "ping -vv, OAuth2 stand-in",
        ("ping", "{root}", "-vv", "--endpoint", "{standin}", "--insecure"),
    ),
    Row("plan", _admin("plan", "{root}")),
    Row("plan -v", _admin("plan", "{root}", "-v")),
    Row("plan -vv -o json", _admin("plan", "{root}", "-vv", "-o", "json")),
    Row("plan -o markdown", _admin("plan", "{root}", "-o", "markdown")),
    Row(
        "plan --out",
        _admin("plan", "{root}", "--out", "{files}/first.json"),
        writes=("first.json",),
    ),
    Row("drift before apply", _admin("drift", "{root}", "-v"), codes=(0, 2)),
    Row("apply --plan -v", _admin("apply", "--plan", "{files}/first.json", "--auto-approve", "-v")),
    Row("signals -v, gate waiting", _admin("signals", "{root}", "-v"), before="reach the gate"),
    Row("plan -v, signal to set", _admin("plan", "{root}", "-v")),
    Row("apply -vv, sets the signal", _admin("apply", "{root}", "--auto-approve", "-vv")),
    Row("status -v", _admin("status", "{root}", "-v"), before="finish the runs"),
    Row("status -o json", _admin("status", "{root}", "-o", "json")),
    Row("signals -o json", _admin("signals", "{root}", "-o", "json")),
    Row("outputs -v", _admin("outputs", "{root}", "-v")),
    Row(
        "outputs -o json --download",
        _admin("outputs", "{root}", "-o", "json", "--download", "{files}/outputs"),
    ),
    Row("drift -v", _admin("drift", "{root}", "-v")),
    Row("drift -o json", _admin("drift", "{root}", "-o", "json")),
    Row("plan after apply", _admin("plan", "{root}", "-v", "--detailed-exitcode")),
    Row(
        "reconcile --once -v",
        _admin("reconcile", "{root}", "--once", "-v", "--state-file", "{files}/loop.json"),
        codes=(0, 2),
        writes=("loop.json",),
    ),
    Row(
        "reconcile --once --log-format json",
        _admin(
            "reconcile",
            "{root}",
            "--once",
            "--log-format",
            "json",
            "--state-file",
            "{files}/loop-json.json",
        ),
        codes=(0, 2),
        writes=("loop-json.json",),
    ),
    # the secrets are rotated: Admin still holds the first values
    Row("rotated: plan -v", _admin("plan", "{root}", "-v"), ROTATED),
    Row("rotated: plan -o json", _admin("plan", "{root}", "-o", "json"), ROTATED),
    Row("rotated: plan -o markdown", _admin("plan", "{root}", "-o", "markdown"), ROTATED),
    Row(
        "rotated: plan --out",
        _admin("plan", "{root}", "--out", "{files}/rotated.json"),
        ROTATED,
        writes=("rotated.json",),
    ),
    Row("rotated: drift -v", _admin("drift", "{root}", "-v"), ROTATED, codes=(2,)),
    Row("rotated: drift -o json", _admin("drift", "{root}", "-o", "json"), ROTATED, codes=(2,)),
    Row("rotated: status -v", _admin("status", "{root}", "-v"), ROTATED),
    Row("rotated: status -o json", _admin("status", "{root}", "-o", "json"), ROTATED),
    Row("rotated: signals -v", _admin("signals", "{root}", "-v"), ROTATED),
    Row("rotated: outputs -v", _admin("outputs", "{root}", "-v"), ROTATED),
    Row(
        "rotated: reconcile --once -v --self-heal refuses the conflicts",
        _admin(
            "reconcile",
            "{root}",
            "--once",
            "-v",
            "--self-heal",
            "--state-file",
            "{files}/loop-rotated.json",
        ),
        ROTATED,
        codes=(1, 2),
        writes=("loop-rotated.json",),
    ),
    Row(
        "rotated: apply -v refuses the conflicts",
        _admin("apply", "{root}", "--auto-approve", "-v"),
        ROTATED,
        codes=(1,),
    ),
    # failures: their messages must not quote a secret either
    Row(
        "failing auth: wrong client secret",
        _admin("plan", "{root}", "-vv"),
        codes=(1,),
        client_secret=WRONG_CLIENT_SECRET,
    ),
    Row(
        "failing connection",
        ("plan", "{root}", "-v", "--endpoint", "127.0.0.1:1", "--insecure"),
        codes=(1,),
    ),
    Row(
        "bad manifest, values from env do not fit their types",
        _admin("plan", "{bad}", "-v"),
        {**FIRST, **BAD},
        codes=(1,),
    ),
    Row(
        "bad manifest, a label from env is no label",
        _admin("apply", "{badlabel}", "--auto-approve", "-v"),
        BAD,
        codes=(1,),
    ),
]
# Commands run as their own process in the table (they do not return by themselves).
# ``ui`` serves the loop's state file: its page is checked for secrets in tests/ui (a real loop's
# page) and the state file itself in the rows below.
SERVED = ["local-admin serve", "ui"]


def _commands() -> set[str]:
    found = set()
    for name, command in cli.commands.items():
        sub = getattr(command, "commands", None)
        found |= {f"{name} {s}" for s in sub} if sub else {name}
    return found


def test_every_command_has_a_row() -> None:
    covered = {row.args[0] for row in ROWS} | set(SERVED)
    assert _commands() == covered, "a command without a row in the secrets table"


# --- the scenario ---------------------------------------------------------------------------


@dataclass
class Outcome:
    code: int
    out: str
    text: str  # stdout, stderr, log records and written files, decoded where encoded


class _Records(logging.Handler):
    """Every log record at DEBUG and above, formatted with its traceback (as caplog keeps)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def _debug_logs() -> Iterator[_Records]:
    handler = _Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


class _Bearer(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Setting up the secured Admin: every call carries the token."""

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        metadata = [*(details.metadata or ()), ("authorization", f"Bearer {ACCESS_TOKEN}")]
        return continuation(details._replace(metadata=metadata), request)


def _register(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    """Workflow ``wf`` (a, region, run_date); ``vault``, a gate ``token`` of type str whose value
    becomes its output, and ``counter``, a gate ``number`` of type int."""
    stub.CreateTask(task_pb2.TaskCreateRequest(id=b.task_id(), spec=b.task_spec()))
    stub.CreateWorkflow(
        workflow_pb2.WorkflowCreateRequest(
            id=b.workflow_id(), spec=b.workflow_spec(inputs=WORKFLOW_INPUTS)
        )
    )
    token = core_wf_pb2.Node(
        id="g0",
        gate_node=core_wf_pb2.GateNode(
            signal=core_wf_pb2.SignalCondition(
                signal_id="token", type=b.STR, output_variable_name="o0"
            )
        ),
    )
    number = core_wf_pb2.Node(
        id="g0",
        gate_node=core_wf_pb2.GateNode(
            signal=core_wf_pb2.SignalCondition(
                signal_id="number", type=b.INT, output_variable_name="o0"
            )
        ),
    )
    for name, gate, output in (("vault", token, b.STR), ("counter", number, b.INT)):
        spec = b.workflow_spec(nodes=[gate], outputs={"o0": output}, output_from="g0")
        stub.CreateWorkflow(workflow_pb2.WorkflowCreateRequest(id=b.workflow_id(name), spec=spec))
        stub.CreateLaunchPlan(
            launch_plan_pb2.LaunchPlanCreateRequest(
                id=b.lp_id(name), spec=b.lp_spec(workflow=b.workflow_id(name))
            )
        )


@dataclass
class Scenario:
    admin: LocalAdmin
    standin: AdminStandIn
    oauth: OAuthServer
    root: Path
    bad: Path
    files: Path
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def steps(self) -> dict[str, Callable[[], None]]:
        return {
            "reach the gate": lambda: self.admin.advance(60),
            "finish the runs": lambda: self.admin.advance(600),
        }

    def run(self, row: Row, monkeypatch: pytest.MonkeyPatch) -> Outcome:
        if row.before is not None:
            self.steps()[row.before]()
        for name in {*FIRST, *BAD}:
            monkeypatch.delenv(name, raising=False)
        for name, value in row.secrets.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("FLYTE_CREDENTIALS_CLIENT_SECRET", row.client_secret)
        places = {
            "root": str(self.root),
            "bad": str(self.bad),
            "badlabel": str(self.bad.parent / "badlabel"),
            "files": str(self.files),
            "admin": self.admin.endpoint,
            "standin": self.standin.endpoint,
        }
        args = [arg.format(**places) for arg in row.args]
        with _debug_logs() as logs, _captured() as (out, err):
            try:
                main(args)
            except SystemExit as exited:
                code = exited.code if isinstance(exited.code, int) else 1
        written = [_file_text(self.files / name) for name in row.writes]
        text = "\n".join([out.getvalue(), err.getvalue(), *logs.lines, *written])
        return Outcome(code, out.getvalue(), text)


@contextlib.contextmanager
def _captured() -> Iterator[tuple[Any, Any]]:
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        yield out, err


def _file_text(path: Path) -> str:
    """A saved plan (or a loop's state file) as text, with every operation's protobuf request
    decoded."""
    text = path.read_text("utf-8")
    decoded = []
    for change in json.loads(text).get("changes", []):  # a loop's state file holds none
        for operation in change.get("operations", []):
            raw = base64.b64decode(operation["request"])
            decoded.append(raw.decode("utf-8", "replace"))
            payload = operation.get("payload")
            if payload:
                decoded.append(base64.b64decode(payload).decode("utf-8", "replace"))
    return "\n".join([text, *decoded])


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    base = tmp_path_factory.mktemp("secrets")
    root, bad, files = base / "manifests", base / "bad", base / "files"
    for folder, tree in ((root, TREE), (bad, BAD_TREE), (base / "badlabel", BAD_LABEL_TREE)):
        folder.mkdir()
        (folder / "reconciler.yaml").write_text(SETTINGS)
        (folder / "tree.yaml").write_text(tree)
    files.mkdir()
    auth = AuthSettings(
        tokens={ACCESS_TOKEN: "reconciler"},
        clients={"reconciler": CLIENT_SECRET},
        client_tokens={"reconciler": ACCESS_TOKEN},
    )
    with (
        LocalAdmin(clock=ManualClock(), data_dir=base / "admin", auth=auth) as admin,
        AdminStandIn() as standin,
        OAuthServer() as oauth,
    ):
        oauth.state.clients["reconciler"] = CLIENT_SECRET
        standin.behaviour.oauth_url = oauth.url
        standin.behaviour.require_tokens = oauth.state.valid_tokens
        with grpc.insecure_channel(admin.endpoint) as channel:
            _register(admin_pb2_grpc.AdminServiceStub(grpc.intercept_channel(channel, _Bearer())))
        found = Scenario(admin, standin, oauth, root, bad, files)
        with pytest.MonkeyPatch.context() as monkeypatch:
            for name in list(os.environ):
                if name.startswith("FLYTE"):
                    monkeypatch.delenv(name)
            monkeypatch.setenv("HOME", str(base / "home"))
            for row in ROWS:
                found.outcomes[row.name] = found.run(row, monkeypatch)
        yield found


def _leaks(text: str, tokens: set[str]) -> list[str]:
    return [value for value in [*NEVER_SHOWN, *sorted(tokens)] if value in text]


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_no_secret_reaches_any_output(scenario: Scenario, row: Row) -> None:
    outcome = scenario.outcomes[row.name]
    assert outcome.code in row.codes, outcome.text
    leaked = _leaks(outcome.text, scenario.oauth.state.valid_tokens)
    assert not leaked, f"{row.name} shows {leaked}:\n{outcome.text}"


def test_the_scenario_used_the_secrets_it_guards(scenario: Scenario) -> None:
    """The table proves something only if the secrets were really used: auth went through the
    token endpoints, and Admin holds the values apply resolved from the environment."""
    assert scenario.oauth.state.issued >= 1  # the stand-in's tokens were asked for and used
    assert "client_secret = (set)  [FLYTE_CREDENTIALS_CLIENT_SECRET]" in (
        scenario.outcomes["ping -v"].text
    )
    with grpc.insecure_channel(scenario.admin.endpoint) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(grpc.intercept_channel(channel, _Bearer()))
        from flyteidl.admin import execution_pb2
        from flyteidl.core import identifier_pb2

        run = stub.GetExecution(
            execution_pb2.WorkflowExecutionGetRequest(
                id=identifier_pb2.WorkflowExecutionIdentifier(
                    project=PROJECT, domain=DOMAIN, name="run-guarded"
                )
            )
        )
    assert run.spec.labels.values["ticket"] == FIRST["SECRET_LABEL"]
    assert {kv.key: kv.value for kv in run.spec.envs.values}["TOKEN"] == FIRST["SECRET_ENV"]
    runs = json.loads(scenario.outcomes["status -o json"].out)["runs"]
    vault = next(r for r in runs if r["execution"].endswith("/run-vault"))
    assert vault["phase"] == "SUCCEEDED", vault
    assert vault["outputs"] == {"o0": "${env:SECRET_SIGNAL}"}, vault
    typed = scenario.outcomes["bad manifest, values from env do not fit their types"].text
    assert "spec.inputs.a: expected int" in typed, typed
    assert "spec.value: expected int" in typed, typed
    label = scenario.outcomes["bad manifest, a label from env is no label"].text
    assert "spec.labels.ticket" in label, label


def test_the_served_local_admin_prints_no_secret(tmp_path: Path) -> None:
    env = {
        **os.environ,
        **FIRST,
        "FLYTE_CREDENTIALS_CLIENT_SECRET": CLIENT_SECRET,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "local-admin",
            "serve",
            "--db",
            str(tmp_path / "a.db"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    ) as served:
        assert served.stdout is not None
        first = served.stdout.readline()
        served.terminate()
        rest, _ = served.communicate(timeout=30)
    assert "127.0.0.1:" in first, first + rest
    assert not _leaks(first + rest, set())

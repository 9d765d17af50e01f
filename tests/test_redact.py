"""What the report commands may print of values that came from ``${env:...}``."""

from __future__ import annotations

from pathlib import Path

from flyteidl.admin import signal_pb2
from flyteidl.core import identifier_pb2, literals_pb2, types_pb2

from reconciler.commands.status import _redacted, held_in_admin
from reconciler.kinds import KINDS
from reconciler.kinds.base import union
from reconciler.manifests.load import load_tree
from reconciler.manifests.resolve import Resolved, resolve
from reconciler.read import Actual
from reconciler.redact import Redactor
from tests.conftest import write

RUN = """\
apiVersion: reconciler/v1
kind: Execution
metadata: {name: run-1, project: p, domain: d}
spec:
  launchPlan: {name: lp, version: v1}
  inputs: {token: "${env:TOKEN}", zone: "eu-${env:ZONE}", plain: eu}
"""
ENVIRON = {"TOKEN": "tok-123456", "ZONE": "w1", "UNUSED": "not-a-manifest-value"}


def _resolved(tmp_path: Path) -> Resolved:
    write(tmp_path / "run.yaml", RUN)
    tree = load_tree([tmp_path])
    assert tree.ok, tree.diagnostics
    outcome = resolve(tree.manifests[0], ENVIRON)
    assert isinstance(outcome, Resolved)
    return outcome


def test_inputs_given_as_references_show_as_written_in_git(tmp_path: Path) -> None:
    item = _resolved(tmp_path)
    row = {
        "manifest": item.manifest.address,
        "inputs": {"token": "tok-123456", "zone": "eu-w1", "plain": "eu"},
        "outputs": {"echo": "tok-123456", "note": "zone w1 and tok-123456 seen"},
        "error": "bad token tok-123456",
    }
    shown = _redacted(row, item.secrets, Redactor.of([item], ENVIRON))
    # by origin, even a short value inside a longer one
    assert shown["inputs"] == {"token": "${env:TOKEN}", "zone": "eu-${env:ZONE}", "plain": "eu"}
    # by content, wherever Admin echoes it
    assert shown["outputs"] == {"echo": "${env:TOKEN}", "note": "zone w1 and ${env:TOKEN} seen"}
    assert shown["error"] == "bad token ${env:TOKEN}"


def test_only_values_the_manifests_resolved_are_masked_and_short_ones_only_whole(
    tmp_path: Path,
) -> None:
    redactor = Redactor.of([_resolved(tmp_path)], ENVIRON)
    assert redactor.scrub({"w1": ["w1", "w10", 5]}) == {"${env:ZONE}": ["${env:ZONE}", "w10", 5]}
    assert redactor.scrub("not-a-manifest-value") == "not-a-manifest-value"
    assert Redactor().scrub({"a": "tok-123456"}) == {"a": "tok-123456"}


def test_values_admin_holds_for_references_are_learned_even_after_rotation() -> None:
    # Admin keeps what an earlier apply sent: with the secret rotated since, only the shape of
    # the text as written tells where the old value sits.
    redactor = Redactor().holding(
        [
            ("Bearer ${env:TOKEN}", "Bearer old-token-1"),
            ("${env:USER}:${env:PASS}", "admin:old-pass:word"),
            ("$${env:LITERAL} ${env:NOTE}", "${env:LITERAL} old-note"),
            ("${env:TOKEN}", 4711),
            ("prefix-${env:GONE}", "other shape"),
        ]
    )
    text = "old-token-1 / admin / old-pass:word / old-note / 4711 / other shape"
    assert redactor.text(text) == (
        "${env:TOKEN} / ${env:USER} / ${env:PASS} / ${env:NOTE} / ${env:TOKEN} / other shape"
    )


SIGNALS = """\
apiVersion: reconciler/v1
kind: Signal
metadata: {name: secret-gate, project: p, domain: d}
spec: {execution: run-1, signalId: token, value: "${env:TOKEN}"}
---
apiVersion: reconciler/v1
kind: Signal
metadata: {name: plain-gate, project: p, domain: d}
spec: {execution: run-2, signalId: ok, approve: true}
"""


def test_what_status_reads_and_learns_for_references_comes_from_each_kind(tmp_path: Path) -> None:
    write(tmp_path / "signals.yaml", SIGNALS)
    tree = load_tree([tmp_path])
    assert tree.ok, tree.diagnostics
    items = [resolve(manifest, ENVIRON) for manifest in tree.manifests]
    resolved = [item for item in items if isinstance(item, Resolved)]
    assert len(resolved) == 2
    # only the signal set from the environment needs its run's signals read
    needs = union(kind.held_needs(item) for kind in KINDS for item in kind.of(resolved))
    assert needs.signals == {("p", "d", "run-1")}
    # Admin holds the value of the apply that set it, a secret rotated since
    string = types_pb2.LiteralType(simple=types_pb2.STRING)
    old = literals_pb2.Literal(
        scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(string_value="old-token"))
    )
    run = identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="d", name="run-1")
    signal = signal_pb2.Signal(
        id=identifier_pb2.SignalIdentifier(signal_id="token", execution_id=run),
        type=string,
        value=old,
    )
    actual = Actual(signals={("p", "d", "run-1"): [signal]})
    assert held_in_admin(resolved, actual) == [("${env:TOKEN}", "old-token")]

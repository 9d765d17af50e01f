"""Plan one Signal manifest against the signals its execution has created.

- the execution has not created the signal yet (not launched, or not at the gate): ``wait``;
- created and not set: ``set`` (``approve: true``/``reject: true`` are the booleans flytekit's
  ``approve``/``reject`` send; a ``value`` is typed by the signal's declared type);
- already set to the same value: ``noop``; to another value: ``conflict`` (Admin would
  overwrite it silently; ADMIN-SEMANTICS.md, Signals).

Compared: the value's literal, the one Admin holds against the one the manifest gives. Shown:
both in manifest terms through the same function (``_shown``: ``value``, and for an answer to
an approval gate ``as: approve|reject``), a value from ``${env:...}`` as its reference on one
side and ``(secret in Admin)`` on the other; when two different literals read as the same
value, their encodings are the diff. A signal carries no provenance (Admin keeps no labels on
it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flyteidl.admin import signal_pb2
from flyteidl.core import identifier_pb2, literals_pb2, types_pb2

from reconciler.admin.literals import literal_type_name, to_literal
from reconciler.diagnostics import FieldPath
from reconciler.errors import LiteralError
from reconciler.kinds.base import Desired, Kind, Pair, Planning
from reconciler.kinds.execution import TERMINAL, Phase
from reconciler.manifests.load import Manifest
from reconciler.manifests.resolve import Resolved
from reconciler.manifests.signal import SignalManifest
from reconciler.plan.calls import operation
from reconciler.plan.common import Context, Problems, decoded, digest, normalized, secret_inputs
from reconciler.plan.diff import diff
from reconciler.plan.model import Action, Change
from reconciler.read import Actual, EntityKey, Needs, Observed
from reconciler.redact import Held, held_values, redact

BOOLEAN = types_pb2.LiteralType(simple=types_pb2.SimpleType.BOOLEAN)


def execution_key(manifest: Manifest[SignalManifest]) -> EntityKey:
    return (manifest.project, manifest.domain, manifest.model.spec.execution)


def observed(actual: Actual, key: EntityKey, signal_id: str) -> Observed:
    return {"signals": [[*key, signal_id]], "digest": _digest(actual, key, signal_id)}


def _digest(actual: Actual, key: EntityKey, signal_id: str) -> str:
    found = actual.signal(key, signal_id)
    state = (
        [
            found.type.SerializeToString(deterministic=True).hex(),
            found.value.SerializeToString(deterministic=True).hex(),
        ]
        if found is not None
        else None
    )
    return digest(state)


def plan(
    manifest: Manifest[SignalManifest],
    secrets: Mapping[FieldPath, str],
    actual: Actual,
    problems: Problems,
) -> Change | None:
    model = manifest.model
    spec = model.spec
    key = execution_key(manifest)
    seen = observed(actual, key, spec.signal_id)
    wanted = _wanted_view(model, secrets)
    signal = actual.signal(key, spec.signal_id)
    execution = actual.executions.get(key)
    ended = execution is not None and execution.closure.phase in TERMINAL
    if (signal is None or _current(signal) is None) and execution is not None and ended:
        # A finished run waits on nothing: its gate can never be passed, so there is nothing to
        # set and nothing to wait for (setting it would only write a value nobody reads).
        phase = Phase.Name(execution.closure.phase)
        return Change(
            manifest.address,
            Action.NOOP,
            {"value": None},
            {"value": None},
            reason=f"execution {key[2]} is {phase}: its gate {spec.signal_id!r} no longer waits",
            observed=seen,
        )
    if signal is None:
        why = (
            f"execution {key[2]} has not reached the gate {spec.signal_id!r} yet"
            if execution is not None
            else f"execution {key[2]} has not been launched yet"
        )
        return Change(manifest.address, Action.WAIT, None, wanted, reason=why, observed=seen)
    literal_type = signal.type
    try:
        literal = _literal(model, literal_type, redact=("spec", "value") in secrets)
    except LiteralError as exc:
        problems.literals(manifest, exc)
        return None
    if literal is None:
        problems.add(
            manifest.diagnostic(
                ("spec",),
                f"signal {spec.signal_id!r} has type {literal_type_name(literal_type)}; "
                "approve/reject only answer boolean (approval) gates, use value",
            )
        )
        return None
    current = _current(signal)
    if current is None:
        hidden = secret_inputs(
            secrets, ("spec",), "value", {"value": literal_type}, problems, manifest
        )
        request = signal_pb2.SignalSetRequest(
            id=identifier_pb2.SignalIdentifier(
                signal_id=spec.signal_id,
                execution_id=identifier_pb2.WorkflowExecutionIdentifier(
                    project=key[0], domain=key[1], name=key[2]
                ),
            ),
            value=literals_pb2.Literal() if hidden else literal,
        )
        return Change(
            manifest.address,
            Action.SET,
            {"value": None},
            wanted,
            diff=diff({"spec": {"value": None}}, {"spec": wanted}),
            reason=f"the execution waits on {spec.signal_id!r} ({literal_type_name(literal_type)})",
            operations=(operation(request, hidden),),
            observed=seen,
        )
    if current == literal:
        return Change(manifest.address, Action.NOOP, wanted, wanted, observed=seen)
    before = _shown(model, decoded(current, literal_type))
    if any(path[:2] == ("spec", "value") for path in secrets):
        before = {"value": "(secret in Admin)"}
    found = diff({"spec": before}, {"spec": wanted})
    if not found:  # two literals that read as one value: what differs is their encoding
        found = diff(
            {"spec": {"value": normalized(current)}}, {"spec": {"value": normalized(literal)}}
        )
    return Change(
        manifest.address,
        Action.CONFLICT,
        before,
        wanted,
        diff=found,
        reason="the signal is already set to another value; Admin would overwrite it silently, "
        "so apply refuses",
        observed=seen,
    )


def _literal(
    model: SignalManifest, literal_type: types_pb2.LiteralType, *, redact: bool = False
) -> literals_pb2.Literal | None:
    """``redact``: the value comes from ``${env:...}``; a message must not quote it."""
    spec = model.spec
    if "value" in spec.model_fields_set:
        return to_literal(spec.value, literal_type, path="spec.value", redact=redact)
    if literal_type != BOOLEAN:
        return None
    # flytekit's approve/reject send the literals True/False (ADMIN-SEMANTICS.md, Signals)
    return to_literal(bool(spec.approve), BOOLEAN, path="spec.approve")


def _current(signal: signal_pb2.Signal) -> literals_pb2.Literal | None:
    return signal.value if signal.HasField("value") and signal.value.ByteSize() else None


def _wanted_view(model: SignalManifest, secrets: Mapping[FieldPath, str]) -> dict[str, Any]:
    spec = model.spec
    if "value" in spec.model_fields_set:
        view = _shown(model, spec.value)
        redact(view, secrets, ("spec",))
        return view
    return _shown(model, bool(spec.approve))


def _shown(model: SignalManifest, value: object) -> dict[str, Any]:
    """A signal's value in manifest terms, the same for what Admin holds and what the manifest
    asks: an answer to an approval gate also says which (``as``), as the manifest writes it."""
    if "value" in model.spec.model_fields_set or not isinstance(value, bool):
        return {"value": value}
    return {"value": value, "as": "approve" if value else "reject"}


def _needs(item: Resolved[SignalManifest], desired: Desired, context: Context) -> Needs:
    # the run too: a finished run's gate waits for nothing
    key = execution_key(item.manifest)
    return Needs(signals=frozenset({key}), executions=frozenset({key}))


def _gates(manifest: Manifest[SignalManifest]) -> tuple[EntityKey, ...]:
    return (execution_key(manifest),)


def _pair(
    item: Resolved[SignalManifest], planning: Planning
) -> Pair[SignalManifest, signal_pb2.Signal]:
    """Keyed by execution and signal id; Admin's side is the signal, once the run made it."""
    key = (execution_key(item.manifest), item.manifest.model.spec.signal_id)
    return Pair(key, item, planning.actual.signal(*key))


def _plan(pair: Pair[SignalManifest, signal_pb2.Signal], planning: Planning) -> Change | None:
    assert pair.desired is not None  # signals are never pruned
    return plan(pair.desired.manifest, pair.desired.secrets, planning.actual, planning.problems)


def _held(item: Resolved[SignalManifest], actual: Actual) -> list[Held]:
    """The signal's value as Admin holds it, once set."""
    signal = actual.signal(execution_key(item.manifest), item.manifest.model.spec.signal_id)
    if signal is None or not signal.HasField("value"):
        return []
    value = decoded(signal.value, signal.type)
    return held_values({"value": value}, item.secrets, ("spec",))


def _held_needs(item: Resolved[SignalManifest]) -> Needs:
    """The run's signals, where the value is a reference (the signal may be set already)."""
    if ("spec", "value") not in item.secrets:
        return Needs()
    return Needs(signals=frozenset({execution_key(item.manifest)}))


def _recheck(observed: Observed) -> Needs | None:
    if "signals" not in observed:
        return None
    return Needs(signals=frozenset((str(p), str(d), str(n)) for p, d, n, _ in observed["signals"]))


def _digests(actual: Actual, observed: Observed) -> tuple[str, ...]:
    [(project, domain, name, signal_id)] = observed["signals"]
    return (_digest(actual, (project, domain, name), signal_id),)


KIND = Kind(
    model=SignalManifest,
    needs=_needs,
    pair=_pair,
    plan=_plan,
    recheck=_recheck,
    digests=_digests,
    gates=_gates,
    held=_held,
    held_needs=_held_needs,
)

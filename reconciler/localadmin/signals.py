"""SignalService logic: gate nodes' signals (``flyteadmin/pkg/manager/impl/signal_manager.go``).

* ``GetOrCreateSignal`` creates the signal with its type or returns the stored one;
* ``SetSignal`` on a signal nobody created yet is ``INVALID_ARGUMENT`` (Admin's update finds no
  row); a value that does not fit the signal's type is ``INVALID_ARGUMENT``; setting a signal
  again silently overwrites it, as Admin does (the reconciler refuses that itself);
* ``ListSignals`` lists the signals of one execution, with filters and paging.
"""

from __future__ import annotations

from flyteidl.admin import signal_pb2
from flyteidl.core import identifier_pb2, literals_pb2, types_pb2

from reconciler.localadmin import filters, literals
from reconciler.localadmin.clock import Clock
from reconciler.localadmin.errors import invalid
from reconciler.localadmin.protos import execution_text, parse
from reconciler.localadmin.store import Store


def _key(identifier: identifier_pb2.SignalIdentifier) -> dict[str, str]:
    execution = identifier.execution_id
    return {
        "project": execution.project,
        "domain": execution.domain,
        "execution_name": execution.name,
        "signal_id": identifier.signal_id,
    }


def _check_id(identifier: identifier_pb2.SignalIdentifier) -> None:
    if not identifier.signal_id:
        raise invalid("missing signal_id")
    for field_name in ("project", "domain", "name"):
        if not getattr(identifier.execution_id, field_name):
            raise invalid(f"missing execution_id.{field_name}")


class Signals:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def get_or_create(
        self, identifier: identifier_pb2.SignalIdentifier, signal_type: types_pb2.LiteralType
    ) -> signal_pb2.Signal:
        _check_id(identifier)
        if not signal_type.WhichOneof("type"):
            raise invalid("missing type")
        with self.store.transaction():
            row = self.store.get("signals", _key(identifier))
            if row is not None:
                return parse(signal_pb2.Signal, row["data"])
            signal = signal_pb2.Signal(id=identifier, type=signal_type)
            now = self.clock.now()
            self.store.insert(
                "signals",
                {
                    **_key(identifier),
                    "created_at": now,
                    "updated_at": now,
                    "data": signal.SerializeToString(),
                },
            )
            return signal

    def get(self, identifier: identifier_pb2.SignalIdentifier) -> signal_pb2.Signal | None:
        row = self.store.get("signals", _key(identifier))
        return None if row is None else parse(signal_pb2.Signal, row["data"])

    def set(
        self,
        identifier: identifier_pb2.SignalIdentifier,
        value: literals_pb2.Literal,
        has_value: bool = True,
    ) -> None:
        _check_id(identifier)
        if not has_value:
            raise invalid("missing value")
        with self.store.transaction():
            signal = self.get(identifier)
            if signal is None:
                # signal_validator.go ValidateSignalSetRequest
                raise invalid(
                    f"failed to validate that signal [{identifier.signal_id} of "
                    f"{execution_text(identifier.execution_id)}] exists, err: "
                    "[missing entity of type signal]"
                )
            if not literals.fits(value, signal.type):
                raise invalid(
                    f"requested signal value [{value}] is not castable to existing signal type "
                    f"[{literals.type_name(signal.type)}]"
                )
            # Setting an already-set signal silently overwrites it, as Admin does.
            signal.value.CopyFrom(value)
            self.store.update(
                "signals",
                _key(identifier),
                {"updated_at": self.clock.now(), "data": signal.SerializeToString()},
            )

    def list_signals(
        self, request: signal_pb2.SignalListRequest
    ) -> tuple[list[signal_pb2.Signal], str]:
        execution = request.workflow_execution_id
        for field_name in ("project", "domain", "name"):
            if not getattr(execution, field_name):
                raise invalid(f"missing workflow_execution_id.{field_name}")
        offset = filters.page(request.limit, request.token)
        where = filters.Where()
        where.add("project = ?", execution.project)
        where.add("domain = ?", execution.domain)
        where.add("execution_name = ?", execution.name)
        filters.parse_filters("signal", request.filters, where)
        rows, token = filters.select_page(self.store, "signals", "signal", where, request, offset)
        return [parse(signal_pb2.Signal, r["data"]) for r in rows], token

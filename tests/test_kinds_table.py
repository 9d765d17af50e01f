"""The KINDS table and the values the kinds share: every manifest kind has its entry, addresses
parse back to what wrote them, and reads asked for by several kinds add up."""

from __future__ import annotations

import pytest

from reconciler.kinds import KINDS, kind_named
from reconciler.kinds.base import union
from reconciler.manifests import parse
from reconciler.manifests.address import Address
from reconciler.read import Needs
from reconciler.shard import Shard


def test_every_manifest_kind_has_its_entry_in_the_table_and_no_other() -> None:
    # the load layer keeps its own registry of models (it may not import the kinds)
    assert sorted(k.name for k in KINDS) == sorted(parse.KINDS)
    assert all(parse.KINDS[k.name] is k.model for k in KINDS)
    assert kind_named("LaunchPlan") is not None
    assert kind_named("Nope") is None


def test_registrations_come_first_and_signals_last() -> None:
    # what apply creates first is what the later kinds refer to
    names = [k.name for k in KINDS]
    assert names.index("Registration") < names.index("LaunchPlan") < names.index("Execution")
    assert names.index("Execution") < names.index("Signal")


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("LaunchPlan/p/d/daily", Address("LaunchPlan", "p", "d", "daily")),
        ("Signal/p/d/run-1/ok", Address("Signal", "p", "d", "run-1", "ok")),
    ],
)
def test_an_address_parses_to_its_parts_and_back(text: str, address: Address) -> None:
    assert Address.parse(text) == address
    assert str(address) == text
    assert Address.kind_of(text) == address.kind


@pytest.mark.parametrize("text", ["LaunchPlan/p/d", "LaunchPlan/p//n", "Execution/p/d/a/b", ""])
def test_what_is_not_an_address_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not an address"):
        Address.parse(text)


def test_reads_asked_for_by_several_kinds_add_up() -> None:
    shard = Shard(0, 2)
    merged = union(
        [
            Needs(launch_plans=frozenset({("p", "d", "a")})),
            Needs(launch_plans=frozenset({("p", "d", "b")}), prune_everywhere=True),
            Needs(executions=frozenset({("p", "d", "r")}), shard=shard),
        ]
    )
    assert merged.launch_plans == {("p", "d", "a"), ("p", "d", "b")}
    assert merged.executions == {("p", "d", "r")}
    assert merged.prune_everywhere
    assert merged.shard == shard
    assert union([]) == Needs()

"""The filter grammar as a pure translation to parameterized SQL."""

from __future__ import annotations

import pytest
from flyteidl.admin import common_pb2
from hypothesis import given
from hypothesis import strategies as st

from reconciler.localadmin import filters
from reconciler.localadmin.errors import AdminError


def test_terms_are_anded_and_values_are_parameters() -> None:
    where = filters.parse_filters("execution", "eq(phase,RUNNING)+ne(launch_plan.project,p2)")
    assert where.clauses == ["phase = ?", "launch_plan_project <> ?"]
    assert where.params == ["RUNNING", "p2"]


def test_value_in_binds_one_parameter_per_value() -> None:
    where = filters.parse_filters("execution", "value_in(phase,A;B;C)")
    assert where.clauses == ["phase IN (?, ?, ?)"]
    assert where.params == ["A", "B", "C"]


def test_a_space_after_the_comma_is_allowed_as_in_admin() -> None:
    assert filters.parse_filters("launch_plan", "eq(state, 1)").params == ["1"]


def test_the_state_column_is_reported_for_the_archived_rule() -> None:
    assert filters.names_filtered(filters.parse_filters("execution", "eq(state,1)"), ["state"])
    assert not filters.names_filtered(filters.parse_filters("execution", "eq(phase,X)"), ["state"])


def test_entities_may_only_join_what_admin_allows() -> None:
    with pytest.raises(AdminError, match="'execution' entity is not allowed"):
        filters.parse_filters("task", "eq(execution.name,x)")


@given(
    # Admin's regex matches neither line breaks nor the separators; it drops one leading space
    st.text(
        alphabet=st.characters(blacklist_characters="+;()", blacklist_categories=("Cc", "Cs")),
        min_size=1,
    ).filter(lambda v: not v[0].isspace())
)
def test_any_value_stays_a_bound_parameter(value: str) -> None:
    where = filters.parse_filters("execution", f"eq(name,{value})")
    assert where.clauses == ["name = ?"]
    assert where.params == [value]


def test_durations_accept_seconds_and_go_strings() -> None:
    assert filters.parse_duration("90") == 90.0
    assert filters.parse_duration("1h30m") == 5400.0
    with pytest.raises(AdminError):
        filters.parse_duration("1x")


def test_paging_rules() -> None:
    assert filters.page(10, "") == 0
    assert filters.page(10, "20") == 20
    assert filters.next_token(20, 10, 10) == "30"
    assert filters.next_token(20, 10, 9) == ""
    with pytest.raises(AdminError, match="limit"):
        filters.page(0, "")


def test_sort_direction_and_unknown_keys() -> None:
    ascending = common_pb2.Sort(key="created_at", direction=common_pb2.Sort.ASCENDING)
    assert filters.order_by("execution", ascending) == "created_at ASC, seq ASC"
    assert filters.order_by("execution", None) == "seq ASC"
    with pytest.raises(AdminError, match="sort key"):
        filters.order_by("execution", common_pb2.Sort(key="data"))
    assert filters.order_by("execution", common_pb2.Sort(key="execution_created_at")) == (
        "created_at DESC, seq DESC"
    )

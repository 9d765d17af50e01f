"""Branch conditions as the engine evaluates them."""

from __future__ import annotations

import pytest
from flyteidl.core import condition_pb2, literals_pb2, types_pb2
from flyteidl.core import workflow_pb2 as core_wf_pb2

from reconciler.localadmin import branches
from tests.localadmin import builders as b

Op = condition_pb2.ComparisonExpression


def _compare(
    op: int, left: condition_pb2.Operand, right: condition_pb2.Operand
) -> condition_pb2.BooleanExpression:
    return condition_pb2.BooleanExpression(
        comparison=condition_pb2.ComparisonExpression(
            operator=op, left_value=left, right_value=right
        )
    )


def _var(name: str) -> condition_pb2.Operand:
    return condition_pb2.Operand(var=name)


def _int(value: int) -> condition_pb2.Operand:
    return condition_pb2.Operand(scalar=b.int_literal(value).scalar)


NONE = condition_pb2.Operand(scalar=literals_pb2.Scalar(none_type=literals_pb2.Void()))


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (_compare(Op.GT, _var("a"), _int(0)), True),
        (_compare(Op.LTE, _var("a"), _int(0)), False),
        (
            _compare(Op.EQ, _var("a"), condition_pb2.Operand(scalar=b.str_literal("5").scalar)),
            False,
        ),
        (_compare(Op.EQ, NONE, NONE), True),
        (_compare(Op.NEQ, _var("a"), NONE), True),
        (_compare(Op.GT, _var("a"), NONE), False),
    ],
)
def test_comparisons(expression: condition_pb2.BooleanExpression, expected: bool) -> None:
    assert branches.evaluate(expression, b.literal_map(a=b.int_literal(5))) is expected


def test_conjunctions_combine_with_and_and_or() -> None:
    yes = _compare(Op.EQ, _int(1), _int(1))
    no = _compare(Op.EQ, _int(1), _int(2))

    def join(op: int) -> condition_pb2.BooleanExpression:
        return condition_pb2.BooleanExpression(
            conjunction=condition_pb2.ConjunctionExpression(
                operator=op, left_expression=yes, right_expression=no
            )
        )

    inputs = b.literal_map()
    assert branches.evaluate(join(condition_pb2.ConjunctionExpression.AND), inputs) is False
    assert branches.evaluate(join(condition_pb2.ConjunctionExpression.OR), inputs) is True


def test_choose_takes_the_first_matching_case_then_else_then_error() -> None:
    first = core_wf_pb2.Node(id="first")
    second = core_wf_pb2.Node(id="second")
    node = core_wf_pb2.Node(
        id="branch",
        branch_node=core_wf_pb2.BranchNode(
            if_else=core_wf_pb2.IfElseBlock(
                case=core_wf_pb2.IfBlock(
                    condition=_compare(Op.GT, _var("a"), _int(10)), then_node=first
                ),
                other=[
                    core_wf_pb2.IfBlock(
                        condition=_compare(Op.GT, _var("a"), _int(0)), then_node=second
                    )
                ],
                error=types_pb2.Error(message="too small"),
            )
        ),
    )
    assert branches.choose(node, b.literal_map(a=b.int_literal(11))).id == "first"
    assert branches.choose(node, b.literal_map(a=b.int_literal(1))).id == "second"
    with pytest.raises(branches.BranchError, match="too small"):
        branches.choose(node, b.literal_map(a=b.int_literal(0)))

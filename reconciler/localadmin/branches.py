"""Branch-node conditions, evaluated the way propeller does for primitive comparisons.

A branch node's ``if_else`` block is a chain of ``(condition, then_node)`` cases, an optional
``else_node`` and an optional ``error``. Conditions compare operands that are literal primitives
or scalars, or ``var`` references to the branch node's own inputs; ``AND``/``OR`` combine them.
Comparisons between values of different kinds are false, except that ``None`` compares equal
only to ``None``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, cast

from flyteidl.core import condition_pb2, literals_pb2
from flyteidl.core import workflow_pb2 as core_wf_pb2

Comparison = condition_pb2.ComparisonExpression
_COMPARE: dict[int, Callable[[Any, Any], bool]] = {
    Comparison.EQ: operator.eq,
    Comparison.NEQ: operator.ne,
    Comparison.GT: operator.gt,
    Comparison.GTE: operator.ge,
    Comparison.LT: operator.lt,
    Comparison.LTE: operator.le,
}


class BranchError(Exception):
    """No case matched and the branch declares an error (or has no else)."""


def choose(node: core_wf_pb2.Node, inputs: literals_pb2.LiteralMap) -> core_wf_pb2.Node:
    """The node a branch node runs for these inputs."""
    if_else = node.branch_node.if_else
    for case in [if_else.case, *if_else.other]:
        if evaluate(case.condition, inputs):
            return cast(core_wf_pb2.Node, case.then_node)
    if if_else.HasField("else_node"):
        return if_else.else_node
    message = if_else.error.message if if_else.HasField("error") else "no branch case matched"
    raise BranchError(message)


def evaluate(expression: condition_pb2.BooleanExpression, inputs: literals_pb2.LiteralMap) -> bool:
    if expression.HasField("conjunction"):
        conjunction = expression.conjunction
        left = evaluate(conjunction.left_expression, inputs)
        if conjunction.operator == condition_pb2.ConjunctionExpression.AND:
            return left and evaluate(conjunction.right_expression, inputs)
        return left or evaluate(conjunction.right_expression, inputs)
    comparison = expression.comparison
    left = _value(comparison.left_value, inputs)
    right = _value(comparison.right_value, inputs)
    if left is None or right is None:
        same = left is None and right is None
        return (
            same
            if comparison.operator == Comparison.EQ
            else (not same if comparison.operator == Comparison.NEQ else False)
        )
    if type(left) is not type(right) and not (_number(left) and _number(right)):
        return False
    try:
        return bool(_COMPARE[comparison.operator](left, right))
    except TypeError:
        return False


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _value(operand: condition_pb2.Operand, inputs: literals_pb2.LiteralMap) -> Any:
    kind = operand.WhichOneof("val")
    if kind == "var":
        literal = inputs.literals.get(operand.var)
        if literal is None:
            raise BranchError(f"branch condition reads unknown input {operand.var}")
        return _literal_value(literal)
    if kind == "primitive":
        return _primitive_value(operand.primitive)
    if kind == "scalar":
        return _scalar_value(operand.scalar)
    return None


def _literal_value(literal: literals_pb2.Literal) -> Any:
    return _scalar_value(literal.scalar) if literal.HasField("scalar") else literal


def _scalar_value(scalar: literals_pb2.Scalar) -> Any:
    if scalar.HasField("union"):
        return _literal_value(scalar.union.value)
    if scalar.HasField("primitive"):
        return _primitive_value(scalar.primitive)
    if scalar.HasField("none_type"):
        return None
    return scalar


def _primitive_value(primitive: literals_pb2.Primitive) -> Any:
    kind = primitive.WhichOneof("value")
    if kind == "datetime":
        return primitive.datetime.ToNanoseconds()
    if kind == "duration":
        return primitive.duration.ToNanoseconds()
    return getattr(primitive, kind) if kind else None

"""Property: for every type and every canonical value of it, ``from_literal(to_literal(v, t), t)``
gives ``v`` back, and so does reading without the type where the literal alone says enough."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.admin.literals import from_literal, to_literal
from tests.admin.ltypes import (
    BOOL,
    DATETIME,
    DIRECTORY,
    DURATION,
    FILE,
    FLOAT,
    INT,
    NONE,
    STR,
    dataclass_struct,
    enum_of,
    list_of,
    map_of,
    optional,
    struct,
    union_of,
)

UTC = dt.timezone.utc
EXAMPLES = settings(max_examples=75, deadline=None)

Typed = tuple[Any, st.SearchStrategy[Any]]


def canonical_duration(delta: dt.timedelta) -> str:
    """The text ``from_literal`` gives a duration, computed independently of the codec."""
    micros = abs(delta // dt.timedelta(microseconds=1))
    if micros == 0:
        return "0s"
    hours, rest = divmod(micros, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds, fraction = divmod(rest, 1_000_000)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    if rest:
        text += f"{seconds}" + (f".{fraction:06d}".rstrip("0") if fraction else "") + "s"
    return ("-" if delta < dt.timedelta(0) else "") + text


ints = st.integers(-(2**63), 2**63 - 1)
floats = st.floats(allow_nan=False)
texts = st.text(max_size=20)
moments = st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(UTC)
)
durations = st.timedeltas(
    min_value=dt.timedelta(days=-(10**6)), max_value=dt.timedelta(days=10**6)
).map(canonical_duration)
uris = st.from_regex(r"(s3|gs|abfs)://[a-z0-9-]{3,12}/[A-Za-z0-9/._-]{0,20}", fullmatch=True)

LEAVES: list[Typed] = [
    (INT, ints),
    (FLOAT, floats),
    (STR, texts),
    (BOOL, st.booleans()),
    (DATETIME, moments),
    (DURATION, durations),
    (NONE, st.none()),
    (enum_of("RED", "GREEN", "BLUE"), st.sampled_from(["RED", "GREEN", "BLUE"])),
    (FILE, uris),
    (DIRECTORY, uris),
]
# Union members whose values never fit another member exactly, so the variant is unambiguous.
UNION_MEMBERS: list[Typed] = [
    (INT, ints),
    (FLOAT, floats),
    (STR, texts),
    (BOOL, st.booleans()),
    (DATETIME, moments),
    (NONE, st.none()),
]


@st.composite
def unions(draw: st.DrawFn) -> Typed:
    members = draw(st.lists(st.sampled_from(range(len(UNION_MEMBERS))), min_size=1, unique=True))
    chosen = [UNION_MEMBERS[i] for i in members]
    return union_of(*(lt for lt, _ in chosen)), st.one_of(*(values for _, values in chosen))


def containers(children: st.SearchStrategy[Typed]) -> st.SearchStrategy[Typed]:
    def as_list(child: Typed) -> Typed:
        return list_of(child[0]), st.lists(child[1], max_size=4)

    def as_map(child: Typed) -> Typed:
        return map_of(child[0]), st.dictionaries(texts, child[1], max_size=4)

    def as_optional(child: Typed) -> Typed:
        return optional(child[0]), st.none() | child[1]

    return st.one_of(
        children.map(as_list),
        children.map(as_map),
        # Python flattens Optional[Optional[X]] and Optional[None]; flytekit never sends them.
        children.filter(lambda c: c[0] != NONE and not c[0].HasField("union_type")).map(
            as_optional
        ),
    )


types = st.recursive(st.sampled_from(LEAVES) | unions(), containers, max_leaves=4)


@st.composite
def typed_values(draw: st.DrawFn) -> tuple[Any, Any]:
    lt, values = draw(types)
    return lt, draw(values)


@EXAMPLES
@given(typed_values())
def test_values_round_trip_through_literals(case: tuple[Any, Any]) -> None:
    lt, value = case
    literal = to_literal(value, lt, path="x")
    assert from_literal(literal, lt) == value
    # The literal alone carries enough (union stored types, timestamps) for these types.
    assert from_literal(literal) == value


# Structs: dataclass-like types whose fields are leaves, lists and optionals of leaves.
# mashumaro writes durations as float seconds, exact to the microsecond within about 100 years.
field_durations = st.timedeltas(
    min_value=dt.timedelta(days=-36500), max_value=dt.timedelta(days=36500)
).map(canonical_duration)
FIELD_TYPES: list[Typed] = [
    *(leaf for leaf in LEAVES if leaf[0] not in (NONE, DURATION)),
    (DURATION, field_durations),
    (list_of(INT), st.lists(ints, max_size=3)),
    (optional(STR), st.none() | texts),
    (union_of(INT, STR), ints | texts),
    (map_of(FLOAT), st.dictionaries(texts, floats, max_size=3)),
]


@st.composite
def dataclasses_and_values(draw: st.DrawFn, *, msgpack: bool) -> tuple[Any, Any]:
    names = draw(st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), unique=True))
    picked = [draw(st.sampled_from(FIELD_TYPES)) for _ in names]
    lt = dataclass_struct("Generated", {n: t for n, (t, _) in zip(names, picked, strict=True)})
    if not msgpack:
        lt.ClearField("annotation")
    value = {n: draw(values) for n, (_, values) in zip(names, picked, strict=True)}
    return lt, value


@EXAMPLES
@given(dataclasses_and_values(msgpack=True))
def test_dataclass_values_round_trip_through_msgpack(case: tuple[Any, Any]) -> None:
    lt, value = case
    literal = to_literal(value, lt, path="x")
    assert literal.scalar.binary.tag == "msgpack"
    assert from_literal(literal, lt) == value


json_safe_ints = st.integers(-(2**53), 2**53)
json_safe_floats = st.floats(allow_nan=False, allow_infinity=False)


@EXAMPLES
@given(dataclasses_and_values(msgpack=False))
def test_dataclass_values_round_trip_through_json_structs(case: tuple[Any, Any]) -> None:
    lt, value = case
    # A JSON Struct holds doubles: only integers a double holds exactly survive, and no infinity.
    ok = all(_json_safe(v) for v in value.values())
    literal = to_literal(value, lt, path="x") if ok else None
    if literal is not None:
        assert literal.scalar.WhichOneof("value") == "generic"
        assert from_literal(literal, lt) == value


def _json_safe(value: Any) -> bool:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    if isinstance(value, int):
        return abs(value) <= 2**53
    if isinstance(value, float):
        return abs(value) != float("inf")
    if isinstance(value, list):
        return all(_json_safe(v) for v in value)
    if isinstance(value, dict):
        return all(_json_safe(v) for v in value.values())
    return True


json_values = st.recursive(
    st.none() | st.booleans() | ints | floats | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)


@EXAMPLES
@given(st.dictionaries(texts, json_values, max_size=4))
def test_untyped_dicts_round_trip_through_msgpack(value: dict[str, Any]) -> None:
    assert from_literal(to_literal(value, struct(), path="x"), struct()) == value
    assert from_literal(to_literal(value, struct(), path="x")) == value


@EXAMPLES
@given(st.timedeltas(min_value=dt.timedelta(days=-(10**6)), max_value=dt.timedelta(days=10**6)))
def test_every_duration_form_we_print_reads_back_the_same(delta: dt.timedelta) -> None:
    literal = to_literal(delta, DURATION, path="x")
    text = from_literal(literal)
    assert text == canonical_duration(delta)
    assert to_literal(text, DURATION, path="x") == literal
    if abs(delta) < dt.timedelta(days=1000):  # a double holds microseconds exactly up to here
        assert to_literal(delta.total_seconds(), DURATION, path="x") == literal

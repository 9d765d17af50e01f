"""Cross-checks against flytekit's TypeEngine: the same value as flytekit would get it in Python and
as a manifest gives it in YAML must make the same Literal (protobuf equality), for the LiteralType
flytekit registers. flytekit is the reference here; the codec never imports it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import typing
from typing import Annotated, Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.admin.literals import from_literal, to_literal
from reconciler.errors import LiteralError

flytekit = pytest.importorskip("flytekit")

from flytekit import FlyteContextManager  # noqa: E402
from flytekit.core.annotation import FlyteAnnotation  # noqa: E402
from flytekit.core.type_engine import TypeEngine  # noqa: E402
from flytekit.types.directory import FlyteDirectory  # noqa: E402
from flytekit.types.file import FlyteFile  # noqa: E402
from flytekit.types.structured import StructuredDataset  # noqa: E402

UTC = dt.timezone.utc


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclasses.dataclass
class Inner:
    a: int
    b: float = 1.5


@dataclasses.dataclass
class Everything:
    n: int
    s: str
    f: float
    flag: bool
    when: dt.datetime
    day: dt.date
    wait: dt.timedelta
    color: Color
    inner: Inner
    many: list[Inner]
    ints: list[int]
    floats: dict[str, float]
    maybe: int | None
    either: int | str
    file: FlyteFile
    folder: FlyteDirectory
    dataset: StructuredDataset
    ratio: float = 0.5


class Model(pydantic.BaseModel):
    n: int
    when: dt.datetime
    wait: dt.timedelta
    day: dt.date
    inner: Inner
    color: Color
    file: FlyteFile
    maybe: dt.timedelta | None = None


def flyte(python_value: Any, python_type: Any) -> tuple[Any, Any]:
    """(LiteralType, Literal) as flytekit makes them, both as flyteidl protobufs."""
    lt = TypeEngine.to_literal_type(python_type)
    ctx = FlyteContextManager.current_context()
    literal = TypeEngine.to_literal(ctx, python_value, python_type, lt)
    return lt.to_flyte_idl(), literal.to_flyte_idl()


EVERYTHING_PY = Everything(
    n=1,
    s="x",
    f=2.0,
    flag=True,
    when=dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    day=dt.date(2026, 1, 2),
    wait=dt.timedelta(minutes=90, milliseconds=5),
    color=Color.GREEN,
    inner=Inner(3),
    many=[Inner(4, 2.0)],
    ints=[1, 2],
    floats={"k": 1.0},
    maybe=None,
    either="s",
    file=FlyteFile("s3://b/f.csv"),
    folder=FlyteDirectory("s3://b/d"),
    dataset=StructuredDataset(uri="s3://b/sd"),
)
EVERYTHING_YAML = {
    "n": 1,
    "s": "x",
    "f": 2,
    "flag": True,
    "when": dt.datetime(2026, 1, 2, 3, 4, 5, 6),
    "day": dt.date(2026, 1, 2),
    "wait": "1h30m0.005s",
    "color": "green",
    "inner": {"a": 3},
    "many": [{"a": 4, "b": 2}],
    "ints": [1, 2],
    "floats": {"k": 1},
    "maybe": None,
    "either": "s",
    "file": "s3://b/f.csv",
    "folder": "s3://b/d",
    "dataset": "s3://b/sd",
}

CASES: list[tuple[str, Any, Any, Any]] = [
    ("int", int, 42, 42),
    ("negative int", int, -(2**63), -(2**63)),
    ("float", float, 2.5, 2.5),
    ("float from an integer", float, 2.0, 2),
    ("str", str, "eu", "eu"),
    ("bool", bool, False, False),
    (
        "datetime",
        dt.datetime,
        dt.datetime(2026, 11, 30, 6, tzinfo=UTC),
        dt.datetime(2026, 11, 30, 6, tzinfo=UTC),
    ),
    ("naive datetime", dt.datetime, dt.datetime(2026, 11, 30, 6), "2026-11-30T06:00:00Z"),
    ("date", dt.date, dt.date(2026, 11, 30), dt.date(2026, 11, 30)),
    ("timedelta", dt.timedelta, dt.timedelta(hours=1, minutes=30), "1h30m"),
    ("negative timedelta", dt.timedelta, -dt.timedelta(seconds=1.5), "-1.5s"),
    ("timedelta in seconds", dt.timedelta, dt.timedelta(seconds=90), 90),
    ("list[int]", list[int], [1, 2, 3], [1, 2, 3]),
    ("list[list[str]]", list[list[str]], [["a"], []], [["a"], []]),
    ("dict[str, float]", dict[str, float], {"a": 1.5, "b": 2.0}, {"a": 1.5, "b": 2}),
    ("enum", Color, Color.RED, "red"),
    ("Optional[int] with a value", int | None, 3, 3),
    ("Optional[int] with None", int | None, None, None),
    ("Union[int, str] int", int | str, 3, 3),
    ("Union[int, str] str", int | str, "3", "3"),
    ("Union[str, Color] prefers str", Color | str, "red", "red"),
    ("Union[float, int]", float | int, 3, 3),
    (
        "Optional[datetime]",
        dt.datetime | None,
        dt.datetime(2026, 1, 1, tzinfo=UTC),
        dt.datetime(2026, 1, 1),
    ),
    ("Optional[list[int]]", list[int] | None, [1], [1]),
    (
        "Optional[annotated int]",
        Annotated[int, FlyteAnnotation({"unit": "rows"})] | None,
        3,
        3,
    ),
    ("Optional[dict]", dict | None, {"a": [1]}, {"a": [1]}),
    ("FlyteFile", FlyteFile, "s3://b/k.csv", "s3://b/k.csv"),
    ("FlyteFile[csv]", FlyteFile[typing.TypeVar("csv")], "s3://b/k.csv", "s3://b/k.csv"),
    ("FlyteDirectory", FlyteDirectory, "s3://b/d/", "s3://b/d/"),
    ("StructuredDataset", StructuredDataset, StructuredDataset(uri="s3://b/sd"), "s3://b/sd"),
    (
        "StructuredDataset parquet",
        Annotated[StructuredDataset, "parquet"],
        StructuredDataset(uri="s3://b/sd"),
        "s3://b/sd",
    ),
    (
        "StructuredDataset with its own format",
        StructuredDataset,
        StructuredDataset(uri="s3://b/sd", file_format="csv"),
        {"uri": "s3://b/sd", "format": "csv"},
    ),
    ("untyped dict", dict, {"a": 1, "b": [True, None], "c": {"d": "x"}}, None),
    ("dataclass", Inner, Inner(1, 2.5), {"a": 1, "b": 2.5}),
    ("dataclass default filled", Inner, Inner(1), {"a": 1}),
    ("dataclass with every field type", Everything, EVERYTHING_PY, EVERYTHING_YAML),
    ("list of dataclasses", list[Inner], [Inner(1), Inner(2, 3.0)], [{"a": 1}, {"a": 2, "b": 3}]),
    ("Optional[dataclass]", Inner | None, Inner(1), {"a": 1}),
    ("Optional[dataclass] None", Inner | None, None, None),
    ("Union[dataclass, int]", Inner | int, Inner(2), {"a": 2}),
    (
        "pydantic model",
        Model,
        Model(
            n=1,
            when=dt.datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC),
            wait=dt.timedelta(days=1, seconds=5),
            day=dt.date(2026, 1, 2),
            inner=Inner(3),
            color=Color.RED,
            file=FlyteFile("s3://b/f"),
        ),
        {
            "n": 1,
            "when": "2026-01-02T03:04:05.6Z",
            "wait": "24h5s",
            "day": "2026-01-02",
            "inner": {"a": 3},
            "color": "red",
            "file": "s3://b/f",
        },
    ),
    (
        "Optional[pydantic model]",
        Model | None,
        Model(
            n=1,
            when=dt.datetime(2026, 1, 2, tzinfo=UTC),
            wait=dt.timedelta(seconds=1),
            day=dt.date(2026, 1, 2),
            inner=Inner(3, 4.0),
            color=Color.RED,
            file=FlyteFile("s3://b/f"),
            maybe=dt.timedelta(minutes=1),
        ),
        {
            "n": 1,
            "when": dt.datetime(2026, 1, 2),
            "wait": 1,
            "day": dt.date(2026, 1, 2),
            "inner": {"a": 3, "b": 4},
            "color": "red",
            "file": "s3://b/f",
            "maybe": "PT1M",
        },
    ),
]


@pytest.mark.parametrize(
    ("python_type", "python_value", "yaml_value"),
    [pytest.param(t, p, y, id=name) for name, t, p, y in CASES],
)
def test_same_literal_as_flytekit(python_type: Any, python_value: Any, yaml_value: Any) -> None:
    yaml_value = python_value if yaml_value is None else yaml_value
    lt, expected = flyte(python_value, python_type)
    assert to_literal(yaml_value, lt, path="inputs.x") == expected


@pytest.mark.parametrize(
    ("python_type", "python_value"),
    [pytest.param(t, p, id=name) for name, t, p, _ in CASES],
)
def test_flytekit_literals_read_back_to_what_we_write(python_type: Any, python_value: Any) -> None:
    lt, literal = flyte(python_value, python_type)
    assert to_literal(from_literal(literal, lt), lt, path="x") == literal


@pytest.mark.parametrize(
    ("python_type", "python_value", "yaml_value"),
    [
        (Inner, Inner(1, 2.0), {"a": 1, "b": 2}),
        (dict, {"a": 1, "nested": {"b": [1, "x"]}}, {"a": 1, "nested": {"b": [1, "x"]}}),
    ],
    ids=["dataclass", "untyped dict"],
)
def test_types_from_before_msgpack_get_a_json_struct(
    monkeypatch: pytest.MonkeyPatch, python_type: Any, python_value: Any, yaml_value: Any
) -> None:
    # flytekit < 1.14 registered STRUCTs without the msgpack annotation and wrote JSON Structs;
    # flytekit 1.16 still writes those when FLYTE_USE_OLD_DC_FORMAT is set.
    monkeypatch.setenv("FLYTE_USE_OLD_DC_FORMAT", "true")
    lt, expected = flyte(python_value, python_type)
    lt.ClearField("annotation")
    assert to_literal(yaml_value, lt, path="x") == expected
    assert from_literal(expected, lt) == yaml_value


def test_field_order_matters_only_for_bytes() -> None:
    lt, expected = flyte(Inner(1, 2.0), Inner)
    reordered = to_literal({"b": 2.0, "a": 1}, lt, path="x")
    assert reordered != expected  # documented: msgpack keys follow the manifest
    assert from_literal(reordered, lt) == from_literal(expected, lt)


def test_a_bare_local_path_is_refused_and_the_message_says_how_to_give_one(tmp_path: Any) -> None:
    local = tmp_path / "data.csv"
    local.write_text("a\n")
    lt = TypeEngine.to_literal_type(FlyteFile).to_flyte_idl()
    with pytest.raises(LiteralError, match=r"a local file is given as \{path: ./file\}"):
        to_literal(str(local), lt, path="inputs.data")


def test_flytekit_refuses_an_integer_for_float_we_accept_it() -> None:
    lt = TypeEngine.to_literal_type(float)
    ctx = FlyteContextManager.current_context()
    with pytest.raises(TypeError):
        TypeEngine.to_literal(ctx, 1, float, lt)
    assert to_literal(1, lt.to_flyte_idl(), path="x") == flyte(1.0, float)[1]


def test_ambiguous_unions_are_refused_by_both() -> None:
    python_type = FlyteFile | FlyteDirectory
    lt = TypeEngine.to_literal_type(python_type)
    ctx = FlyteContextManager.current_context()
    with pytest.raises(TypeError, match="Ambiguous"):
        TypeEngine.to_literal(ctx, "s3://b/k", python_type, lt)
    with pytest.raises(LiteralError, match="fits more than one variant"):
        to_literal("s3://b/k", lt.to_flyte_idl(), path="x")


SCALARS: list[tuple[Any, st.SearchStrategy[Any]]] = [
    (int, st.integers(-(2**63), 2**63 - 1)),
    (float, st.floats(allow_nan=False)),
    (str, st.text()),
    (bool, st.booleans()),
    (dt.datetime, st.datetimes(timezones=st.just(UTC))),
    # protobuf's Duration (and so Flyte) spans +-10,000 years; longer is refused by both
    (
        dt.timedelta,
        st.timedeltas(
            min_value=-dt.timedelta(days=3_652_425), max_value=dt.timedelta(days=3_652_425)
        ),
    ),
    (list[int], st.lists(st.integers(-(2**63), 2**63 - 1), max_size=5)),
    (dict[str, float], st.dictionaries(st.text(), st.floats(allow_nan=False), max_size=5)),
    (int | None, st.none() | st.integers(-(2**63), 2**63 - 1)),
    (int | str, st.integers(-(2**63), 2**63 - 1) | st.text()),
]


@pytest.mark.parametrize(("python_type", "values"), SCALARS, ids=[str(t) for t, _ in SCALARS])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_generated_values_match_flytekit(
    python_type: Any, values: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    value = data.draw(values)
    lt, expected = flyte(value, python_type)
    assert to_literal(value, lt, path="x") == expected

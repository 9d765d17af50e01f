"""The literal codec on hand-built LiteralTypes: what each type accepts, writes and refuses."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgpack
import pytest
from flyteidl.core import literals_pb2, types_pb2

from reconciler.admin.literals import from_literal, literal_type_name, to_literal, to_literal_map
from reconciler.errors import LiteralError, ReconcilerError
from tests.admin.ltypes import (
    BOOL,
    DATASET,
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


def convert(value: Any, lt: Any, path: str = "inputs.x", **kw: Any) -> Any:
    return to_literal(value, lt, path=path, **kw)


def problem(value: Any, lt: Any, path: str = "inputs.x", **kw: Any) -> str:
    with pytest.raises(LiteralError) as caught:
        to_literal(value, lt, path=path, **kw)
    return str(caught.value)


def problems(value: Any, lt: Any, path: str = "inputs.x") -> list[str]:
    with pytest.raises(LiteralError) as caught:
        to_literal(value, lt, path=path)
    return [str(p) for p in caught.value.problems]


def primitive(lit: Any) -> Any:
    which = lit.scalar.primitive.WhichOneof("value")
    return getattr(lit.scalar.primitive, which)


def unpack(lit: Any) -> Any:
    assert lit.scalar.binary.tag == "msgpack"
    return msgpack.unpackb(lit.scalar.binary.value)


# ---------------------------------------------------------------------------------------------
# Primitives


def test_int_is_written_as_a_primitive_integer() -> None:
    assert primitive(convert(10, INT)) == 10
    assert convert(-(2**63), INT).scalar.primitive.integer == -(2**63)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ten", "inputs.x: expected int, got the string 'ten'"),
        ("10", "inputs.x: expected int, got the string '10' (remove the quotes)"),
        (3.0, "inputs.x: expected int, got the number 3.0 (write it without a decimal point)"),
        (2.5, "inputs.x: expected int, got the number 2.5"),
        (True, "inputs.x: expected int, got the boolean true"),
        (None, "inputs.x: expected int, got null"),
        (2**63, "inputs.x: expected int (64-bit), got the integer 9223372036854775808"),
        ([1], "inputs.x: expected int, got a list of 1 item(s)"),
    ],
)
def test_int_refuses_what_is_not_an_integer(value: Any, message: str) -> None:
    assert problem(value, INT) == message


def test_float_accepts_integers_and_writes_a_float() -> None:
    lit = convert(1, FLOAT)
    assert lit.scalar.primitive.WhichOneof("value") == "float_value"
    assert lit.scalar.primitive.float_value == 1.0
    assert from_literal(lit, FLOAT) == 1.0
    assert isinstance(from_literal(lit, FLOAT), float)


@pytest.mark.parametrize("value", ["1.5", True, None, {}])
def test_float_refuses_non_numbers(value: Any) -> None:
    assert problem(value, FLOAT).startswith("inputs.x: expected float, got ")


def test_str_refuses_numbers_and_suggests_quoting() -> None:
    assert primitive(convert("eu", STR)) == "eu"
    assert problem(1.0, STR) == (
        "inputs.x: expected str, got the number 1.0 (quote it in YAML to make it a string)"
    )
    assert "got the boolean false" in problem(False, STR)


def test_bool_is_only_true_or_false() -> None:
    assert primitive(convert(True, BOOL)) is True
    assert problem("true", BOOL) == "inputs.x: expected bool, got the string 'true'"
    assert problem(1, BOOL) == "inputs.x: expected bool, got the integer 1"


def test_none_type_takes_only_null() -> None:
    assert convert(None, NONE).scalar.WhichOneof("value") == "none_type"
    assert from_literal(convert(None, NONE), NONE) is None
    assert problem(0, NONE) == "inputs.x: expected None, got the integer 0"


# ---------------------------------------------------------------------------------------------
# Datetimes and durations


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2026, 11, 30, 6, 0, tzinfo=UTC),
        dt.datetime(2026, 11, 30, 6, 0),  # naive: UTC
        dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "2026-11-30T06:00:00Z",
        "2026-11-30T06:00:00z",
        "2026-11-30T06:00:00+00:00",
        "2026-11-30 06:00:00",
        "2026-11-30T07:00:00+01:00",
    ],
)
def test_datetime_accepts_timestamps_and_iso_strings_as_utc(value: Any) -> None:
    lit = convert(value, DATETIME)
    assert lit.scalar.primitive.datetime.seconds == int(
        dt.datetime(2026, 11, 30, 6, tzinfo=UTC).timestamp()
    )
    assert from_literal(lit, DATETIME) == dt.datetime(2026, 11, 30, 6, tzinfo=UTC)
    assert from_literal(lit, DATETIME).tzinfo is UTC


def test_datetime_takes_a_date_as_midnight_utc() -> None:
    lit = convert(dt.date(2026, 11, 30), DATETIME)
    assert from_literal(lit) == dt.datetime(2026, 11, 30, tzinfo=UTC)


def test_datetime_keeps_microseconds() -> None:
    moment = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert from_literal(convert(moment, DATETIME)) == moment


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", 1700000000, None])
def test_datetime_refuses_what_is_not_a_timestamp(value: Any) -> None:
    assert problem(value, DATETIME).startswith("inputs.x: expected datetime, got ")


@pytest.mark.parametrize(
    ("value", "seconds", "canonical"),
    [
        ("1h30m", 5400, "1h30m"),
        ("90s", 90, "1m30s"),
        ("1.5h", 5400, "1h30m"),
        ("2d", 172800, "48h"),
        ("500ms", 0.5, "0.5s"),
        ("1m0.25s", 60.25, "1m0.25s"),
        ("-5s", -5, "-5s"),
        ("PT1H", 3600, "1h"),
        ("P1DT2H", 93600, "26h"),
        ("pt0.5s", 0.5, "0.5s"),
        (90, 90, "1m30s"),
        (0.001, 0.001, "0.001s"),
        (0, 0, "0s"),
        (dt.timedelta(minutes=2), 120, "2m"),
    ],
)
def test_duration_forms(value: Any, seconds: float, canonical: str) -> None:
    lit = convert(value, DURATION)
    assert lit.scalar.primitive.duration.ToTimedelta() == dt.timedelta(seconds=seconds)
    assert from_literal(lit, DURATION) == canonical
    assert convert(canonical, DURATION) == lit


@pytest.mark.parametrize("value", ["soon", "1x", "1h 30m", "", "1ns", True, None, [90]])
def test_duration_refuses_other_values(value: Any) -> None:
    assert problem(value, DURATION).startswith("inputs.x: expected duration, got ")


# Found by fuzzing (tests/fuzz): values beyond what Python's datetime or protobuf's Timestamp and
# Duration hold raised OverflowError, an internal error, instead of naming the input.
@pytest.mark.parametrize(
    ("value", "lt", "hint"),
    [
        (dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5))), DATETIME, "years 1"),
        ("0001-01-01T00:00:00+05:00", DATETIME, "years 1 to 9999"),
        ("9999-12-31T23:00:00-05:00", DATETIME, "years 1 to 9999"),
        (10**20, DURATION, "10,000 years"),
        ("9" * 30 + "h", DURATION, "10,000 years"),
        ("P99999999D", DURATION, "10,000 years"),
        (dt.timedelta(days=999_999_999), DURATION, "10,000 years"),
        (10**400, FLOAT, "64-bit float"),
    ],
    ids=["tz-year-0", "iso-year-0", "iso-year-10000", "int", "go", "iso", "timedelta", "float"],
)
def test_values_beyond_the_representable_range_name_the_input(
    value: Any, lt: Any, hint: str
) -> None:
    message = problem(value, lt)
    assert message.startswith("inputs.x: expected "), message
    assert hint in message


def test_the_edges_of_the_representable_range_still_convert() -> None:
    first = dt.datetime(1, 1, 1, tzinfo=UTC)
    assert convert("0001-01-01T00:00:00-05:00", DATETIME).scalar.primitive.datetime.seconds == (
        convert(first + dt.timedelta(hours=5), DATETIME).scalar.primitive.datetime.seconds
    )
    longest = dt.timedelta(seconds=315_576_000_000)
    assert convert(longest, DURATION).scalar.primitive.duration.ToTimedelta() == longest


def test_duration_literal_with_nanoseconds_reads_back_exactly() -> None:
    lit = literals_pb2.Literal(
        scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(duration={"nanos": 1500}))
    )
    assert from_literal(lit) == "0.0000015s"


# ---------------------------------------------------------------------------------------------
# Collections, maps, enums


def test_list_collects_every_bad_item() -> None:
    lit = convert([1, 2], list_of(INT))
    assert [item.scalar.primitive.integer for item in lit.collection.literals] == [1, 2]
    assert problem([1, "two", 3, None], list_of(INT), path="inputs.limit") == (
        "inputs.limit[1]: expected int, got the string 'two'; "
        "inputs.limit[3]: expected int, got null"
    )
    assert problem("1,2", list_of(INT)) == "inputs.x: expected list[int], got the string '1,2'"


def test_nested_lists_and_maps_name_the_inner_path() -> None:
    lt = map_of(list_of(FLOAT))
    assert from_literal(convert({"a": [1, 2.5]}, lt), lt) == {"a": [1.0, 2.5]}
    assert problem({"a": [1, "x"], "b c": ["y"]}, lt) == (
        "inputs.x.a[1]: expected float, got the string 'x'; "
        "inputs.x[\"b c\"][0]: expected float, got the string 'y'"
    )


def test_map_keys_must_be_strings() -> None:
    assert problem({1: 2}, map_of(INT)) == (
        "inputs.x: keys of map[str, int] must be strings, got 1"
    )


def test_empty_list_and_map() -> None:
    assert from_literal(convert([], list_of(STR)), list_of(STR)) == []
    assert from_literal(convert({}, map_of(STR)), map_of(STR)) == {}


def test_enum_takes_one_of_its_values() -> None:
    lt = enum_of("RED", "GREEN")
    assert primitive(convert("GREEN", lt)) == "GREEN"
    assert problem("BLUE", lt) == "inputs.x: expected enum {RED, GREEN}, got the string 'BLUE'"
    assert problem(1, lt).startswith("inputs.x: expected enum {RED, GREEN}")


# ---------------------------------------------------------------------------------------------
# Optional and unions


def test_optional_writes_a_union_with_the_variant_as_stored_type() -> None:
    lt = optional(INT)
    lit = convert(5, lt)
    assert lit.scalar.union.value.scalar.primitive.integer == 5
    assert lit.scalar.union.type == lt.union_type.variants[0]
    assert lit.scalar.union.type.structure.tag == "int"
    empty = convert(None, lt)
    assert empty.scalar.union.value.scalar.WhichOneof("value") == "none_type"
    assert empty.scalar.union.type == lt.union_type.variants[1]
    assert from_literal(lit, lt) == 5
    assert from_literal(empty, lt) is None


def test_optional_names_itself_in_errors() -> None:
    assert problem("x", optional(INT)) == "inputs.x: expected Optional[int], got the string 'x'"


def test_optional_struct_reports_the_field_inside() -> None:
    lt = optional(dataclass_struct("DC", {"a": INT}))
    assert problem({"a": "one"}, lt) == "inputs.x.a: expected int, got the string 'one'"


def test_union_prefers_the_exact_type_as_flytekit_does() -> None:
    lt = union_of(FLOAT, INT)
    assert convert(1, lt).scalar.union.type.simple == types_pb2.SimpleType.INTEGER
    assert convert(1.0, lt).scalar.union.type.simple == types_pb2.SimpleType.FLOAT


def test_union_prefers_str_over_an_enum_for_a_string() -> None:
    lt = union_of(enum_of("a", "b"), STR)
    assert convert("a", lt).scalar.union.type.simple == types_pb2.SimpleType.STRING


def test_union_falls_back_to_manifest_conveniences_in_variant_order() -> None:
    # No variant takes the integer exactly; float takes it as a convenience.
    assert convert(1, union_of(FLOAT, STR)).scalar.union.value.scalar.primitive.float_value == 1.0
    # A string fits str exactly, so it stays a string even though it parses as a datetime.
    lit = convert("2026-01-01T00:00:00Z", union_of(DATETIME, STR))
    assert lit.scalar.union.type.simple == types_pb2.SimpleType.STRING
    # Without a str variant the ISO string becomes a datetime.
    lit = convert("2026-01-01T00:00:00Z", optional(DATETIME))
    assert lit.scalar.union.type.simple == types_pb2.SimpleType.DATETIME
    assert from_literal(convert("90s", optional(DURATION))) == "1m30s"


def test_union_refuses_an_ambiguous_value_like_flytekit() -> None:
    lt = union_of(FILE, DIRECTORY)
    assert problem("s3://b/k", lt) == (
        "inputs.x: the string 's3://b/k' fits more than one variant of "
        "union[blob (single file), blob (multipart directory)] (blob (single file), "
        "blob (multipart directory)); flytekit refuses ambiguous unions"
    )


def test_union_without_a_fitting_variant() -> None:
    assert problem([1], union_of(INT, STR)) == (
        "inputs.x: expected union[int, str], got a list of 1 item(s)"
    )


# ---------------------------------------------------------------------------------------------
# Blobs and structured datasets


def test_blob_takes_a_uri_and_the_input_blob_type() -> None:
    csv = types_pb2.LiteralType(blob=types_pb2.BlobType(format="csv"))
    lit = convert("s3://bucket/key.csv", csv)
    assert lit.scalar.blob.uri == "s3://bucket/key.csv"
    assert lit.scalar.blob.metadata.type == csv.blob
    assert from_literal(lit, csv) == "s3://bucket/key.csv"
    directory = convert("gs://bucket/dir/", DIRECTORY)
    assert directory.scalar.blob.metadata.type.dimensionality == types_pb2.BlobType.MULTIPART


@pytest.mark.parametrize("value", ["/tmp/data.csv", "data.csv", "", 3, None])
def test_blob_refuses_local_paths_and_non_strings(value: Any) -> None:
    assert problem(value, FILE).startswith("inputs.x: expected blob (single file), got ")


def test_structured_dataset_copies_the_input_type() -> None:
    lt = types_pb2.LiteralType(
        structured_dataset_type=types_pb2.StructuredDatasetType(
            format="parquet",
            columns=[types_pb2.StructuredDatasetType.DatasetColumn(name="a", literal_type=INT)],
        )
    )
    lit = convert("s3://b/sd", lt)
    assert lit.scalar.structured_dataset.uri == "s3://b/sd"
    assert lit.scalar.structured_dataset.metadata.structured_dataset_type == (
        lt.structured_dataset_type
    )
    assert from_literal(lit, lt) == "s3://b/sd"
    assert convert({"uri": "s3://b/sd", "format": "parquet"}, lt) == lit
    assert problem({"uri": "s3://b/sd", "format": "csv"}, lt) == (
        "inputs.x: format 'csv' contradicts the input's format 'parquet'"
    )


def test_structured_dataset_format_fills_a_generic_type() -> None:
    lit = convert({"uri": "s3://b/sd", "format": "csv"}, DATASET)
    assert lit.scalar.structured_dataset.metadata.structured_dataset_type.format == "csv"
    assert from_literal(lit, DATASET) == {"uri": "s3://b/sd", "format": "csv"}


# ---------------------------------------------------------------------------------------------
# Structs


def test_untyped_msgpack_struct_writes_the_mapping() -> None:
    lit = convert({"a": 1, "b": [True, None, "x"], "c": {"d": 1.5}}, struct())
    assert unpack(lit) == {"a": 1, "b": [True, None, "x"], "c": {"d": 1.5}}
    assert from_literal(lit, struct()) == {"a": 1, "b": [True, None, "x"], "c": {"d": 1.5}}


def test_untyped_struct_turns_yaml_timestamps_into_iso_strings() -> None:
    lit = convert({"when": dt.datetime(2026, 1, 1), "day": dt.date(2026, 1, 2)}, struct())
    assert unpack(lit) == {"when": "2026-01-01T00:00:00+00:00", "day": "2026-01-02"}


def test_struct_without_msgpack_annotation_is_a_json_struct() -> None:
    lt = struct(msgpack=False)
    lit = convert({"a": 1, "b": "x"}, lt)
    assert lit.scalar.WhichOneof("value") == "generic"
    assert dict(lit.metadata) == {"format": "json"}
    assert from_literal(lit, lt) == {"a": 1, "b": "x"}


def test_struct_refuses_non_mappings_and_non_string_keys() -> None:
    assert problem([1], struct()) == "inputs.x: expected struct, got a list of 1 item(s)"
    assert problem({"a": {1: 2}}, struct()) == (
        "inputs.x.a: keys of a struct must be strings, got 1"
    )


DC = dataclass_struct(
    "DC",
    {
        "n": INT,
        "f": FLOAT,
        "when": DATETIME,
        "day": DATETIME,
        "wait": DURATION,
        "file": FILE,
        "tags": list_of(STR),
        "opt": optional(INT),
        "ratio": FLOAT,
    },
    day={"type": "string", "format": "date"},
    wait={"type": "number", "format": "time-delta"},
    ratio={"type": "number", "default": 0.5},
)


def test_dataclass_fields_are_written_as_mashumaro_does() -> None:
    value = {
        "n": 1,
        "f": 2,
        "when": "2026-01-02T03:04:05Z",
        "day": dt.date(2026, 1, 2),
        "wait": "1m30s",
        "file": "s3://b/f",
        "tags": ["a"],
        "opt": None,
    }
    assert unpack(convert(value, DC)) == {
        "n": 1,
        "f": 2.0,
        "when": "2026-01-02T03:04:05+00:00",
        "day": "2026-01-02",
        "wait": 90.0,
        "file": {"path": "s3://b/f"},
        "tags": ["a"],
        "opt": None,
        "ratio": 0.5,
    }
    assert from_literal(convert(value, DC), DC) == {
        **value,
        "f": 2.0,
        "when": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "ratio": 0.5,
    }


def test_dataclass_reports_every_field_problem() -> None:
    assert problems({"n": "one", "tgas": [], "opt": 1.5}, DC) == [
        "inputs.x.n: expected int, got the string 'one'",
        "inputs.x.tgas: unknown field; did you mean 'tags'? known fields: day, f, file, n, "
        "opt, ratio, tags, wait, when",
        "inputs.x.opt: expected Optional[int], got the number 1.5",
        "inputs.x.f: missing required field (float)",
        "inputs.x.when: missing required field (datetime)",
        "inputs.x.day: missing required field (datetime)",
        "inputs.x.wait: missing required field (duration)",
        "inputs.x.file: missing required field (blob (single file))",
        "inputs.x.tags: missing required field (list[str])",
    ]


def test_nested_struct_uses_its_own_type() -> None:
    inner = dataclass_struct("Inner", {"a": INT, "b": FLOAT}, b={"type": "number", "default": 1})
    outer = dataclass_struct("Outer", {"inner": inner, "many": list_of(inner)})
    lit = convert({"inner": {"a": 1}, "many": [{"a": 2, "b": 3}]}, outer)
    assert unpack(lit) == {"inner": {"a": 1, "b": 1.0}, "many": [{"a": 2, "b": 3.0}]}
    assert problems({"inner": {"a": 1.5}, "many": [{"b": 1}]}, outer) == [
        "inputs.x.inner.a: expected int, got the number 1.5",
        "inputs.x.many[0].a: missing required field (int)",
    ]


def test_pydantic_models_write_z_datetimes_and_iso_durations() -> None:
    schema = {
        "type": "object",
        "title": "Model",
        "properties": {
            "when": {"type": "string", "format": "date-time", "title": "When"},
            "wait": {"type": "string", "format": "duration", "title": "Wait"},
        },
        "required": ["when", "wait"],
    }
    lt = struct({"when": DATETIME, "wait": DURATION}, schema)
    lit = convert({"when": dt.datetime(2026, 1, 2), "wait": 90}, lt)
    assert unpack(lit) == {"when": "2026-01-02T00:00:00Z", "wait": "PT1M30S"}
    assert from_literal(lit, lt) == {
        "when": dt.datetime(2026, 1, 2, tzinfo=UTC),
        "wait": "1m30s",
    }


def test_json_struct_restores_typed_numbers() -> None:
    lt = dataclass_struct("DC", {"n": INT, "f": FLOAT})
    lt.ClearField("annotation")
    lit = convert({"n": 3, "f": 2}, lt)
    assert lit.scalar.WhichOneof("value") == "generic"
    assert not lit.metadata
    assert from_literal(lit, lt) == {"n": 3, "f": 2.0}
    assert isinstance(from_literal(lit, lt)["n"], int)
    assert isinstance(from_literal(lit, lt)["f"], float)


def test_union_field_inside_a_struct_reads_back_as_written() -> None:
    lt = dataclass_struct("DC", {"u": union_of(STR, DATETIME), "v": union_of(INT, DATETIME)})
    value = {"u": "2026-01-01T00:00:00+00:00", "v": dt.datetime(2026, 1, 1, tzinfo=UTC)}
    assert from_literal(convert(value, lt), lt) == value


# ---------------------------------------------------------------------------------------------
# Input maps, redaction, names


def test_literal_map_converts_every_input() -> None:
    literal_map = to_literal_map(
        {"limit": 10, "region": "eu"}, {"limit": INT, "region": STR}, where="spec.inputs"
    )
    assert literal_map.literals["limit"].scalar.primitive.integer == 10
    assert literal_map.literals["region"].scalar.primitive.string_value == "eu"


def test_literal_map_reports_unknown_inputs_and_bad_values_together() -> None:
    with pytest.raises(LiteralError) as caught:
        to_literal_map(
            {"limt": 10, "region": 3, "date": "x"},
            {"limit": INT, "region": STR, "date": DATETIME},
            where="spec.inputs",
        )
    assert tuple(str(p) for p in caught.value.problems) == (
        "spec.inputs.limt: unknown input; did you mean 'limit'? known inputs: date, limit, region",
        "spec.inputs.region: expected str, got the integer 3 "
        "(quote it in YAML to make it a string)",
        "spec.inputs.date: expected datetime, got the string 'x' (an ISO 8601 timestamp such as "
        "2024-01-31T06:00Z)",
    )
    assert isinstance(caught.value, ReconcilerError)


def test_literal_map_for_an_interface_without_inputs() -> None:
    with pytest.raises(LiteralError, match=r"spec.inputs.a: unknown input; there are no inputs"):
        to_literal_map({"a": 1}, {}, where="spec.inputs")


SECRET = "hunter2-ten"


@pytest.mark.parametrize(
    ("lt", "value"),
    [
        (INT, SECRET),
        (list_of(INT), [SECRET]),
        (map_of(INT), {"k": SECRET}),
        (optional(INT), SECRET),
        (union_of(INT, BOOL), SECRET),
        (enum_of("A"), SECRET),
        (dataclass_struct("DC", {"a": INT}), {"a": SECRET}),
        (FILE, SECRET),
        (DURATION, SECRET),
        (DATETIME, SECRET),
        (STR, 12345678),
    ],
)
def test_redacted_errors_never_show_the_value(lt: Any, value: Any) -> None:
    message = problem(value, lt, redact=True)
    assert SECRET not in message
    assert "12345678" not in message
    assert "expected" in message


def test_literal_map_redacts_only_the_named_inputs() -> None:
    with pytest.raises(LiteralError) as caught:
        to_literal_map(
            {"token": SECRET, "limit": "ten"},
            {"token": INT, "limit": INT},
            where="inputs",
            redact={"token"},
        )
    assert tuple(str(p) for p in caught.value.problems) == (
        "inputs.token: expected int, got a string",
        "inputs.limit: expected int, got the string 'ten'",
    )


@pytest.mark.parametrize(
    ("lt", "name"),
    [
        (INT, "int"),
        (FLOAT, "float"),
        (STR, "str"),
        (BOOL, "bool"),
        (DATETIME, "datetime"),
        (DURATION, "duration"),
        (NONE, "None"),
        (list_of(STR), "list[str]"),
        (map_of(FLOAT), "map[str, float]"),
        (optional(DATETIME), "Optional[datetime]"),
        (enum_of("A", "B"), "enum {A, B}"),
        (union_of(INT, STR), "union[int, str]"),
        (union_of(INT, STR, NONE), "union[int, str, None]"),
        (FILE, "blob (single file)"),
        (DIRECTORY, "blob (multipart directory)"),
        (types_pb2.LiteralType(blob=types_pb2.BlobType(format="csv")), "blob (single file, csv)"),
        (DATASET, "structured dataset"),
        (struct(), "struct"),
        (dataclass_struct("DC", {"a": INT}), "struct DC"),
        (types_pb2.LiteralType(), "unknown type"),
    ],
)
def test_literal_type_names(lt: Any, name: str) -> None:
    assert literal_type_name(lt) == name


def test_types_a_manifest_cannot_express_are_refused() -> None:
    assert problem(1, types_pb2.LiteralType()) == (
        "inputs.x: inputs of type unknown type cannot be given in a manifest"
    )
    schema = types_pb2.LiteralType(schema=types_pb2.SchemaType())
    assert problem("s3://x", schema) == (
        "inputs.x: inputs of type schema cannot be given in a manifest"
    )


# ---------------------------------------------------------------------------------------------
# Reading literals


def test_from_literal_without_a_type_reads_the_shape() -> None:
    lt = map_of(list_of(optional(DATETIME)))
    lit = convert({"a": [dt.datetime(2026, 1, 1), None]}, lt)
    assert from_literal(lit) == {"a": [dt.datetime(2026, 1, 1, tzinfo=UTC), None]}


def test_from_literal_reads_console_style_numbers_by_type() -> None:
    as_float = literals_pb2.Literal(
        scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(float_value=3.0))
    )
    as_int = literals_pb2.Literal(
        scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=3))
    )
    assert from_literal(as_float, INT) == 3
    assert isinstance(from_literal(as_float, INT), int)
    assert isinstance(from_literal(as_int, FLOAT), float)


def test_from_literal_odd_shapes() -> None:
    offloaded = literals_pb2.Literal(
        offloaded_metadata=literals_pb2.LiteralOffloadedMetadata(uri="s3://big")
    )
    assert from_literal(offloaded) == {"offloaded": "s3://big"}
    with pytest.raises(LiteralError, match=r"out: the literal holds no value"):
        from_literal(literals_pb2.Literal(), path="out")
    pickled = literals_pb2.Literal(
        scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=b"x", tag="pickle"))
    )
    with pytest.raises(LiteralError, match=r"binary literal in unknown format 'pickle'"):
        from_literal(pickled)

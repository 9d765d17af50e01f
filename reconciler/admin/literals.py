"""The literal codec: YAML values <-> flyteidl ``Literal``s, guided by the target's ``LiteralType``.

Inputs in manifests are plain YAML values; Admin wants ``flyteidl.core.Literal``s shaped exactly as
flytekit's ``TypeEngine`` would make them from the equivalent Python value, because the task that
reads them is a flytekit program. The interface (``LiteralType`` per input, as Admin returns it)
decides the shape; the YAML value only has to fit. flytekit itself is never imported here.

Mapping, per ``LiteralType`` (``to_literal`` reads the middle column, ``from_literal`` writes the
first form listed)::

    LiteralType              YAML value accepted                  Literal written
    -----------------------  -----------------------------------  ---------------------------------
    simple INTEGER  int      integer (not a bool, not 3.0)        scalar.primitive.integer
    simple FLOAT    float    number (an integer becomes a float)  scalar.primitive.float_value
    simple STRING   str      string                               scalar.primitive.string_value
    simple BOOLEAN  bool     true / false                         scalar.primitive.boolean
    simple DATETIME          timestamp, date (midnight), ISO      scalar.primitive.datetime (UTC)
                             string ("...Z", "+02:00"); naive
                             values are UTC
    simple DURATION          "1h30m" (Go units ns us ms s m h     scalar.primitive.duration
                             plus d), ISO 8601 "PT1H30M",
                             number of seconds; read back as the
                             canonical "1h30m" form
    simple NONE     None     null                                 scalar.none_type
    collection_type list[T]  sequence                             collection
    map_value_type  map[str, T]  mapping with string keys         map
    enum_type                one of the values (a string)         scalar.primitive.string_value
    union_type               a value fitting a variant (below)    scalar.union(value, type=variant)
    blob                     URI string "s3://b/k"                scalar.blob(uri, metadata.type =
                                                                  the input's BlobType)
    structured_dataset_type  URI string, or {uri, format}         scalar.structured_dataset(uri,
                                                                  metadata = the input's type)
    simple STRUCT + msgpack  mapping (fields typed by the         scalar.binary(msgpack, tag
      annotation             structure's ``dataclass_type`` and   "msgpack")
                             the JSON schema in ``metadata``)
    simple STRUCT, no        mapping                              scalar.generic (protobuf Struct);
      msgpack annotation                                          ``metadata {format: json}`` when
                                                                  the type carries no schema

Which STRUCT form: flytekit 1.14+ marks dataclasses, pydantic models and untyped ``dict`` with the
type annotation ``cache-key-metadata: {serialization-format: msgpack}`` and writes MessagePack
bytes; types registered by older flytekit lack it and expect a JSON ``Struct``. The annotation on
the target's type decides, so each task gets the form it was built to read.

Inside a struct, field values are written as mashumaro (dataclasses) or pydantic (``BaseModel``)
would write them: datetimes as ISO strings (``+00:00`` vs ``Z``), dates as ``YYYY-MM-DD`` (the
schema's ``format: date`` tells a date from a datetime), durations as float seconds (mashumaro) or
ISO 8601 strings (pydantic), files and directories as ``{"path": uri}``, structured datasets as
``{"uri": uri, "file_format": fmt}``, enums by value. The model kind is read off the outermost
JSON schema (pydantic titles every field and keeps nested models in ``$defs``; mashumaro titles only
nested dataclasses) and holds for the whole tree, as ``model_dump_json`` serializes nested
dataclasses too. Field types come from ``structure.dataclass_type``; a struct inside a union has
lost it to the variant's tag (flytekit's ``_add_tag_to_type``), so there they are read off the
schema. Fields left out of the manifest take the schema's ``default``; a missing required field or
an unknown field is an error.

Unions follow flytekit's ``UnionTransformer``: every variant is tried with flytekit's exact-type
rules (an ``int`` does not fit ``float``, a string does not fit ``datetime``); one match wins; when
several match, a string prefers the ``str`` variant, and anything else is refused as ambiguous,
as flytekit does. Only when no variant fits exactly are the manifest conveniences above (integer as
float, ISO string as datetime, "1h" as duration) tried, and the first variant that fits wins. The
literal's ``type`` is the declared variant, structure tag included, less any annotations a user's
``FlyteAnnotation`` added (flytekit records the transformer's own type there).

Values that do not fit raise :class:`reconciler.errors.LiteralError` listing every problem, each as
``path: expected TYPE, got DESCRIPTION`` (``inputs.limit[2]: expected int, got the string 'ten'``).
With ``redact`` the value itself never appears, only its kind (``got a string``): values resolved
from ``${env:...}`` are secrets.

Documented differences from flytekit's ``TypeEngine.to_literal`` (each tested against flytekit in
``tests/admin/test_literals_flytekit.py``):

- An integer is accepted for ``float`` (flytekit requires a Python ``float``); outside unions only.
  The other way round we agree with flytekit: ``3.0`` is not an ``int``, nor is ``true``.
- Strings are accepted for datetime and duration, dates for datetime (flytekit's ``date`` type has
  the same ``LiteralType`` and writes midnight UTC too).
- Blobs and structured datasets are URIs only here; flytekit uploads local files and dataframes,
  this codec refuses anything without a ``scheme://``. A whole Execution input may name a local
  file (``{path: ./file}``), which the planner uploads and replaces by its URI before it gets
  here (``reconciler.plan.files``). ``flyte://`` URIs are written as given
  (flytekit resolves them through the data proxy). A structured dataset ``format`` in the manifest
  that contradicts the input's format is an error (flytekit silently keeps the input's).
- MessagePack map keys follow the manifest's order, fields filled from defaults last; flytekit
  follows declaration order. The bytes are identical when the manifest lists the fields in
  declaration order; decoded values are identical always.
- A YAML timestamp inside an untyped ``dict`` (STRUCT without schema) is written as its ISO string;
  flytekit cannot serialize a ``datetime`` there at all.
- Only flytekit's default transformers are known; custom transformers and pickled values
  (``FlytePickle``) cannot be written from a manifest.
- ``Literal.hash`` is never set (flytekit sets it only for ``HashMethod`` annotations).

``from_literal`` reverses the table into YAML-able values: primitives, UTC-aware datetimes,
durations as canonical strings ("1h30m", "0.5s"), URIs for blobs, mappings for structs (typed fields
restored, e.g. an integral float from a JSON ``Struct`` back to an int where the field is an int).
Offloaded literals read as ``{"offloaded": uri}``; error scalars as ``{"error": message}``.
``from_literal(to_literal(v, t), t) == v`` for every canonical ``v``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, NoReturn, TypeAlias, TypeVar

import msgpack  # type: ignore[import-untyped]  # no stubs or py.typed
import pydantic
from flyteidl.core import literals_pb2, types_pb2
from google.protobuf import json_format, struct_pb2
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from reconciler.diagnostics import FieldPath
from reconciler.errors import LiteralError, LiteralProblem
from reconciler.jsontypes import JSON

__all__ = ["from_literal", "literal_type_name", "to_literal", "to_literal_map"]

Literal = literals_pb2.Literal
LiteralMap = literals_pb2.LiteralMap
LiteralType = types_pb2.LiteralType
SimpleType = types_pb2.SimpleType
Primitive = literals_pb2.Primitive

YamlValue: TypeAlias = JSON | dt.datetime | dt.date | list["YamlValue"] | dict[str, "YamlValue"]
"""What ``from_literal`` gives back: a value as a manifest writes it (YAML adds timestamps and dates
to JSON). What a manifest gives is checked here at runtime, so the readers take ``object``."""

_T = TypeVar("_T")
_V = TypeVar("_V")
_K = TypeVar("_K", int, str)
_UTC = dt.timezone.utc
_INT64 = range(-(2**63), 2**63)
_MSGPACK_TAG = "msgpack"
# How flytekit marks a STRUCT as MessagePack (flytekit.core.constants).
_CACHE_KEY_METADATA = "cache-key-metadata"
_SERIALIZATION_FORMAT = "serialization-format"
# Annotations flytekit's transformers put on types themselves (the rest come from users).
_TRANSFORMER_ANNOTATIONS = {_CACHE_KEY_METADATA, "literal_values"}
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://.+", re.DOTALL)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# One name per LiteralType shape; every table below is keyed by these.
_SIMPLE_KINDS = {
    SimpleType.NONE: "none",
    SimpleType.INTEGER: "int",
    SimpleType.FLOAT: "float",
    SimpleType.STRING: "str",
    SimpleType.BOOLEAN: "bool",
    SimpleType.DATETIME: "datetime",
    SimpleType.DURATION: "duration",
    SimpleType.BINARY: "binary",
    SimpleType.ERROR: "error",
    SimpleType.STRUCT: "struct",
}
_ONEOF_KINDS = {
    "schema": "schema",
    "collection_type": "list",
    "map_value_type": "map",
    "blob": "blob",
    "enum_type": "enum",
    "structured_dataset_type": "dataset",
    "union_type": "union",
}


def _kind(lt: LiteralType) -> str:
    which = lt.WhichOneof("type")
    if which == "simple":
        return _SIMPLE_KINDS.get(lt.simple, "unknown")
    return _ONEOF_KINDS.get(which, "unknown") if which else "unset"


# --------------------------------------------------------------------------------------------
# Public API


def to_literal(
    value: object, literal_type: LiteralType, *, path: str, redact: bool = False
) -> Literal:
    """The ``Literal`` flytekit would make for ``value`` as an input of type ``literal_type``.

    ``path`` names the value in messages (``inputs.limit``); ``redact`` keeps the value out of them.
    Raises :class:`LiteralError` listing every place the value does not fit.
    """
    try:
        return _encode(value, literal_type, _At.start(path, redact))
    except _Mismatch as exc:
        raise LiteralError(exc.problems) from None


def to_literal_map(
    values: Mapping[str, object],
    interface: Mapping[str, LiteralType],
    *,
    where: str,
    redact: bool | Collection[str] = False,
) -> LiteralMap:
    """A ``LiteralMap`` of ``values``, each converted by its type in ``interface`` (name -> type).

    ``where`` prefixes every path (``spec.inputs``). ``redact`` is ``True`` for every value or the
    names of the inputs whose values are secret. Unknown names and values that do not fit are all
    reported together in one :class:`LiteralError`.
    """
    problems: list[LiteralProblem] = []
    literals: dict[str, Literal] = {}
    for name, value in values.items():
        at = _At.start(where, redact is True or (not isinstance(redact, bool) and name in redact))
        at = at.key(name)
        literal_type = interface.get(name)
        if literal_type is None:
            problems.append(at.problem(f"unknown input; {_known('inputs', interface, name)}"))
            continue
        try:
            literals[name] = _encode(value, literal_type, at)
        except _Mismatch as exc:
            problems.extend(exc.problems)
    if problems:
        raise LiteralError(problems)
    return LiteralMap(literals=literals)


def from_literal(
    literal: Literal, literal_type: LiteralType | None = None, *, path: str = "value"
) -> YamlValue:
    """The YAML-able value behind ``literal``; ``literal_type`` (optional) restores typed details.

    Raises :class:`LiteralError` for literals no manifest value could stand for (binary data in an
    unknown format, an empty literal).
    """
    try:
        return _decode(literal, literal_type, _At.start(path, redact=False))
    except _Mismatch as exc:
        raise LiteralError(exc.problems) from None


def literal_type_name(literal_type: LiteralType) -> str:
    """A short, Python-like name for messages: ``list[str]``, ``Optional[datetime]``, ..."""
    return _NAMERS.get(_kind(literal_type), _name_simple)(literal_type)


# --------------------------------------------------------------------------------------------
# Where a value sits, and how problems are reported


@dataclasses.dataclass(frozen=True)
class _At:
    path: str
    redact: bool
    # Inside a union's first pass: flytekit's exact-type rules, no manifest conveniences.
    strict: bool = False
    # Inside a struct that pydantic (rather than mashumaro) serializes.
    pydantic: bool = False
    parts: FieldPath = ()
    """``path`` as keys and indexes, for diagnostics placed on the manifest's field."""

    @classmethod
    def start(cls, path: str, redact: bool) -> _At:
        """At ``path``, a dotted path of plain names (``spec.inputs``)."""
        return cls(path, redact, parts=tuple(p for p in path.split(".") if p))

    def key(self, name: str) -> _At:
        if _IDENTIFIER.fullmatch(name):
            step = f".{name}" if self.path else name
        else:
            step = '["' + name.replace("\\", "\\\\").replace('"', '\\"') + '"]'
        return dataclasses.replace(self, path=self.path + step, parts=(*self.parts, name))

    def index(self, i: int) -> _At:
        return dataclasses.replace(self, path=f"{self.path}[{i}]", parts=(*self.parts, i))

    def problem(self, message: str) -> LiteralProblem:
        return LiteralProblem(self.parts, message, self.path)


class _Mismatch(Exception):
    """Internal: problems found while converting; the public functions wrap them."""

    def __init__(self, problems: Sequence[LiteralProblem]) -> None:
        super().__init__(problems)
        self.problems = list(problems)


def _fail(at: _At, expected: str, value: object, hint: str = "") -> NoReturn:
    hint = "" if at.redact else hint
    raise _Mismatch([at.problem(f"expected {expected}, got {_describe(value, at.redact)}{hint}")])


# (kind, redacted description, full description) in the order isinstance must try them. A row's
# function takes the row's kind, which a Callable type cannot say: hence Any.
_DESCRIPTIONS: list[tuple[type | tuple[type, ...], str, Callable[[Any], str]]] = [
    (bool, "a boolean", lambda v: f"the boolean {str(v).lower()}"),
    (int, "an integer", lambda v: f"the integer {v}"),
    (float, "a number", lambda v: f"the number {v!r}"),
    (str, "a string", lambda v: f"the string {_clip(v)!r}"),
    (dt.datetime, "a timestamp", lambda v: f"the timestamp {v.isoformat()}"),
    (dt.date, "a date", lambda v: f"the date {v.isoformat()}"),
    (dt.timedelta, "a duration", lambda v: f"the duration {v}"),
    (bytes, "binary data", lambda v: "binary data"),
    (list, "a list", lambda v: f"a list of {len(v)} item(s)"),
    (Mapping, "a mapping", lambda v: f"a mapping with keys {_clip(', '.join(map(str, v)))}"),
]


def _describe(value: object, redact: bool) -> str:
    """``the string 'ten'``; with ``redact`` only the kind: ``a string``."""
    if value is None:
        return "null"
    for kind, redacted, shown in _DESCRIPTIONS:
        if isinstance(value, kind):
            return redacted if redact else shown(value)
    return f"a value of type {type(value).__name__}"


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _known(what: str, names: Collection[str], name: str) -> str:
    if not names:
        return f"there are no {what}"
    close = difflib.get_close_matches(name, list(names), n=1)
    guess = f"did you mean {close[0]!r}? " if close else ""
    return f"{guess}known {what}: {', '.join(sorted(names))}"


# --------------------------------------------------------------------------------------------
# Readers: a YAML value -> the Python value of one kind (shared by literals and struct fields)


def _read_int(value: object, lt: LiteralType, at: _At) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        if value not in _INT64:
            _fail(at, "int (64-bit)", value)
        return value
    hint = ""
    if isinstance(value, float) and value.is_integer():
        hint = " (write it without a decimal point)"
    elif isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        hint = " (remove the quotes)"
    _fail(at, literal_type_name(lt), value, hint)


def _read_float(value: object, lt: LiteralType, at: _At) -> float:
    if isinstance(value, float) or (
        not at.strict and isinstance(value, int) and not isinstance(value, bool)
    ):
        try:
            return float(value)
        except OverflowError:  # an integer beyond a 64-bit float's range
            _fail(at, literal_type_name(lt), value, " (too large for a 64-bit float)")
    hint = ""
    if isinstance(value, str) and _is_number(value):
        hint = " (remove the quotes)"
    _fail(at, literal_type_name(lt), value, hint)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_str(value: object, lt: LiteralType, at: _At) -> str:
    if isinstance(value, str):
        return value
    hint = ""
    if isinstance(value, (bool, int, float, dt.date)):
        hint = " (quote it in YAML to make it a string)"
    _fail(at, literal_type_name(lt), value, hint)


def _read_bool(value: object, lt: LiteralType, at: _At) -> bool:
    if isinstance(value, bool):
        return value
    _fail(at, literal_type_name(lt), value)


def _read_none(value: object, lt: LiteralType, at: _At) -> None:
    if value is not None:
        _fail(at, literal_type_name(lt), value)


def _read_datetime(value: object, lt: LiteralType, at: _At) -> dt.datetime:
    """An aware UTC datetime; naive values are UTC (as protobuf's ``Timestamp.FromDatetime``)."""
    if isinstance(value, dt.datetime):
        moment = value
    elif at.strict:
        _fail(at, literal_type_name(lt), value)
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time.min)
    elif isinstance(value, str) and (parsed := _parse_datetime(value)) is not None:
        moment = parsed
    else:
        _fail(
            at, literal_type_name(lt), value, " (an ISO 8601 timestamp such as 2024-01-31T06:00Z)"
        )
    try:
        return moment.replace(tzinfo=_UTC) if moment.tzinfo is None else moment.astimezone(_UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 is in the year 0 in UTC
        _fail(at, literal_type_name(lt), value, _TIME_RANGE)


def _parse_datetime(text: str) -> dt.datetime | None:
    text = text.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def _read_date(value: object, lt: LiteralType, at: _At) -> dt.date:
    """A calendar date, for struct fields whose schema says ``format: date``."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not at.strict and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    _fail(at, "date", value, " (YYYY-MM-DD)")


_GO_DURATION = re.compile(r"([+-]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h|d))+)")
_GO_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)")
_NANOS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
    "d": 86400 * 10**9,
}
_DURATION_ADAPTER: pydantic.TypeAdapter[dt.timedelta] = pydantic.TypeAdapter(dt.timedelta)
_DATETIME_ADAPTER: pydantic.TypeAdapter[dt.datetime] = pydantic.TypeAdapter(dt.datetime)


# protobuf's Duration spans +-315,576,000,000 seconds (10,000 years), Timestamp the years 1-9999
_MAX_DURATION_NANOS = 315_576_000_000 * 10**9
_TIME_RANGE = " (outside the years 1 to 9999 in UTC)"


def _read_duration(value: object, lt: LiteralType, at: _At) -> dt.timedelta:
    hint = ' (such as "1h30m", "90s", "PT1H" or a number of seconds)'
    if isinstance(value, dt.timedelta):
        if abs(value) > dt.timedelta(microseconds=_MAX_DURATION_NANOS // 1000):
            _fail(at, literal_type_name(lt), value, " (longer than 10,000 years)")
        return value
    if at.strict:
        _fail(at, literal_type_name(lt), value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        nanos = _integral(Decimal(repr(value) if isinstance(value, float) else value) * 10**9)
    elif isinstance(value, str) and (go := _GO_DURATION.fullmatch(value.strip())):
        parts = _GO_PART.findall(go.group(2))
        total = sum((Decimal(n) * _NANOS[unit] for n, unit in parts), Decimal(0))
        nanos = _integral(-total if go.group(1) == "-" else total)
    elif isinstance(value, str) and value.strip().lstrip("+-")[:1] in ("P", "p"):
        try:
            parsed = _DURATION_ADAPTER.validate_python(value.strip().upper(), strict=False)
        except pydantic.ValidationError:
            _fail(at, literal_type_name(lt), value, hint)
        if abs(parsed) > dt.timedelta(microseconds=_MAX_DURATION_NANOS // 1000):
            _fail(at, literal_type_name(lt), value, " (longer than 10,000 years)")
        return parsed
    else:
        _fail(at, literal_type_name(lt), value, hint)
    if nanos is None or nanos % 1000:
        _fail(at, literal_type_name(lt), value, " (finer than a microsecond)")
    if abs(nanos) > _MAX_DURATION_NANOS:
        _fail(at, literal_type_name(lt), value, " (longer than 10,000 years)")
    return dt.timedelta(microseconds=nanos // 1000)


def _integral(nanos: Decimal) -> int | None:
    if not nanos.is_finite() or nanos != nanos.to_integral_value():
        return None
    return int(nanos)


def _read_enum(value: object, lt: LiteralType, at: _At) -> str:
    if isinstance(value, str) and value in lt.enum_type.values:
        return value
    _fail(at, literal_type_name(lt), value)


def _read_uri(value: object, lt: LiteralType, at: _At) -> str:
    if isinstance(value, str) and _URI.fullmatch(value):
        return value
    _fail(
        at,
        literal_type_name(lt),
        value,
        " (a URI such as s3://bucket/key; a local file is given as {path: ./file}, which only a "
        "whole Execution input can be)",
    )


def _read_dataset(value: object, lt: LiteralType, at: _At) -> tuple[str, str | None]:
    """``(uri, format)`` from ``"s3://..."`` or ``{uri: ..., format: ...}``."""
    if isinstance(value, Mapping) and set(value) <= {"uri", "format"} and "uri" in value:
        fmt = value.get("format")
        if fmt is not None and not isinstance(fmt, str):
            _fail(at.key("format"), "str", fmt)
        return _read_uri(value["uri"], lt, at.key("uri")), fmt
    return _read_uri(value, lt, at), None


def _read_mapping(value: object, lt: LiteralType, at: _At) -> Mapping[str, object]:
    if isinstance(value, Mapping):
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            raise _Mismatch(
                [at.problem(f"keys of {literal_type_name(lt)} must be strings, got {bad[0]!r}")]
            )
        return value
    _fail(at, literal_type_name(lt), value)


def _read_list(value: object, lt: LiteralType, at: _At) -> list[object]:
    if isinstance(value, list):
        return value
    _fail(at, literal_type_name(lt), value)


def _each(items: Iterable[tuple[_K, _V]], convert: Callable[[_K, _V], _T]) -> dict[_K, _T]:
    """Convert every item, collecting the problems of all of them before failing."""
    out: dict[_K, _T] = {}
    problems: list[LiteralProblem] = []
    for key, item in items:
        try:
            out[key] = convert(key, item)
        except _Mismatch as exc:
            problems.extend(exc.problems)
    if problems:
        raise _Mismatch(problems)
    return out


# --------------------------------------------------------------------------------------------
# Unions: flytekit's exact rules first, manifest conveniences second


def _choose(
    value: object, lt: LiteralType, at: _At, convert: Callable[[object, LiteralType, _At], _T]
) -> tuple[LiteralType, _T]:
    """The variant ``value`` goes to and its conversion, as flytekit's UnionTransformer picks."""
    variants = list(lt.union_type.variants)
    exact = dataclasses.replace(at, strict=True)
    matches: list[tuple[LiteralType, _T]] = []
    for variant in variants:
        try:
            matches.append((variant, convert(value, variant, exact)))
        except _Mismatch:
            continue
    if len(matches) > 1 and type(value) is str:
        # flytekit: a bare string matching both `str` and an enum prefers `str`.
        strings = [m for m in matches if _kind(m[0]) == "str"]
        matches = strings if len(strings) == 1 else matches
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = ", ".join(literal_type_name(m[0]) for m in matches)
        raise _Mismatch(
            [
                at.problem(
                    f"{_describe(value, at.redact)} fits more than one variant of "
                    f"{literal_type_name(lt)} ({names}); flytekit refuses ambiguous unions"
                )
            ]
        )
    if not at.strict:
        others = [v for v in variants if _kind(v) != "none"]
        for variant in variants:
            try:
                return variant, convert(value, variant, at)
            except _Mismatch as exc:
                nested = any(p.path != at.parts for p in exc.problems)
                if nested and len(others) == 1 and variant is others[0]:
                    # Optional[list/struct]: the complaint about the item or field inside is more
                    # useful than "expected Optional[...]".
                    raise _Mismatch(exc.problems) from None
    _fail(at, literal_type_name(lt), value)


# --------------------------------------------------------------------------------------------
# YAML value -> Literal


def _encode(value: object, lt: LiteralType, at: _At) -> Literal:
    encoder = _ENCODERS.get(_kind(lt))
    if encoder is None:
        raise _Mismatch(
            [at.problem(f"inputs of type {literal_type_name(lt)} cannot be given in a manifest")]
        )
    return encoder(value, lt, at)


def _primitive(primitive: literals_pb2.Primitive) -> Literal:
    return Literal(scalar=literals_pb2.Scalar(primitive=primitive))


def _encode_datetime(value: object, lt: LiteralType, at: _At) -> Literal:
    stamp = Timestamp()
    stamp.FromDatetime(_read_datetime(value, lt, at))
    return _primitive(Primitive(datetime=stamp))


def _encode_duration(value: object, lt: LiteralType, at: _At) -> Literal:
    duration = Duration()
    duration.FromTimedelta(_read_duration(value, lt, at))
    return _primitive(Primitive(duration=duration))


def _encode_none(value: object, lt: LiteralType, at: _At) -> Literal:
    _read_none(value, lt, at)
    return Literal(scalar=literals_pb2.Scalar(none_type=literals_pb2.Void()))


def _encode_list(value: object, lt: LiteralType, at: _At) -> Literal:
    items = _read_list(value, lt, at)
    converted = _each(
        enumerate(items), lambda i, item: _encode(item, lt.collection_type, at.index(i))
    )
    return Literal(collection=literals_pb2.LiteralCollection(literals=list(converted.values())))


def _encode_map(value: object, lt: LiteralType, at: _At) -> Literal:
    items = _read_mapping(value, lt, at)
    converted = _each(items.items(), lambda k, item: _encode(item, lt.map_value_type, at.key(k)))
    return Literal(map=LiteralMap(literals=converted))


def _encode_union(value: object, lt: LiteralType, at: _At) -> Literal:
    variant, literal = _choose(value, lt, at, _encode)
    union = literals_pb2.Union(value=literal, type=_stored_type(variant))
    return Literal(scalar=literals_pb2.Scalar(union=union))


def _stored_type(variant: LiteralType) -> LiteralType:
    """The variant as flytekit records it in the literal: the transformer's own type, i.e. without
    the annotations a user's ``FlyteAnnotation`` merged into the declared variant."""
    if not variant.HasField("annotation"):
        return variant
    fields = variant.annotation.annotations.fields
    stored = types_pb2.LiteralType()
    stored.CopyFrom(variant)
    stored.ClearField("annotation")
    for key in _TRANSFORMER_ANNOTATIONS & set(fields):
        stored.annotation.annotations.fields[key].CopyFrom(fields[key])
    return stored


def _encode_blob(value: object, lt: LiteralType, at: _At) -> Literal:
    metadata = literals_pb2.BlobMetadata(type=lt.blob)
    blob = literals_pb2.Blob(uri=_read_uri(value, lt, at), metadata=metadata)
    return Literal(scalar=literals_pb2.Scalar(blob=blob))


def _encode_dataset(value: object, lt: LiteralType, at: _At) -> Literal:
    uri, fmt = _read_dataset(value, lt, at)
    sdt = types_pb2.StructuredDatasetType()
    sdt.CopyFrom(lt.structured_dataset_type)
    if fmt is not None and fmt != sdt.format:
        if sdt.format:
            raise _Mismatch(
                [at.problem(f"format {fmt!r} contradicts the input's format {sdt.format!r}")]
            )
        # flytekit keeps a dataset's own format when the type leaves it generic.
        sdt.format = fmt
    metadata = literals_pb2.StructuredDatasetMetadata(structured_dataset_type=sdt)
    dataset = literals_pb2.StructuredDataset(uri=uri, metadata=metadata)
    return Literal(scalar=literals_pb2.Scalar(structured_dataset=dataset))


def _encode_struct(value: object, lt: LiteralType, at: _At) -> Literal:
    schema = _Schema.of(lt)
    at = dataclasses.replace(at, pydantic=schema is not None and schema.is_pydantic())
    plain = _plain_struct(value, lt, schema, at)
    if _is_msgpack(lt):
        try:
            packed = msgpack.packb(plain)
        except (OverflowError, ValueError, TypeError) as exc:
            raise _Mismatch([at.problem(f"cannot be written as MessagePack: {exc}")]) from None
        binary = literals_pb2.Binary(value=packed, tag=_MSGPACK_TAG)
        return Literal(scalar=literals_pb2.Scalar(binary=binary))
    try:
        generic = json_format.ParseDict(plain, struct_pb2.Struct())
    except (json_format.ParseError, ValueError, TypeError) as exc:
        raise _Mismatch([at.problem(f"cannot be written as a JSON struct: {exc}")]) from None
    literal = Literal(scalar=literals_pb2.Scalar(generic=generic))
    if schema is None:
        # flytekit's pre-msgpack untyped dict marked its JSON this way.
        literal.metadata["format"] = "json"
    return literal


def _is_msgpack(lt: LiteralType) -> bool:
    if not lt.HasField("annotation"):
        return False
    annotations = json_format.MessageToDict(lt.annotation.annotations)
    meta = annotations.get(_CACHE_KEY_METADATA)
    return isinstance(meta, dict) and meta.get(_SERIALIZATION_FORMAT) == _MSGPACK_TAG


_ENCODERS: dict[str, Callable[[object, LiteralType, _At], Literal]] = {
    "int": lambda v, lt, at: _primitive(Primitive(integer=_read_int(v, lt, at))),
    "float": lambda v, lt, at: _primitive(Primitive(float_value=_read_float(v, lt, at))),
    "str": lambda v, lt, at: _primitive(Primitive(string_value=_read_str(v, lt, at))),
    "bool": lambda v, lt, at: _primitive(Primitive(boolean=_read_bool(v, lt, at))),
    "datetime": _encode_datetime,
    "duration": _encode_duration,
    "none": _encode_none,
    "enum": lambda v, lt, at: _primitive(Primitive(string_value=_read_enum(v, lt, at))),
    "list": _encode_list,
    "map": _encode_map,
    "union": _encode_union,
    "blob": _encode_blob,
    "dataset": _encode_dataset,
    "struct": _encode_struct,
}


# --------------------------------------------------------------------------------------------
# Structs: YAML value <-> the plain (JSON/MessagePack) value mashumaro or pydantic would write


@dataclasses.dataclass(frozen=True)
class _Schema:
    """A node of a struct's JSON schema, with its document (for ``$ref``)."""

    node: Mapping[str, JSON]
    root: Mapping[str, JSON]

    @classmethod
    def of(cls, lt: LiteralType) -> _Schema | None:
        if not lt.HasField("metadata"):
            return None
        doc = json_format.MessageToDict(lt.metadata)
        return cls(doc, doc).resolved() if doc else None

    def resolved(self) -> _Schema:
        node = self.node
        for _ in range(32):  # a $ref chain longer than this is a cycle
            ref = node.get("$ref")
            if not isinstance(ref, str) or not ref.startswith("#/"):
                break
            target: object = self.root
            for part in ref[2:].split("/"):
                target = target.get(part) if isinstance(target, Mapping) else None
            if not isinstance(target, Mapping):
                break
            node = target
        return _Schema(node, self.root)

    def child(self, key: str, index: int | None = None) -> _Schema | None:
        found = self.node.get(key)
        if index is not None:
            found = found[index] if isinstance(found, list) and index < len(found) else None
        return _Schema(found, self.root).resolved() if isinstance(found, Mapping) else None

    def properties(self) -> Mapping[str, JSON]:
        props = self.node.get("properties")
        return props if isinstance(props, Mapping) else {}

    def prop(self, name: str) -> _Schema | None:
        found = self.properties().get(name)
        return _Schema(found, self.root).resolved() if isinstance(found, Mapping) else None

    def required(self) -> list[str]:
        required = self.node.get("required")
        return [r for r in required if isinstance(r, str)] if isinstance(required, list) else []

    @property
    def format(self) -> str | None:
        fmt = self.node.get("format")
        return fmt if isinstance(fmt, str) else None

    def is_pydantic(self) -> bool:
        # pydantic keeps nested models in $defs and titles every field; mashumaro inlines nested
        # dataclasses and titles only those (objects with properties of their own).
        if "$defs" in self.root:
            return True
        return any(
            isinstance(p, Mapping) and "title" in p and "properties" not in p
            for p in self.properties().values()
        )


def _fields(lt: LiteralType, schema: _Schema | None) -> dict[str, LiteralType | None]:
    """Field name -> field type; ``None`` for a field nothing says anything about.

    flytekit records field types in ``structure.dataclass_type``, but a struct inside a union has
    its structure replaced by the variant tag, so there only the JSON schema tells the types.
    """
    fields: dict[str, LiteralType | None] = {}
    if lt.HasField("structure"):
        fields.update(lt.structure.dataclass_type.items())
    for name in schema.properties() if schema else ():
        if name not in fields and schema is not None:
            sub = schema.prop(name)
            fields[name] = _type_from_schema(sub) if sub is not None else None
    return fields


_SCHEMA_TITLES = {
    "FlyteFile": types_pb2.LiteralType(blob=types_pb2.BlobType()),
    "FlyteDirectory": types_pb2.LiteralType(
        blob=types_pb2.BlobType(dimensionality=types_pb2.BlobType.MULTIPART)
    ),
    "StructuredDataset": types_pb2.LiteralType(
        structured_dataset_type=types_pb2.StructuredDatasetType()
    ),
}
_SCHEMA_SIMPLE = {
    ("integer", None): SimpleType.INTEGER,
    ("number", None): SimpleType.FLOAT,
    ("number", "time-delta"): SimpleType.DURATION,  # mashumaro
    ("string", "date-time"): SimpleType.DATETIME,
    ("string", "date"): SimpleType.DATETIME,  # flytekit's date type is a DATETIME too
    ("string", "duration"): SimpleType.DURATION,  # pydantic
    ("boolean", None): SimpleType.BOOLEAN,
    ("null", None): SimpleType.NONE,
}


def _type_from_schema(schema: _Schema) -> LiteralType | None:
    """The ``LiteralType`` flytekit would give the field a JSON schema node describes."""
    node = schema.node
    kind = node.get("type")
    any_of = node.get("anyOf")
    if isinstance(kind, list):  # {"type": ["integer", "null"]}
        any_of = [{**node, "type": k} for k in kind]
    if isinstance(any_of, list):
        options = [_Schema(o, schema.root).resolved() for o in any_of if isinstance(o, Mapping)]
        variants = [_type_from_schema(o) for o in options]
        known = [v for v in variants if v is not None]
        if not variants or len(known) != len(variants):
            return None
        return types_pb2.LiteralType(union_type=types_pb2.UnionType(variants=known))
    enum = node.get("enum")
    if isinstance(enum, list) and all(isinstance(v, str) for v in enum):
        names = [str(v) for v in enum]
        return types_pb2.LiteralType(enum_type=types_pb2.EnumType(values=names))
    if kind == "array":
        items = schema.child("items")
        item_type = _type_from_schema(items) if items is not None else None
        return types_pb2.LiteralType(collection_type=item_type) if item_type else None
    if kind == "object" or "properties" in node:
        title = node.get("title")
        if isinstance(title, str) and title in _SCHEMA_TITLES:
            return _SCHEMA_TITLES[title]
        values = schema.child("additionalProperties")
        if values is not None and "properties" not in node:
            value_type = _type_from_schema(values)
            return types_pb2.LiteralType(map_value_type=value_type) if value_type else None
        lt = types_pb2.LiteralType(simple=SimpleType.STRUCT)
        doc = dict(node)
        if "$defs" in schema.root:
            doc.setdefault("$defs", schema.root["$defs"])
        lt.metadata.CopyFrom(json_format.ParseDict(doc, struct_pb2.Struct()))
        return lt
    if not isinstance(kind, str):
        return None
    simple = _SCHEMA_SIMPLE.get((kind, schema.format), _SCHEMA_SIMPLE.get((kind, None)))
    if simple is None and kind == "string":
        simple = SimpleType.STRING  # whatever its format ("path", "uri", ...)
    return None if simple is None else types_pb2.LiteralType(simple=simple)


def _plain(value: object, lt: LiteralType | None, schema: _Schema | None, at: _At) -> JSON:
    if lt is None:
        return _plain_any(value, at)
    plain = _PLAIN.get(_kind(lt))
    if plain is None:
        raise _Mismatch(
            [at.problem(f"fields of type {literal_type_name(lt)} cannot be given in a manifest")]
        )
    return plain(value, lt, schema, at)


def _plain_struct(
    value: object, lt: LiteralType, schema: _Schema | None, at: _At
) -> dict[str, JSON]:
    items = _read_mapping(value, lt, at)
    if schema is None or not schema.properties():
        # A nested model's own type carries its schema; the parent's node may say nothing.
        schema = _Schema.of(lt) or schema
    fields = _fields(lt, schema)
    if not fields:
        return _plain_mapping(items, at)

    def field(name: str, item: object) -> JSON:
        if name not in fields:
            raise _Mismatch(
                [at.key(name).problem(f"unknown field; {_known('fields', fields, name)}")]
            )
        return _plain(item, fields[name], schema.prop(name) if schema else None, at.key(name))

    problems: list[LiteralProblem] = []
    try:
        out = _each(items.items(), field)
    except _Mismatch as exc:
        out, problems = {}, exc.problems
    required = [name for name in schema.required() if name in fields] if schema else []
    for name in [*required, *(name for name in fields if name not in required)]:
        field_type = fields[name]
        if name in items:
            continue
        sub = schema.prop(name) if schema else None
        if sub is not None and "default" in sub.node:
            # Schema numbers come back as floats; read as the field's type, then write it.
            default = _unplain(sub.node["default"], field_type, sub, at.key(name))
            out[name] = _plain(default, field_type, sub, at.key(name))
        elif name in required:
            expected = f" ({literal_type_name(field_type)})" if field_type is not None else ""
            problems.append(at.key(name).problem(f"missing required field{expected}"))
    if problems:
        raise _Mismatch(problems)
    return out


def _plain_any(value: object, at: _At) -> JSON:
    """A free-form JSON value; YAML timestamps and dates become ISO strings."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=_UTC)).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return list(_each(enumerate(value), lambda i, v: _plain_any(v, at.index(i))).values())
    if isinstance(value, Mapping):
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            raise _Mismatch([at.problem(f"keys of a struct must be strings, got {bad[0]!r}")])
        return _plain_mapping(value, at)
    _fail(at, "a JSON value", value)


def _plain_mapping(value: Mapping[str, object], at: _At) -> dict[str, JSON]:
    return _each(value.items(), lambda k, v: _plain_any(v, at.key(k)))


def _plain_datetime(value: object, lt: LiteralType, schema: _Schema | None, at: _At) -> str:
    if schema is not None and schema.format == "date":
        return _read_date(value, lt, at).isoformat()
    moment = _read_datetime(value, lt, at)
    if at.pydantic:
        return str(_DATETIME_ADAPTER.dump_python(moment, mode="json"))
    return moment.isoformat()


def _plain_duration(value: object, lt: LiteralType, schema: _Schema | None, at: _At) -> JSON:
    duration = _read_duration(value, lt, at)
    if at.pydantic:
        return str(_DURATION_ADAPTER.dump_python(duration, mode="json"))
    return duration.total_seconds()


def _plain_list(value: object, lt: LiteralType, schema: _Schema | None, at: _At) -> list[JSON]:
    items = _read_list(value, lt, at)
    sub = schema.child("items") if schema else None
    converted = _each(
        enumerate(items), lambda i, item: _plain(item, lt.collection_type, sub, at.index(i))
    )
    return list(converted.values())


def _plain_map(value: object, lt: LiteralType, schema: _Schema | None, at: _At) -> dict[str, JSON]:
    items = _read_mapping(value, lt, at)
    sub = schema.child("additionalProperties") if schema else None
    return _each(items.items(), lambda k, item: _plain(item, lt.map_value_type, sub, at.key(k)))


def _plain_union(value: object, lt: LiteralType, schema: _Schema | None, at: _At) -> JSON:
    return _choose(value, lt, at, _plain_in(lt, schema))[1]


def _plain_in(
    lt: LiteralType, schema: _Schema | None
) -> Callable[[object, LiteralType, _At], JSON]:
    """``_plain`` for a union's variants, each with its ``anyOf`` schema when they line up."""
    variants = list(lt.union_type.variants)
    any_of = schema.node.get("anyOf") if schema else None
    aligned = isinstance(any_of, list) and len(any_of) == len(variants)

    def convert(value: object, variant: LiteralType, at: _At) -> JSON:
        sub = schema.child("anyOf", variants.index(variant)) if schema and aligned else None
        return _plain(value, variant, sub, at)

    return convert


def _plain_dataset(
    value: object, lt: LiteralType, schema: _Schema | None, at: _At
) -> dict[str, JSON]:
    uri, fmt = _read_dataset(value, lt, at)
    return {"uri": uri, "file_format": fmt or ""}


_PLAIN: dict[str, Callable[[object, LiteralType, _Schema | None, _At], JSON]] = {
    "int": lambda v, lt, s, at: _read_int(v, lt, at),
    "float": lambda v, lt, s, at: _read_float(v, lt, at),
    "str": lambda v, lt, s, at: _read_str(v, lt, at),
    "bool": lambda v, lt, s, at: _read_bool(v, lt, at),
    "none": lambda v, lt, s, at: _read_none(v, lt, at),
    "enum": lambda v, lt, s, at: _read_enum(v, lt, at),
    "datetime": _plain_datetime,
    "duration": _plain_duration,
    "list": _plain_list,
    "map": _plain_map,
    "union": _plain_union,
    "blob": lambda v, lt, s, at: {"path": _read_uri(v, lt, at)},
    "dataset": _plain_dataset,
    "struct": _plain_struct,
}


def _unplain(value: JSON, lt: LiteralType | None, schema: _Schema | None, at: _At) -> YamlValue:
    """Reverse of ``_plain``: a decoded JSON/MessagePack value back to its manifest form.

    Best effort: a value that does not look like the type is returned unchanged, so reading a
    literal never fails on data that flytekit would have read.
    """
    if lt is None:
        return value
    unplain = _UNPLAIN.get(_kind(lt))
    return value if unplain is None else unplain(value, lt, schema, at)


def _unplain_int(value: JSON, lt: LiteralType, schema: _Schema | None, at: _At) -> YamlValue:
    # A JSON Struct stores every number as a double.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _unplain_float(value: JSON, lt: LiteralType, schema: _Schema | None, at: _At) -> YamlValue:
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _unplain_datetime(value: JSON, lt: LiteralType, schema: _Schema | None, at: _At) -> YamlValue:
    if not isinstance(value, str):
        return value
    if schema is not None and schema.format == "date":
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    moment = _parse_datetime(value)
    if moment is None:
        return value
    try:
        return moment.replace(tzinfo=_UTC) if moment.tzinfo is None else moment.astimezone(_UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 is in the year 0 in UTC
        _fail(at, literal_type_name(lt), value, _TIME_RANGE)


def _unplain_duration(value: JSON, lt: LiteralType, schema: _Schema | None, at: _At) -> YamlValue:
    try:
        duration = _read_duration(value, lt, dataclasses.replace(at, strict=False))
    except _Mismatch:
        return value
    return _format_duration(_duration_nanos(duration))


def _unplain_struct(value: JSON, lt: LiteralType, schema: _Schema | None, at: _At) -> YamlValue:
    if not isinstance(value, Mapping):
        return value
    if schema is None or not schema.properties():
        schema = _Schema.of(lt) or schema
    fields = _fields(lt, schema)
    return {
        k: _unplain(v, fields.get(k), schema.prop(k) if schema else None, at)
        for k, v in value.items()
    }


def _unplain_list(value: JSON, lt: LiteralType, schema: _Schema | None, at: _At) -> YamlValue:
    if not isinstance(value, list):
        return value
    sub = schema.child("items") if schema else None
    return [_unplain(v, lt.collection_type, sub, at) for v in value]


def _unplain_map(value: JSON, lt: LiteralType, schema: _Schema | None, at: _At) -> YamlValue:
    if not isinstance(value, Mapping):
        return value
    sub = schema.child("additionalProperties") if schema else None
    return {k: _unplain(v, lt.map_value_type, sub, at) for k, v in value.items()}


def _unplain_union(value: JSON, lt: LiteralType, schema: _Schema | None, at: _At) -> YamlValue:
    # The plain form does not say which variant wrote it: take the first variant that reads it
    # and would write it back the same (so "2024-01-01T00:00:00+00:00" stays a string for
    # union[str, datetime], as it went in).
    variants = list(lt.union_type.variants)
    any_of = schema.node.get("anyOf") if schema else None
    aligned = isinstance(any_of, list) and len(any_of) == len(variants)
    for i, variant in enumerate(variants):
        sub = schema.child("anyOf", i) if schema and aligned else None
        candidate = _unplain(value, variant, sub, at)
        try:
            chosen, plain = _choose(candidate, lt, at, _plain_in(lt, schema))
        except _Mismatch:
            continue
        if chosen == variant and plain == value:
            return candidate
    return value


def _unplain_blob(value: JSON, lt: LiteralType, schema: _Schema | None, at: _At) -> YamlValue:
    if isinstance(value, Mapping) and isinstance(value.get("path"), str):
        return value["path"]
    return value


def _unplain_dataset(value: JSON, lt: LiteralType, schema: _Schema | None, at: _At) -> YamlValue:
    if isinstance(value, Mapping) and isinstance(value.get("uri"), str):
        fmt = value.get("file_format") or ""
        return value["uri"] if not fmt else {"uri": value["uri"], "format": fmt}
    return value


_UNPLAIN: dict[str, Callable[[JSON, LiteralType, _Schema | None, _At], YamlValue]] = {
    "int": _unplain_int,
    "float": _unplain_float,
    "datetime": _unplain_datetime,
    "duration": _unplain_duration,
    "struct": _unplain_struct,
    "list": _unplain_list,
    "map": _unplain_map,
    "union": _unplain_union,
    "blob": _unplain_blob,
    "dataset": _unplain_dataset,
}


# --------------------------------------------------------------------------------------------
# Literal -> YAML value


def _decode(literal: Literal, lt: LiteralType | None, at: _At) -> YamlValue:
    which = literal.WhichOneof("value")
    if which == "scalar":
        scalar = literal.scalar
        kind = scalar.WhichOneof("value")
        decoder = _SCALAR_DECODERS.get(kind) if kind else None
        if decoder is None:
            raise _Mismatch([at.problem("the literal holds no value")])
        return decoder(getattr(scalar, kind), lt, at)
    if which == "collection":
        item_type = lt.collection_type if lt is not None and _kind(lt) == "list" else None
        return [
            _decode(item, item_type, at.index(i))
            for i, item in enumerate(literal.collection.literals)
        ]
    if which == "map":
        value_type = lt.map_value_type if lt is not None and _kind(lt) == "map" else None
        return {k: _decode(v, value_type, at.key(k)) for k, v in literal.map.literals.items()}
    if which == "offloaded_metadata":
        offloaded: dict[str, YamlValue] = {"offloaded": literal.offloaded_metadata.uri}
        return offloaded
    raise _Mismatch([at.problem("the literal holds no value")])


def _decode_primitive(primitive: Primitive, lt: LiteralType | None, at: _At) -> YamlValue:
    which = primitive.WhichOneof("value")
    kind = _kind(lt) if lt is not None else None
    if which == "integer":
        # flytekit reads an integer literal as a float where the type says float.
        return float(primitive.integer) if kind == "float" else primitive.integer
    if which == "float_value":
        value = primitive.float_value
        return int(value) if kind == "int" and value.is_integer() else value
    if which == "datetime":
        moment: dt.datetime = primitive.datetime.ToDatetime(tzinfo=_UTC)
        return moment
    if which == "duration":
        d = primitive.duration
        return _format_duration(d.seconds * 10**9 + d.nanos)
    if which == "string_value":
        return primitive.string_value
    if which == "boolean":
        return primitive.boolean
    raise _Mismatch([at.problem("the literal holds no value")])


def _decode_union(union: literals_pb2.Union, lt: LiteralType | None, at: _At) -> YamlValue:
    stored = union.type if union.HasField("type") else None
    return _decode(union.value, stored, at)


def _decode_dataset(
    dataset: literals_pb2.StructuredDataset, lt: LiteralType | None, at: _At
) -> YamlValue:
    fmt = dataset.metadata.structured_dataset_type.format
    expected = (
        lt.structured_dataset_type.format if lt is not None and _kind(lt) == "dataset" else ""
    )
    if fmt == expected:
        return dataset.uri
    with_format: dict[str, YamlValue] = {"uri": dataset.uri, "format": fmt}
    return with_format


def _decode_binary(binary: literals_pb2.Binary, lt: LiteralType | None, at: _At) -> YamlValue:
    if binary.tag != _MSGPACK_TAG:
        raise _Mismatch([at.problem(f"binary literal in unknown format {binary.tag!r}")])
    try:
        value = msgpack.unpackb(binary.value, strict_map_key=False)
    except (ValueError, msgpack.UnpackException) as exc:
        raise _Mismatch([at.problem(f"unreadable MessagePack: {exc}")]) from None
    return _unplain_typed(value, lt, at)


def _decode_generic(generic: struct_pb2.Struct, lt: LiteralType | None, at: _At) -> YamlValue:
    return _unplain_typed(_integral_floats(json_format.MessageToDict(generic)), lt, at)


def _integral_floats(value: JSON) -> JSON:
    """JSON ``Struct``s hold every number as a double; give integral ones back as ints (typed
    float fields turn them back into floats)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: _integral_floats(v) for k, v in value.items()}
    return value


def _unplain_typed(value: JSON, lt: LiteralType | None, at: _At) -> YamlValue:
    schema = _Schema.of(lt) if lt is not None else None
    at = dataclasses.replace(at, pydantic=schema is not None and schema.is_pydantic())
    return _unplain(value, lt, schema, at)


def _decode_error(error: types_pb2.Error, lt: LiteralType | None, at: _At) -> YamlValue:
    shown: dict[str, YamlValue] = {"error": error.message, "failedNodeId": error.failed_node_id}
    return shown


# Keyed by the Scalar oneof each reads; the message passed is the one of that name (hence Any).
_SCALAR_DECODERS: dict[str, Callable[[Any, LiteralType | None, _At], YamlValue]] = {
    "primitive": _decode_primitive,
    "none_type": lambda v, lt, at: None,
    "union": _decode_union,
    "blob": lambda blob, lt, at: blob.uri,
    "structured_dataset": _decode_dataset,
    "schema": lambda schema, lt, at: schema.uri,
    "binary": _decode_binary,
    "generic": _decode_generic,
    "error": _decode_error,
}


def _duration_nanos(duration: dt.timedelta) -> int:
    return (duration.days * 86400 + duration.seconds) * 10**9 + duration.microseconds * 1000


def _format_duration(nanos: int) -> str:
    """Canonical Go-style text: ``1h30m``, ``1m0.5s``, ``-2s``, ``0s``; days count as hours."""
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    hours, rest = divmod(abs(nanos), 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    seconds, fraction = divmod(rest, 10**9)
    text = f"{hours}h" if hours else ""
    text += f"{minutes}m" if minutes else ""
    if seconds or fraction:
        text += str(seconds) + (f".{fraction:09d}".rstrip("0") if fraction else "") + "s"
    return sign + text


# --------------------------------------------------------------------------------------------
# Names for messages


def _name_simple(lt: LiteralType) -> str:
    kind = _kind(lt)
    return {"none": "None", "unset": "unknown type"}.get(kind, kind)


def _name_struct(lt: LiteralType) -> str:
    schema = _Schema.of(lt)
    title = schema.node.get("title") if schema else None
    return f"struct {title}" if isinstance(title, str) and title else "struct"


def _name_union(lt: LiteralType) -> str:
    variants = list(lt.union_type.variants)
    others = [v for v in variants if _kind(v) != "none"]
    if len(variants) == 2 and len(others) == 1:
        return f"Optional[{literal_type_name(others[0])}]"
    return f"union[{', '.join(literal_type_name(v) for v in variants)}]"


def _name_blob(lt: LiteralType) -> str:
    multipart = lt.blob.dimensionality == types_pb2.BlobType.MULTIPART
    shape = "multipart directory" if multipart else "single file"
    return f"blob ({shape}{', ' + lt.blob.format if lt.blob.format else ''})"


def _name_dataset(lt: LiteralType) -> str:
    fmt = lt.structured_dataset_type.format
    return f"structured dataset ({fmt})" if fmt else "structured dataset"


_NAMERS: dict[str, Callable[[LiteralType], str]] = {
    "list": lambda lt: f"list[{literal_type_name(lt.collection_type)}]",
    "map": lambda lt: f"map[str, {literal_type_name(lt.map_value_type)}]",
    "enum": lambda lt: "enum {" + ", ".join(lt.enum_type.values) + "}",
    "union": _name_union,
    "blob": _name_blob,
    "dataset": _name_dataset,
    "struct": _name_struct,
}

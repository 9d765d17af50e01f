"""Literal helpers: does a literal fit a type, and what a simulated output looks like.

Admin checks execution inputs and signal values against the declared types
(``flyteadmin/pkg/manager/impl/validation``, propeller's ``validators.IsInstance``). This module
implements that check structurally for the literal kinds flytekit produces (primitives, none,
collections, maps, unions, enums, blobs, structured datasets, structs/binary). Kinds it does not
model (schema, offloaded literals) are accepted rather than rejected falsely.

``default_literal`` builds the zero value of a type; the simulated engine uses it for task
outputs because user code never runs (see ``nodes.py``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from flyteidl.core import literals_pb2, types_pb2
from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2

Simple = types_pb2.SimpleType
_PRIMITIVE_FOR_SIMPLE = {
    Simple.INTEGER: "integer",
    Simple.FLOAT: "float_value",
    Simple.STRING: "string_value",
    Simple.BOOLEAN: "boolean",
    Simple.DATETIME: "datetime",
    Simple.DURATION: "duration",
}


def type_name(literal_type: types_pb2.LiteralType) -> str:
    kind = literal_type.WhichOneof("type")
    if kind == "simple":
        return str(Simple.Name(literal_type.simple))
    if kind == "collection_type":
        return f"list[{type_name(literal_type.collection_type)}]"
    if kind == "map_value_type":
        return f"map[str, {type_name(literal_type.map_value_type)}]"
    if kind == "union_type":
        return " | ".join(type_name(v) for v in literal_type.union_type.variants)
    if kind == "enum_type":
        return f"enum{list(literal_type.enum_type.values)}"
    return str(kind)


_IGNORED_TYPE_FIELDS = {"metadata", "annotation", "structure"}


def same_type(a: types_pb2.LiteralType, b: types_pb2.LiteralType) -> bool:
    """Equal types, ignoring metadata, annotations and structure (documentation only)."""
    stripped = []
    for literal_type in (a, b):
        copy = types_pb2.LiteralType()
        copy.CopyFrom(literal_type)
        _strip(copy)
        stripped.append(copy.SerializeToString(deterministic=True))
    return bool(stripped[0] == stripped[1])


def _strip(literal_type: types_pb2.LiteralType) -> None:
    for name in _IGNORED_TYPE_FIELDS:
        literal_type.ClearField(name)
    kind = literal_type.WhichOneof("type")
    if kind == "collection_type":
        _strip(literal_type.collection_type)
    elif kind == "map_value_type":
        _strip(literal_type.map_value_type)
    elif kind == "union_type":
        for variant in literal_type.union_type.variants:
            _strip(variant)


def fits(literal: literals_pb2.Literal, literal_type: types_pb2.LiteralType) -> bool:
    """Whether ``literal`` is an instance of ``literal_type`` (structurally)."""
    kind = literal_type.WhichOneof("type")
    if kind is None:
        return True
    if literal.WhichOneof("value") == "offloaded_metadata":
        return True
    if kind == "union_type":
        inner = literal
        if literal.HasField("scalar") and literal.scalar.HasField("union"):
            inner = literal.scalar.union.value
        return any(fits(inner, variant) for variant in literal_type.union_type.variants)
    if literal.HasField("scalar") and literal.scalar.HasField("union"):
        return fits(literal.scalar.union.value, literal_type)
    if kind == "collection_type":
        return bool(literal.HasField("collection")) and all(
            fits(item, literal_type.collection_type) for item in literal.collection.literals
        )
    if kind == "map_value_type":
        return bool(literal.HasField("map")) and all(
            fits(item, literal_type.map_value_type) for item in literal.map.literals.values()
        )
    if not literal.HasField("scalar"):
        return False
    scalar = literal.scalar
    scalar_kind = scalar.WhichOneof("value")
    if kind == "simple":
        simple = literal_type.simple
        if simple == Simple.NONE:
            return bool(scalar_kind == "none_type")
        if simple == Simple.STRUCT:
            return bool(scalar_kind in ("generic", "binary"))
        if simple == Simple.BINARY:
            return bool(scalar_kind == "binary")
        if simple == Simple.ERROR:
            return bool(scalar_kind == "error")
        expected = _PRIMITIVE_FOR_SIMPLE.get(simple)
        return bool(scalar_kind == "primitive" and scalar.primitive.WhichOneof("value") == expected)
    if kind == "enum_type":
        return bool(
            scalar_kind == "primitive"
            and scalar.primitive.WhichOneof("value") == "string_value"
            and scalar.primitive.string_value in literal_type.enum_type.values
        )
    if kind == "blob":
        return bool(scalar_kind == "blob")
    if kind == "structured_dataset_type":
        return bool(scalar_kind == "structured_dataset")
    if kind == "schema":
        return bool(scalar_kind == "schema")
    return True


def default_literal(literal_type: types_pb2.LiteralType, blob_dir: Path) -> literals_pb2.Literal:
    """The zero value of a type: 0, 0.0, "", False, the epoch, an empty list, an empty file."""
    kind = literal_type.WhichOneof("type")
    if kind == "simple":
        return _default_simple(literal_type.simple)
    if kind == "collection_type":
        return literals_pb2.Literal(collection=literals_pb2.LiteralCollection())
    if kind == "map_value_type":
        return literals_pb2.Literal(map=literals_pb2.LiteralMap())
    if kind == "union_type":
        variants = list(literal_type.union_type.variants)
        # Optional[T] is the common union: None is the honest "nothing was computed" value.
        chosen = next(
            (v for v in variants if v.simple == Simple.NONE and v.HasField("simple")), None
        )
        chosen = chosen or variants[0]
        return literals_pb2.Literal(
            scalar=literals_pb2.Scalar(
                union=literals_pb2.Union(value=default_literal(chosen, blob_dir), type=chosen)
            )
        )
    if kind == "enum_type":
        first = literal_type.enum_type.values[0] if literal_type.enum_type.values else ""
        return _primitive(literals_pb2.Primitive(string_value=first))
    if kind == "blob":
        blob_dir.mkdir(parents=True, exist_ok=True)
        dimensionality = literal_type.blob.dimensionality
        target = blob_dir / ("simulated-dir" if dimensionality else "simulated-file")
        if dimensionality:
            target.mkdir(exist_ok=True)
        else:
            target.touch()
        return literals_pb2.Literal(
            scalar=literals_pb2.Scalar(
                blob=literals_pb2.Blob(
                    uri=target.as_uri(),
                    metadata=literals_pb2.BlobMetadata(type=literal_type.blob),
                )
            )
        )
    if kind == "structured_dataset_type":
        blob_dir.mkdir(parents=True, exist_ok=True)
        return literals_pb2.Literal(
            scalar=literals_pb2.Scalar(
                structured_dataset=literals_pb2.StructuredDataset(
                    uri=blob_dir.as_uri(),
                    metadata=literals_pb2.StructuredDatasetMetadata(
                        structured_dataset_type=literal_type.structured_dataset_type
                    ),
                )
            )
        )
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(none_type=literals_pb2.Void()))


def _default_simple(simple: int) -> literals_pb2.Literal:
    if simple == Simple.INTEGER:
        return _primitive(literals_pb2.Primitive(integer=0))
    if simple == Simple.FLOAT:
        return _primitive(literals_pb2.Primitive(float_value=0.0))
    if simple == Simple.STRING:
        return _primitive(literals_pb2.Primitive(string_value=""))
    if simple == Simple.BOOLEAN:
        return _primitive(literals_pb2.Primitive(boolean=False))
    if simple == Simple.DATETIME:
        return _primitive(literals_pb2.Primitive(datetime=timestamp_pb2.Timestamp()))
    if simple == Simple.DURATION:
        return _primitive(literals_pb2.Primitive(duration=duration_pb2.Duration()))
    if simple == Simple.STRUCT:
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(generic=struct_pb2.Struct()))
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(none_type=literals_pb2.Void()))


def _primitive(primitive: literals_pb2.Primitive) -> literals_pb2.Literal:
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=primitive))


def from_json(value: object, literal_type: types_pb2.LiteralType) -> literals_pb2.Literal:
    """A literal of ``literal_type`` from a JSON value; ValueError when it does not fit."""
    kind = literal_type.WhichOneof("type")
    if kind == "union_type":
        for variant in literal_type.union_type.variants:
            try:
                inner = from_json(value, variant)
            except ValueError:
                continue
            return literals_pb2.Literal(
                scalar=literals_pb2.Scalar(union=literals_pb2.Union(value=inner, type=variant))
            )
        raise ValueError(f"{value!r} fits none of {type_name(literal_type)}")
    if kind == "collection_type" and isinstance(value, list):
        items = [from_json(v, literal_type.collection_type) for v in value]
        return literals_pb2.Literal(collection=literals_pb2.LiteralCollection(literals=items))
    if kind == "map_value_type" and isinstance(value, dict):
        result = literals_pb2.Literal(map=literals_pb2.LiteralMap())
        for key, item in value.items():
            result.map.literals[str(key)].CopyFrom(from_json(item, literal_type.map_value_type))
        return result
    if kind == "enum_type" and value in literal_type.enum_type.values:
        return _primitive(literals_pb2.Primitive(string_value=str(value)))
    if kind == "simple":
        primitive = _json_primitive(value, literal_type.simple)
        if primitive is not None:
            return primitive
    raise ValueError(f"{value!r} is not a {type_name(literal_type)}")


def _json_primitive(value: object, simple: int) -> literals_pb2.Literal | None:
    if simple == Simple.NONE and value is None:
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(none_type=literals_pb2.Void()))
    if simple == Simple.BOOLEAN and isinstance(value, bool):
        return _primitive(literals_pb2.Primitive(boolean=value))
    if isinstance(value, bool):
        return None  # a bool is an int in Python, never in Flyte
    if simple == Simple.INTEGER and isinstance(value, int):
        return _primitive(literals_pb2.Primitive(integer=value))
    if simple == Simple.FLOAT and isinstance(value, (int, float)):
        return _primitive(literals_pb2.Primitive(float_value=float(value)))
    if simple == Simple.STRING and isinstance(value, str):
        return _primitive(literals_pb2.Primitive(string_value=value))
    if simple == Simple.DATETIME and isinstance(value, str):
        stamp = timestamp_pb2.Timestamp()
        stamp.FromDatetime(datetime.fromisoformat(value.replace("Z", "+00:00")))
        return _primitive(literals_pb2.Primitive(datetime=stamp))
    if simple == Simple.DURATION and isinstance(value, (int, float)):
        span = duration_pb2.Duration()
        span.FromNanoseconds(round(value * 1e9))
        return _primitive(literals_pb2.Primitive(duration=span))
    return None


def boolean_value(literal: literals_pb2.Literal) -> bool | None:
    """The bool inside a literal (possibly wrapped in a union), or None when it is not one."""
    if literal.HasField("scalar") and literal.scalar.HasField("union"):
        return boolean_value(literal.scalar.union.value)
    if literal.HasField("scalar") and literal.scalar.HasField("primitive"):
        primitive = literal.scalar.primitive
        if primitive.WhichOneof("value") == "boolean":
            return bool(primitive.boolean)
    return None


def is_datetime(literal_type: types_pb2.LiteralType) -> bool:
    return bool(
        literal_type.WhichOneof("type") == "simple" and literal_type.simple == Simple.DATETIME
    )


BOOLEAN_TYPE = types_pb2.LiteralType(simple=Simple.BOOLEAN)

"""Small builders for flyteidl ``LiteralType``s, shaped as flytekit registers them."""

from __future__ import annotations

from typing import Any

from flyteidl.core import types_pb2
from google.protobuf import json_format, struct_pb2

S = types_pb2.SimpleType
INT = types_pb2.LiteralType(simple=S.INTEGER)
FLOAT = types_pb2.LiteralType(simple=S.FLOAT)
STR = types_pb2.LiteralType(simple=S.STRING)
BOOL = types_pb2.LiteralType(simple=S.BOOLEAN)
DATETIME = types_pb2.LiteralType(simple=S.DATETIME)
DURATION = types_pb2.LiteralType(simple=S.DURATION)
NONE = types_pb2.LiteralType(simple=S.NONE)
FILE = types_pb2.LiteralType(blob=types_pb2.BlobType())
DIRECTORY = types_pb2.LiteralType(
    blob=types_pb2.BlobType(dimensionality=types_pb2.BlobType.MULTIPART)
)
DATASET = types_pb2.LiteralType(structured_dataset_type=types_pb2.StructuredDatasetType())

# flytekit's transformer names, which it writes as each union variant's structure tag.
TAGS = {
    "simple": {
        S.INTEGER: "int",
        S.FLOAT: "float",
        S.STRING: "str",
        S.BOOLEAN: "bool",
        S.DATETIME: "datetime",
        S.DURATION: "timedelta",
        S.NONE: "none",
        S.STRUCT: "Typed Dict",
    },
    "collection_type": "Typed List",
    "map_value_type": "Typed Dict",
    "enum_type": "DefaultEnumTransformer",
    "blob": "FlyteFilePath",
    "structured_dataset_type": "StructuredDatasetTransformerEngine",
}


def list_of(item: Any) -> Any:
    return types_pb2.LiteralType(collection_type=item)


def map_of(value: Any) -> Any:
    return types_pb2.LiteralType(map_value_type=value)


def enum_of(*values: str) -> Any:
    return types_pb2.LiteralType(enum_type=types_pb2.EnumType(values=values))


def tagged(lt: Any) -> Any:
    which = lt.WhichOneof("type")
    tag = TAGS["simple"][lt.simple] if which == "simple" else TAGS.get(which, "other")
    out = types_pb2.LiteralType()
    out.CopyFrom(lt)
    out.structure.CopyFrom(types_pb2.TypeStructure(tag=str(tag)))
    return out


def union_of(*variants: Any) -> Any:
    return types_pb2.LiteralType(
        union_type=types_pb2.UnionType(variants=[tagged(v) for v in variants])
    )


def optional(lt: Any) -> Any:
    return union_of(lt, NONE)


def struct(
    fields: dict[str, Any] | None = None,
    schema: dict[str, Any] | None = None,
    *,
    msgpack: bool = True,
) -> Any:
    """A STRUCT type: ``fields`` as ``structure.dataclass_type``, ``schema`` as ``metadata``."""
    lt = types_pb2.LiteralType(simple=S.STRUCT)
    if schema is not None:
        lt.metadata.CopyFrom(json_format.ParseDict(schema, struct_pb2.Struct()))
    if fields is not None:
        lt.structure.CopyFrom(types_pb2.TypeStructure(tag="", dataclass_type=fields))
    if msgpack:
        annotation = {"cache-key-metadata": {"serialization-format": "msgpack"}}
        lt.annotation.annotations.CopyFrom(json_format.ParseDict(annotation, struct_pb2.Struct()))
    return lt


def dataclass_struct(title: str, fields: dict[str, Any], **schemas: dict[str, Any]) -> Any:
    """A mashumaro-style dataclass type: every field required unless its schema has a default."""
    properties = {name: schemas.get(name, schema_of(lt)) for name, lt in fields.items()}
    required = [name for name in fields if "default" not in properties[name]]
    schema = {
        "type": "object",
        "title": title,
        "additionalProperties": False,
        "properties": properties,
        "required": required,
    }
    return struct(fields, schema)


def schema_of(lt: Any) -> dict[str, Any]:
    """The JSON schema mashumaro writes for a field of this type (the parts the codec reads)."""
    which = lt.WhichOneof("type")
    if which == "collection_type":
        return {"type": "array", "items": schema_of(lt.collection_type)}
    if which == "map_value_type":
        return {"type": "object", "additionalProperties": schema_of(lt.map_value_type)}
    if which == "union_type":
        return {"anyOf": [schema_of(v) for v in lt.union_type.variants]}
    if which == "enum_type":
        return {"enum": list(lt.enum_type.values)}
    if which == "blob":
        title = "FlyteDirectory" if lt.blob.dimensionality else "FlyteFile"
        return {"type": "object", "title": title, "properties": {"path": {"type": "string"}}}
    if which == "structured_dataset_type":
        return {"type": "object", "title": "StructuredDataset", "properties": {}}
    if lt.simple == S.STRUCT:
        return json_format.MessageToDict(lt.metadata) if lt.HasField("metadata") else {}
    return {
        S.INTEGER: {"type": "integer"},
        S.FLOAT: {"type": "number"},
        S.STRING: {"type": "string"},
        S.BOOLEAN: {"type": "boolean"},
        S.DATETIME: {"type": "string", "format": "date-time"},
        S.DURATION: {"type": "number", "format": "time-delta"},
        S.NONE: {"type": "null"},
    }[lt.simple]

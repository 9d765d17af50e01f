"""Turn a YAML document into a typed manifest, or into diagnostics that point into the file.

pydantic reports problems by field path; the document's positions turn each path into
``file:line:column``. Messages are rewritten for people who write YAML, not Python: "unknown
field 'scheduel' (did you mean 'schedule'?)" rather than "Extra inputs are not permitted".
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from reconciler.diagnostics import Diagnostic, FieldPath
from reconciler.manifests.attributes import AttributesManifest
from reconciler.manifests.backfill import BackfillManifest
from reconciler.manifests.base import ManifestBase
from reconciler.manifests.envref import Malformed, holds_template
from reconciler.manifests.envref import references as env_references
from reconciler.manifests.execution import ExecutionManifest
from reconciler.manifests.fields import API_VERSION, resolved_values
from reconciler.manifests.launchplan import LaunchPlanManifest
from reconciler.manifests.project import ProjectManifest
from reconciler.manifests.registration import RegistrationManifest
from reconciler.manifests.signal import SignalManifest
from reconciler.manifests.yamlread import Document

KINDS: dict[str, type[ManifestBase]] = {
    cls.KIND: cls
    for cls in (
        RegistrationManifest,
        LaunchPlanManifest,
        ExecutionManifest,
        BackfillManifest,
        SignalManifest,
        ProjectManifest,
        AttributesManifest,
    )
}

_M = TypeVar("_M", bound=BaseModel)


def parse_manifest(
    document: Document,
    *,
    project: str | None = None,
    domain: str | None = None,
    resolved: bool = False,
) -> ManifestBase | list[Diagnostic]:
    """Validate one manifest document; ``project``/``domain`` fill metadata left unset.

    ``resolved``: the document's ``${env:...}`` references have been replaced by their values,
    so its strings are final text: none is a reference any more, whatever it holds."""
    data = document.data
    if not isinstance(data, dict):
        return [
            _at(
                document,
                (),
                "a manifest must be a mapping with apiVersion, kind, metadata and spec; "
                f"got {_describe(data)}",
            )
        ]
    problems: list[Diagnostic] = []
    kind = data.get("kind")
    if "kind" not in data:
        problems.append(_at(document, (), f"required field 'kind' is missing ({_kinds()})"))
    elif not isinstance(kind, str) or kind not in KINDS:
        message = f"unknown kind {kind!r}; expected {_kinds()}"
        problems.append(_at(document, ("kind",), message + suggest(kind, KINDS)))
    if "apiVersion" in data and data["apiVersion"] != API_VERSION:
        problems.append(
            _at(
                document,
                ("apiVersion",),
                f"unsupported apiVersion {data['apiVersion']!r}; expected {API_VERSION!r}",
            )
        )
    references = [] if resolved else list(_check_references(document))
    if problems or not isinstance(kind, str):
        return problems + references
    metadata = data.get("metadata")
    if isinstance(metadata, dict):
        defaults = {"project": project, "domain": domain}
        filled = {
            k: v
            for k, v in defaults.items()
            if v is not None and k not in metadata and k in KINDS[kind].DEFAULTED
        }
        if filled:
            data = {**data, "metadata": {**metadata, **filled}}
    if resolved:
        with resolved_values():
            parsed = validate_model(document, KINDS[kind], data)
    else:
        parsed = validate_model(document, KINDS[kind], data)
    if references:
        return references + (parsed if isinstance(parsed, list) else [])
    return parsed


def validate_model(document: Document, model: type[_M], data: Any) -> _M | list[Diagnostic]:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        return [_translate(document, model, error) for error in exc.errors(include_url=False)]


def _kinds() -> str:
    return ", ".join(KINDS)


def _at(document: Document, path: FieldPath, message: str, *, key: bool = False) -> Diagnostic:
    return Diagnostic(document.location(path, key=key), message, path)


def _check_references(document: Document) -> Iterator[Diagnostic]:
    """``${env:NAME}`` must be well formed, never part of a resource's identity, and never a
    mapping key: only values are resolved, so a key would reach Admin as written."""
    if not holds_template(document.data):
        return
    for path, text, is_key in _strings(document.data, ()):
        found = env_references(text)
        if isinstance(found, Malformed):
            yield _at(document, path, f"{found.text!r} {found.reason}", key=is_key)
        elif found and is_key:
            yield _at(
                document,
                path,
                "environment references are not allowed in keys, only in values",
                key=True,
            )
        elif found and path[:1] in {("metadata",), ("apiVersion",), ("kind",)}:
            yield _at(
                document,
                path,
                "environment references are not allowed here: a resource's identity is fixed "
                "in git",
            )


def _strings(value: Any, path: FieldPath) -> Iterator[tuple[FieldPath, str, bool]]:
    """(path, text, whether it is a mapping key) for every string that holds ``${``."""
    # The reader bounds how many values a document holds, so this walk is bounded too.
    if isinstance(value, str):
        if "${" in value:
            yield path, value, False
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "${" in key:
                yield (*path, key), key, True
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _translate(document: Document, model: type[BaseModel], error: ErrorDetails) -> Diagnostic:
    loc: FieldPath = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if loc and loc[-1] == "[key]":  # a mapping key failed its check: point at the key
        path = loc[:-1]
        return _at(document, path, _value_message(kind, error["msg"], ctx, value), key=True)
    if kind == "missing":
        message = f"required field {loc[-1]!r} is missing"
        if loc in {("metadata", "project"), ("metadata", "domain")}:
            message += f" (or set defaults.{loc[-1]} in reconciler.yaml)"
        return Diagnostic(document.location(loc[:-1]), message, loc)
    if kind == "extra_forbidden":
        message = f"unknown field {loc[-1]!r}" + suggest(loc[-1], _fields_at(model, loc[:-1]))
        return _at(document, loc, message, key=True)
    return _at(document, loc, _value_message(kind, error["msg"], ctx, value))


def _value_message(kind: str, msg: str, ctx: dict[str, Any], value: Any) -> str:
    if kind in {"value_error", "assertion_error"}:
        return str(ctx.get("error", msg))
    if kind == "literal_error":
        return f"{_describe(value)} is not allowed; expected {ctx.get('expected')}"
    if kind in {"too_short", "string_too_short"} and ctx.get("min_length") == 1:
        return "must not be empty"
    expected = _EXPECTED.get(kind)
    if expected is not None:
        message = f"expected {expected}, got {_describe(value)}"
        if kind == "string_type" and isinstance(value, int | float | date) and value is not None:
            message += " (quote it to make it a string)"
        return message
    if kind.startswith(("greater_than", "less_than")):
        return f"{msg[0].lower()}{msg[1:]}; got {_describe(value)}"
    return f"{msg[0].lower()}{msg[1:]}"


_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "datetime_type": "a date and time such as 2026-01-31T06:00:00Z",
    "datetime_from_date_parsing": "a date and time such as 2026-01-31T06:00:00Z",
}


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, datetime | date):
        return f"the timestamp {value.isoformat()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return repr(shown)
    return type(value).__name__


def suggest(word: object, choices: typing.Iterable[str]) -> str:
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        close = [lowered[word.lower()]] if word.lower() in lowered else []
    return f" (did you mean {close[0]!r}?)" if close else ""


def _fields_at(model: type[BaseModel], path: FieldPath) -> list[str]:
    """The YAML names of the fields allowed at ``path`` inside ``model``."""
    current: Any = model
    for part in path:
        current = _step(current, part)
        if current is None:
            return []
    models = _models_in(current)
    return [f.alias or name for m in models for name, f in m.model_fields.items()]


def _step(annotation: Any, part: str | int) -> Any:
    for candidate in _models_in(annotation):
        for name, info in candidate.model_fields.items():
            if (info.alias or name) == part:
                return info.annotation
        return None
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Annotated:
        return _step(args[0], part)
    if origin in (typing.Union, types.UnionType):
        return next((found for a in args if (found := _step(a, part)) is not None), None)
    if origin is list and isinstance(part, int):
        return args[0]
    if origin is dict:
        return args[1]
    return None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(annotation) for m in _models_in(a)]
    return []

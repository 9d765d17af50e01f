"""Read YAML files into plain Python values while remembering where every value came from.

PyYAML's loaders drop positions once they have built Python objects, and their composer follows
aliases without limit and recursively. This module builds values straight from libyaml's event
stream instead, which gives us, in one pass:

- the line and column of every key and value (``Positions``), so each error names its place;
- a bound on how far aliases may expand a document (an "alias bomb" of nested anchors otherwise
  makes every later walk exponential) and on nesting depth (no recursion anywhere);
- duplicate keys reported instead of silently keeping the last one;
- only the safe YAML tags (``yaml.safe_load``'s scalars), merge keys (``<<``) included.

A file that breaks a limit or does not parse stops at that point with a diagnostic; files are
independent, so the caller goes on with the next one.
"""

from __future__ import annotations

import bisect
import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from reconciler.diagnostics import Diagnostic, FieldPath, Location

# Any here is the honest type: a YAML value of unknown shape (what a document holds is only known
# once the manifest models read it), and the C loader, which has no stubs.

# Larger than any sane manifest file and equal to gRPC's default message size limit: a manifest
# bigger than this could not be sent to Admin in one request anyway.
MAX_FILE_BYTES = 4 * 1024 * 1024
# Values (scalars and collections) one document may expand to, aliases counted at full size.
MAX_NODES_PER_DOCUMENT = 200_000
MAX_DEPTH = 100

_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
# What PyYAML's constructors raise for a tagged scalar that is not of its tag: ``!!int x`` a
# ValueError, ``!!bool maybe`` a KeyError, ``!!timestamp soon`` an AttributeError.
_CONSTRUCTOR_ERRORS = (
    yaml.YAMLError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    OverflowError,
)
_MAP_TAGS = {None, "!", "tag:yaml.org,2002:map"}
_SEQ_TAGS = {None, "!", "tag:yaml.org,2002:seq"}
_SCALAR_TAGS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:timestamp",
}


@dataclass
class Positions:
    """Line/column of each value and mapping key in one document, by field path."""

    values: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)

    def find(self, path: FieldPath, *, key: bool = False) -> tuple[int, int]:
        """The position of ``path``, or of its closest ancestor that has one.

        With ``key=True`` the mapping key is preferred over its value, which is where an editor
        should point for "unknown field" errors.
        """
        if key and path in self.keys:
            return self.keys[path]
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return found
        return (1, 1)


@dataclass(frozen=True)
class Document:
    """One YAML document of a file: its data and where each part of it came from."""

    file: str
    index: int
    data: Any
    positions: Positions

    def location(self, path: FieldPath = (), *, key: bool = False) -> Location:
        line, column = self.positions.find(path, key=key)
        return Location(self.file, line, column)


@dataclass
class FileRead:
    documents: list[Document]
    diagnostics: list[Diagnostic]


class _Abort(Exception):
    """Stop reading a file: the diagnostic says why."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def read_file(path: Path, display: str | None = None) -> FileRead:
    """Read every document of a YAML file; never raises for bad content."""
    name = display if display is not None else str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return _failed(
                Location(name),
                f"file is {size / 1024 / 1024:.1f} MiB; manifest files larger than "
                f"{MAX_FILE_BYTES // 1024 // 1024} MiB are refused",
            )
        raw = path.read_bytes()
    except OSError as exc:
        return _failed(Location(name), f"cannot read file: {exc.strerror or exc}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # the offsets are into what follows a byte order mark, when there is one
        data = bytes(exc.object)
        before = data[: exc.start].decode("utf-8")  # valid up to the bad byte
        line, column = _Lines(before).at(len(before))
        return _failed(
            Location(name, line, column),
            f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x}); save manifests as UTF-8",
        )
    return read_text(text, name)


def read_text(text: str, name: str) -> FileRead:
    documents: list[Document] = []
    diagnostics: list[Diagnostic] = []
    composer = _Composer(text, name, diagnostics)
    try:
        for document in composer.documents():
            documents.append(document)
    except _Abort as abort:
        diagnostics.append(abort.diagnostic)
    except yaml.MarkedYAMLError as exc:
        diagnostics.append(_syntax_error(exc, name, text))
    except yaml.reader.ReaderError as exc:
        diagnostics.append(_reader_error(exc, name, text))
    except yaml.YAMLError as exc:
        diagnostics.append(Diagnostic(Location(name), f"YAML error: {_one_line(str(exc))}"))
    finally:
        composer.dispose()
    return FileRead(documents, diagnostics)


def _failed(location: Location, message: str) -> FileRead:
    return FileRead([], [Diagnostic(location, message)])


def _syntax_error(exc: yaml.MarkedYAMLError, name: str, text: str) -> Diagnostic:
    lines = _Lines(text)
    mark = exc.problem_mark or exc.context_mark
    line, column = lines.at(mark.index) if mark is not None else (1, 1)
    problem = exc.problem or "invalid YAML"
    message = f"YAML syntax error: {problem}"
    if exc.context and exc.context_mark is not None:
        context_line, _ = lines.at(exc.context_mark.index)
        if context_line != line:
            message += f" ({exc.context} at line {context_line})"
    if mark is not None and text[mark.index : mark.index + 1] == "\t":
        message += "; YAML does not allow tabs for indentation, use spaces"
    return Diagnostic(Location(name, line, column), message)


def _reader_error(exc: yaml.reader.ReaderError, name: str, text: str) -> Diagnostic:
    """A character YAML does not allow (NUL, other control characters). The reader's error
    has no mark, only an offset, and its text spans two lines; libyaml counts the offset in
    bytes of the UTF-8 text."""
    raw = text.encode("utf-8", "surrogatepass")
    offset = min(max(int(exc.position), 0), len(raw))
    line, column = _Lines(text).at(len(raw[:offset].decode("utf-8", "replace")))
    character = exc.character
    shown = f"#x{character:04x}" if isinstance(character, int) else repr(character)
    return Diagnostic(
        Location(name, line, column),
        f"YAML error: unacceptable character {shown}: {_one_line(str(exc.reason))}",
    )


def _one_line(message: str) -> str:
    return " ".join(message.split())


class _Lines:
    """Line and column (1-based) of a character offset as editors, git and CI annotations count
    them: lines end at ``\n``, ``\r\n`` or a lone ``\r``. libyaml's own marks also break lines
    at NEL, U+2028 and U+2029, which would put a diagnostic lines below its place."""

    _END = re.compile(r"\r\n|\r|\n")

    def __init__(self, text: str) -> None:
        self._starts = [0, *(match.end() for match in self._END.finditer(text))]

    def at(self, index: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, index) - 1
        return line + 1, index - self._starts[line] + 1


def _show_tag(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


@dataclass(slots=True)
class _Frame:
    """A mapping or sequence being built."""

    value: Any
    is_map: bool
    path: FieldPath
    anchor: str | None
    start: tuple[int, int]
    size: int = 1
    # mappings only
    key: Any = None
    has_key: bool = False
    key_position: tuple[int, int] = (1, 1)
    merges: list[dict[Any, Any]] = field(default_factory=list)
    explicit: dict[Any, tuple[int, int]] = field(default_factory=dict)


class _MergeKey:
    """Marks the ``<<`` key while its value is read."""


_MERGE = _MergeKey()


class _Composer:
    """Reads the event stream of one file, a document at a time."""

    def __init__(self, text: str, name: str, diagnostics: list[Diagnostic]) -> None:
        self._loader = _Loader(text)
        self._lines = _Lines(text)
        self._name = name
        self._diagnostics = diagnostics
        # the resolver's tag for each plain scalar seen in this file (keys repeat a lot)
        self._tags: dict[tuple[str, Any], str] = {}

    def dispose(self) -> None:
        self._loader.dispose()

    def documents(self) -> Iterator[Document]:
        index = 0
        while True:
            event = self._loader.get_event()
            if isinstance(event, yaml.StreamEndEvent):
                return
            if isinstance(event, yaml.DocumentStartEvent):
                builder = _DocumentBuilder(
                    self._loader, self._lines, self._name, self._diagnostics, self._tags
                )
                yield builder.build(index)
                index += 1


class _DocumentBuilder:
    """Builds one document's values and positions from its events, without recursion."""

    def __init__(
        self,
        loader: Any,
        lines: _Lines,
        name: str,
        diagnostics: list[Diagnostic],
        tags: dict[tuple[str, Any], str] | None = None,
    ) -> None:
        self._loader = loader
        self._lines = lines
        self._tags = {} if tags is None else tags
        self._name = name
        self._diagnostics = diagnostics
        self._positions = Positions()
        self._anchors: dict[str, tuple[Any, int]] = {}
        self._stack: list[_Frame] = []
        self._root: Any = None
        self._total = 0
        # Shortcuts in _construct, valid for the safe loader as PyYAML ships it (checked here,
        # so that a loader with path resolvers, a wildcard resolver or another str constructor
        # takes the general path).
        self._implicit = loader.yaml_implicit_resolvers
        self._plain_is_str = not loader.yaml_path_resolvers and None not in self._implicit
        safe_str = yaml.constructor.SafeConstructor.construct_yaml_str
        self._str_is_text = loader.yaml_constructors.get(_STR_TAG) is safe_str

    def build(self, index: int) -> Document:
        # The hot loop of reading manifests: one pass per event, dispatched on the event's
        # class (libyaml makes exactly these classes; anything else takes the isinstance path).
        get_event = self._loader.get_event
        stack = self._stack
        while True:
            event = get_event()
            kind = _EVENT_KINDS.get(event.__class__) or _event_kind(event)
            if kind is _Event.END:
                frame = stack.pop()
                if frame.merges:
                    frame.value = _merged(frame)
                if frame.anchor is not None:
                    self._anchors[frame.anchor] = (frame.value, frame.size)
                self._place(frame.value, frame.size, frame.start)
                continue
            if kind is _Event.DOCUMENT_END:
                return Document(self._name, index, self._root, self._positions)
            position = self._lines.at(event.start_mark.index)
            if kind is _Event.SCALAR:
                self._count(1, position)
                self._scalar(event, position)
            elif kind is _Event.START:
                self._count(1, position)
                self._start(event, position)
            elif kind is _Event.ALIAS:
                self._alias(event, position)

    # --- events ---------------------------------------------------------------------------

    def _alias(self, event: yaml.AliasEvent, position: tuple[int, int]) -> None:
        anchor = event.anchor or ""
        if anchor not in self._anchors:
            self._abort(position, f"unknown alias *{anchor}")
        value, size = self._anchors[anchor]
        self._count(size, position)
        if not self._expects_key():
            path = self._child_path(position)
            self._positions.values.setdefault(path, position)
        self._place(value, size, position)

    def _scalar(self, event: yaml.ScalarEvent, position: tuple[int, int]) -> None:
        value = self._construct(event, position)
        if self._stack:
            parent = self._stack[-1]
            if parent.is_map and not parent.has_key:  # a mapping key (_place, inlined)
                parent.size += 1
                parent.key, parent.has_key, parent.key_position = value, True, position
                return
        if value is _MERGE:  # '<<' merges only in key position
            value = event.value
        self._positions.values[self._child_path(position)] = position
        if event.anchor is not None:
            self._anchors[event.anchor] = (value, 1)
        self._place(value, 1, position)

    def _start(
        self, event: yaml.MappingStartEvent | yaml.SequenceStartEvent, position: tuple[int, int]
    ) -> None:
        is_map = isinstance(event, yaml.MappingStartEvent)
        if event.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
            self._abort(position, f"unsupported YAML tag {_show_tag(event.tag or '')}")
        path = self._child_path(position)
        self._positions.values[path] = position
        self._stack.append(_Frame({} if is_map else [], is_map, path, event.anchor, position))
        if len(self._stack) > MAX_DEPTH:
            self._abort(position, f"values nest deeper than {MAX_DEPTH} levels")

    # --- building -------------------------------------------------------------------------

    def _expects_key(self) -> bool:
        """Whether the next value is a mapping key."""
        if not self._stack:
            return False
        top = self._stack[-1]
        return top.is_map and not top.has_key

    def _child_path(self, position: tuple[int, int]) -> FieldPath:
        if not self._stack:
            return ()
        parent = self._stack[-1]
        if not parent.is_map:
            return (*parent.path, len(parent.value))
        if not parent.has_key:
            self._abort(position, "mapping keys must be plain values, not lists or mappings")
        if parent.key is _MERGE:
            return parent.path
        return (*parent.path, parent.key)

    def _place(self, value: Any, size: int, position: tuple[int, int]) -> None:
        """Attach a finished value to the collection being built, or make it the root."""
        if not self._stack:
            self._root = value
            self._positions.values[()] = position
            return
        parent = self._stack[-1]
        parent.size += size
        if not parent.is_map:
            parent.value.append(value)
        elif not parent.has_key:
            if isinstance(value, list | dict):
                self._abort(position, "mapping keys must be plain values, not lists or mappings")
            parent.key, parent.has_key, parent.key_position = value, True, position
        else:
            self._set_item(parent, value)

    def _set_item(self, parent: _Frame, value: Any) -> None:
        key = parent.key
        parent.has_key = False
        if key is _MERGE:
            sources = value if isinstance(value, list) else [value]
            if not all(isinstance(source, dict) for source in sources):
                self._abort(
                    parent.key_position, "'<<' (merge key) needs a mapping or a list of them"
                )
            # Earlier sources win over later ones, as in the YAML merge-key spec.
            parent.merges.extend(reversed(sources))
            return
        path = (*parent.path, key)
        if key in parent.explicit:
            line, _ = parent.explicit[key]
            self._diagnostics.append(
                Diagnostic(
                    Location(self._name, *parent.key_position),
                    f"duplicate key {key!r} (first defined at line {line})",
                    path,
                )
            )
            return
        parent.explicit[key] = parent.key_position
        self._positions.keys[path] = parent.key_position
        parent.value[key] = value

    def _construct(self, event: yaml.ScalarEvent, position: tuple[int, int]) -> Any:
        loader = self._loader
        tag = event.tag
        text = event.value
        if tag is None or tag == "!":
            implicit = event.implicit
            if not self._plain_is_str:
                tag = loader.resolve(yaml.ScalarNode, text, implicit)
            elif not implicit[0] or text[:1] not in self._implicit:
                # What the resolver decides without trying a pattern: a quoted scalar, or a
                # plain one no implicit type can start with, is a string.
                tag = _STR_TAG
            else:
                # Without path resolvers the tag depends on the text alone.
                found = self._tags.get((text, implicit))
                if found is None:
                    found = self._tags[text, implicit] = loader.resolve(
                        yaml.ScalarNode, text, implicit
                    )
                tag = found
        if tag == _STR_TAG and self._str_is_text:
            return text  # what the safe str constructor returns for a scalar node
        if tag == _MERGE_TAG:
            return _MERGE
        if tag not in _SCALAR_TAGS:
            self._abort(position, f"unsupported YAML tag {_show_tag(tag)}")
        node = yaml.ScalarNode(tag, event.value, None, None, event.style)
        try:
            return loader.yaml_constructors[tag](loader, node)
        except _CONSTRUCTOR_ERRORS as exc:
            # the YAML and ValueError messages say why; the others only show PyYAML's insides
            problem = getattr(exc, "problem", None) or (
                str(exc) if isinstance(exc, ValueError) else ""
            )
            because = f": {_one_line(problem)}" if problem else ""
            self._abort(position, f"cannot read value {event.value!r} as {_show_tag(tag)}{because}")

    def _count(self, size: int, position: tuple[int, int]) -> None:
        self._total += size
        if self._total > MAX_NODES_PER_DOCUMENT:
            self._abort(
                position,
                f"document expands to more than {MAX_NODES_PER_DOCUMENT:,} values "
                "(aliases counted at full size); refusing to read further",
            )

    def _abort(self, position: tuple[int, int], message: str) -> NoReturn:
        raise _Abort(Diagnostic(Location(self._name, *position), message))


class _Event(enum.Enum):
    SCALAR = enum.auto()
    START = enum.auto()  # of a mapping or a sequence
    END = enum.auto()  # of a mapping or a sequence
    ALIAS = enum.auto()
    DOCUMENT_END = enum.auto()
    OTHER = enum.auto()


_EVENT_KINDS: dict[type[Any], _Event] = {
    yaml.ScalarEvent: _Event.SCALAR,
    yaml.MappingStartEvent: _Event.START,
    yaml.SequenceStartEvent: _Event.START,
    yaml.MappingEndEvent: _Event.END,
    yaml.SequenceEndEvent: _Event.END,
    yaml.AliasEvent: _Event.ALIAS,
    yaml.DocumentEndEvent: _Event.DOCUMENT_END,
}


def _event_kind(event: yaml.Event) -> _Event:
    for cls, kind in _EVENT_KINDS.items():
        if isinstance(event, cls):
            return kind
    return _Event.OTHER


def _merged(frame: _Frame) -> dict[Any, Any]:
    merged: dict[Any, Any] = {}
    for source in frame.merges:
        merged.update(source)
    merged.update(frame.value)
    return merged

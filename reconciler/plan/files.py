"""What the plan does with a local file given as an Execution input (read by
``reconciler.manifests.files``): the upload locations to ask DataProxy for, the remote URI the
run gets, the uploads apply makes, and how plans show the input (path and MD5, never content).

The upload is content-addressed: DataProxy's ``CreateUploadLocation`` with ``filename_root`` =
the content's MD5 and the file's name gives the same remote location for the same content, so
the run's input literal, and with it the request the plan holds, stays the same while the file
does. The location is asked for at plan time (``Needs.uploads``, the same read that gives a
Registration's code tarball its remote path); apply uploads through the same ``UploadPackage``
operation, which skips content that is already there (see ``reconciler.apply.run``).

Identity: the Execution's spec digest (``reconciler.flyte.org/spec``) covers each local input as
its path and MD5 (:func:`digest_view`), so a changed file on a launched run is a conflict, whose
diff shows the path with the old and new digests (:func:`shown_stored` reads the old digest back
from the run's input URI, which names it).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from flyteidl.core import types_pb2
from flyteidl.service import dataproxy_pb2

from reconciler.admin.literals import literal_type_name
from reconciler.manifests.files import PATH_KEY, LocalFile, local_path
from reconciler.manifests.load import Manifest
from reconciler.plan.calls import operation
from reconciler.plan.common import Problems
from reconciler.plan.model import Operation

UploadNeed = tuple[str, str, str, str, bytes]
"""(project, domain, filename_root, filename, md5): an upload location to ask for."""
UploadKey = tuple[str, str, str, str]
"""(project, domain, filename_root, filename): where ``Actual.upload_urls`` keeps its answer."""
_HEX_MD5 = re.compile(r"[0-9a-f]{32}")
_MULTIPART = types_pb2.BlobType.MULTIPART


def upload_needs(project: str, domain: str, files: Mapping[str, LocalFile]) -> set[UploadNeed]:
    """The upload locations to read for the files an Execution manifest names."""
    return {
        (project, domain, local.digest, member.name, member.md5)
        for local in files.values()
        if local.problem is None
        for member in local.members
    }


def shape(literal_type: types_pb2.LiteralType) -> str | None:
    """``file``, ``directory`` or ``dataset`` for the types a local path can give (also as the
    one such variant of a union, ``Optional[FlyteFile]``), else None."""
    kind = literal_type.WhichOneof("type")
    if kind == "blob":
        return "directory" if literal_type.blob.dimensionality == _MULTIPART else "file"
    if kind == "structured_dataset_type":
        return "dataset"
    if kind == "union_type":
        shapes = {shape(v) for v in literal_type.union_type.variants} - {None}
        return shapes.pop() if len(shapes) == 1 else None
    return None


def with_remote_uris(
    manifest: Manifest[Any],
    inputs: Mapping[str, Any],
    interface: Mapping[str, types_pb2.LiteralType],
    files: Mapping[str, LocalFile],
    upload_urls: Mapping[UploadKey, str],
    problems: Problems,
) -> tuple[dict[str, Any], dict[str, LocalFile]] | None:
    """``inputs`` with each local path replaced by the remote URI its upload gets, and the local
    files so used; None when one cannot be used (each reason added to ``problems``). A ``{path:
    ...}`` value of a structured (dataclass) input is an ordinary value and stays as it is."""
    out = dict(inputs)
    used: dict[str, LocalFile] = {}
    failed = False
    for name, local in sorted(files.items()):
        literal_type = interface.get(name)
        if literal_type is None:
            continue  # not an input of the target: the codec names it with the known ones
        where = ("spec", "inputs", name, PATH_KEY)
        kind = shape(literal_type)
        problem = local.problem
        if kind is None:
            if literal_type.simple == types_pb2.SimpleType.STRUCT:
                continue
            problem = (
                f"input {name!r} is {literal_type_name(literal_type)}: only a file, directory or "
                "structured dataset input can be given as a local path"
            )
        elif problem is None and kind == "file" and local.directory:
            problem = f"{local.written} is a directory; input {name!r} is a single file"
        elif problem is None and kind == "directory" and not local.directory:
            problem = f"{local.written} is a file; input {name!r} is a directory"
        uri = remote_uri(local, manifest.project, manifest.domain, upload_urls)
        if problem is None and uri is None:
            problem = f"DataProxy gave no upload location for {local.written}"
        if problem is not None or uri is None:
            problems.add(manifest.diagnostic(where, problem or ""))
            failed = True
            continue
        out[name] = uri
        used[name] = local
    return None if failed else (out, used)


def remote_uri(
    local: LocalFile, project: str, domain: str, upload_urls: Mapping[UploadKey, str]
) -> str | None:
    """Where the upload puts a file (its native URL), or a directory (the root its files share,
    as flytekit's ``FlyteFS`` makes a directory's URI the common prefix of its files')."""
    if local.problem is not None or not local.members:
        return None
    first = local.members[0]
    url = upload_urls.get((project, domain, local.digest, first.name))
    if url is None or not local.directory:
        return url
    return url.rsplit("/", first.name.count("/") + 1)[0]


def uploads(project: str, domain: str, files: Mapping[str, LocalFile]) -> tuple[Operation, ...]:
    """The uploads a run's launch needs first, one per file, each file once."""
    requests: dict[tuple[str, str], Operation] = {}
    for _, local in sorted(files.items()):
        for member in local.members:
            request = dataproxy_pb2.CreateUploadLocationRequest(
                project=project,
                domain=domain,
                filename=member.name,
                filename_root=local.digest,
                content_md5=member.md5,
            )
            requests[(local.digest, member.name)] = operation(request, payload=member.data)
    return tuple(requests.values())


def digest_view(spec: Mapping[str, Any], files: Mapping[str, LocalFile]) -> dict[str, Any]:
    """A manifest spec (as dumped for the spec digest) with each local path given with the
    content's MD5, so that the digest changes when the file does."""
    inputs = dict(spec.get("inputs") or {})
    for name, local in files.items():
        if local.problem is None and local_path(inputs.get(name)) is not None:
            inputs[name] = {PATH_KEY: local.written, "md5": local.digest}
    return {**spec, "inputs": inputs} if inputs else dict(spec)


def show(view: dict[str, Any], used: Mapping[str, LocalFile]) -> None:
    """Show each local input in a plan view (in place) as its path and MD5, not its URI."""
    inputs = view.get("inputs")
    if isinstance(inputs, dict):
        for name, local in used.items():
            if name in inputs:
                inputs[name] = local.shown


def shown_stored(value: Any, local: LocalFile) -> Any:
    """A launched run's input, given from ``local``'s path then, as that path with the MD5 its
    URI names (``.../<md5>/<name>`` for a file, ``.../<md5>`` for a directory); any other
    value as it is."""
    uri = value.get("uri") if isinstance(value, Mapping) else value
    if not isinstance(uri, str):
        return value
    parts = [urllib.parse.unquote(p) for p in uri.rstrip("/").split("/")]
    if local.directory:
        root = parts[-1] if parts else ""
    else:
        name = local.members[0].name if local.members else ""
        root = parts[-2] if len(parts) > 1 and parts[-1] == name else ""
    if not _HEX_MD5.fullmatch(root):
        return value
    return f"{local.written} (md5 {root})"

"""Real files for the file and directory outputs of the engine's simulated task nodes.

User code never runs here (engine.py), so a ``FlyteFile`` or ``FlyteDirectory`` output has no
content of its own. The engine still writes one, so that a client can fetch it the way it would
fetch a real run's output (``reconciler outputs --download``, or flytekit from the URI): a file
(for a directory, one file ``output.txt`` in it) holding one line that names the output, the
node and the execution, so every output's content is deterministic and tells where it came
from. They live in the blob store (``dataproxy.BLOB_DIR``) under
``outputs/<project>/<domain>/<execution>/<node>/<output>``, whose ``file://`` URLs DataProxy's
``CreateDownloadLocation`` signs for the loopback blob server. Other types keep their zero value
(``literals.default_literal``), which also gives the items of a map task's outputs empty files
in the same place.
"""

from __future__ import annotations

from pathlib import Path

from flyteidl.core import identifier_pb2, literals_pb2, types_pb2

from reconciler.localadmin import literals
from reconciler.localadmin.dataproxy import BLOB_DIR

DIRECTORY_FILE = "output.txt"


def node_dir(
    data_dir: Path, execution: identifier_pb2.WorkflowExecutionIdentifier, node_id: str
) -> Path:
    """Where the outputs of one node of one execution are written."""
    return (
        data_dir / BLOB_DIR / "outputs" / execution.project / execution.domain / execution.name
    ) / node_id


def content(
    execution: identifier_pb2.WorkflowExecutionIdentifier, node_id: str, output: str
) -> str:
    """What a simulated file output holds."""
    run = "/".join((execution.project, execution.domain, execution.name))
    return f"simulated output {output} of node {node_id} of execution {run}\n"


def simulated_output(
    literal_type: types_pb2.LiteralType,
    where: Path,
    execution: identifier_pb2.WorkflowExecutionIdentifier,
    node_id: str,
    output: str,
) -> literals_pb2.Literal:
    """The value of output ``output`` of a node: a real file at ``where`` for a blob, a
    directory there holding one for a multipart blob, else the type's zero value."""
    if literal_type.WhichOneof("type") != "blob":
        return literals.default_literal(literal_type, where)
    text = content(execution, node_id, output)
    if literal_type.blob.dimensionality == types_pb2.BlobType.MULTIPART:
        where.mkdir(parents=True, exist_ok=True)
        (where / DIRECTORY_FILE).write_text(text, "utf-8")
    else:
        where.parent.mkdir(parents=True, exist_ok=True)
        where.write_text(text, "utf-8")
    blob = literals_pb2.Blob(
        uri=where.as_uri(), metadata=literals_pb2.BlobMetadata(type=literal_type.blob)
    )
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(blob=blob))

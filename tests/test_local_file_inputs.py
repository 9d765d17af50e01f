"""Reading local files given as inputs (``manifests/files.py``) and which input types take them
(``plan/files.py``), without Admin."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flyteidl.core import types_pb2

from reconciler.manifests.files import local_path, read_local_file
from reconciler.plan.files import shape, shown_stored
from tests.conftest import write

FILE = types_pb2.LiteralType(blob=types_pb2.BlobType())
DIRECTORY = types_pb2.LiteralType(
    blob=types_pb2.BlobType(dimensionality=types_pb2.BlobType.MULTIPART)
)
DATASET = types_pb2.LiteralType(
    structured_dataset_type=types_pb2.StructuredDatasetType(format="parquet")
)
NONE = types_pb2.LiteralType(simple=types_pb2.SimpleType.NONE)
INT = types_pb2.LiteralType(simple=types_pb2.SimpleType.INTEGER)


def _union(*variants: types_pb2.LiteralType) -> types_pb2.LiteralType:
    return types_pb2.LiteralType(union_type=types_pb2.UnionType(variants=list(variants)))


def test_only_a_single_path_key_that_is_no_uri_is_a_local_file() -> None:
    assert local_path({"path": "./data/jan.csv"}) == "./data/jan.csv"
    assert local_path({"path": "s3://bucket/jan.csv"}) is None
    assert local_path({"path": "./x", "other": 1}) is None
    assert local_path("./data/jan.csv") is None


def test_files_directories_datasets_and_their_optionals_take_a_path() -> None:
    assert shape(FILE) == "file"
    assert shape(DIRECTORY) == "directory"
    assert shape(DATASET) == "dataset"
    assert shape(_union(FILE, NONE)) == "file"
    assert shape(_union(FILE, DIRECTORY)) is None  # which one would be ambiguous
    assert shape(INT) is None


def test_a_directory_digest_covers_names_and_contents(tmp_path: Path) -> None:
    write(tmp_path / "d" / "a.txt", "a\n")
    write(tmp_path / "d" / "sub" / "b.txt", "b\n")
    first = read_local_file(tmp_path, "d")
    assert first.problem is None
    assert [m.name for m in first.members] == ["a.txt", "sub/b.txt"]
    (tmp_path / "d" / "sub" / "b.txt").rename(tmp_path / "d" / "sub" / "c.txt")
    renamed = read_local_file(tmp_path, "d")
    assert renamed.digest != first.digest
    assert read_local_file(tmp_path, "d").digest == renamed.digest  # stable


def test_a_file_digest_is_its_md5_and_a_stored_uri_shows_it_back(tmp_path: Path) -> None:
    write(tmp_path / "jan.csv", "x,1\n")
    local = read_local_file(tmp_path, "./jan.csv")
    assert local.digest == hashlib.md5(b"x,1\n").hexdigest()
    old = "0" * 32
    uri = f"s3://bucket/flytesnacks/development/{old}/jan.csv"
    assert shown_stored(uri, local) == f"./jan.csv (md5 {old})"
    assert shown_stored("s3://bucket/elsewhere/jan.csv", local) == "s3://bucket/elsewhere/jan.csv"


def test_empty_directories_and_missing_paths_are_problems(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert read_local_file(tmp_path, "empty").problem == "empty is an empty directory"
    assert (read_local_file(tmp_path, "nope.csv").problem or "").startswith(
        "nope.csv does not exist"
    )


def test_a_directory_input_never_takes_git_metadata_along(tmp_path: Path) -> None:
    write(tmp_path / "data" / "a.csv", "1\n")
    write(tmp_path / "data" / ".git" / "config", "[credential]\n\thelper = store\n")
    write(tmp_path / "data" / "sub" / ".git", "gitdir: ../../.git/modules/sub\n")
    write(tmp_path / "data" / "sub" / "b.csv", "2\n")
    local = read_local_file(tmp_path, "data")
    assert [m.name for m in local.members] == ["a.csv", "sub/b.csv"]

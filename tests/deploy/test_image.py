"""deploy/Dockerfile and .dockerignore, checked statically (no Docker engine runs here), read by
Docker's own parser: a pinned Python that the package supports, everything pyproject.toml
builds from in the build context and copied, the real console script as entrypoint, a non-root
user, git for GitPython."""

from __future__ import annotations

import functools
import re
from pathlib import PurePosixPath
from typing import Any

import pytest

from tests.deploy.recipes import (
    DOCKERFILE,
    DOCKERIGNORE,
    REPO,
    Instruction,
    dockerfile_stages,
    dockerignore_patterns,
    excluded_from_context,
)

PATTERNS = dockerignore_patterns(DOCKERIGNORE.read_text("utf-8"))


@functools.cache
def stages() -> list[list[Instruction]]:
    """Read when a test asks, so that a Dockerfile the parser rejects fails the tests that
    need it instead of the whole collection."""
    return dockerfile_stages(DOCKERFILE)


def build_stage() -> list[Instruction]:
    return stages()[0]


def final_stage() -> list[Instruction]:
    return stages()[-1]


def pyproject() -> dict[str, Any]:
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11+")
    return dict(tomllib.loads((REPO / "pyproject.toml").read_text("utf-8")))


def instructions(stage: list[Instruction], keyword: str) -> list[Instruction]:
    return [i for i in stage if i.keyword == keyword]


def texts(stage: list[Instruction], keyword: str) -> list[str]:
    return [i.text for i in instructions(stage, keyword)]


def copied_from_context() -> list[str]:
    """The context paths the COPY instructions name (not those copied from another stage)."""
    sources = []
    for stage in stages():
        for copy in instructions(stage, "COPY"):
            if any(flag.startswith("--from") for flag in copy.flags):
                continue
            sources += [source.rstrip("/") for source in copy.values[:-1]]
    return sources


def context_files() -> set[str]:
    """Every file of the repository that ends up in the build context."""
    found = set()
    for path in REPO.rglob("*"):
        relative = path.relative_to(REPO).as_posix()
        if relative.startswith((".git/", ".venv/")) or relative in (".git", ".venv"):
            continue
        if path.is_file() and not excluded_from_context(relative, PATTERNS):
            found.add(relative)
    return found


def test_both_stages_build_from_the_same_pinned_python_the_package_supports() -> None:
    images = [stage[0].values[0] for stage in stages()]
    assert len(stages()) == 2
    assert len(set(images)) == 1, "the venv is copied between stages: same interpreter"
    match = re.fullmatch(r"python:(3)\.(\d+)-slim-[a-z]+", images[0])
    assert match, f"{images[0]}: pin python:3.X-slim-<debian release>"
    requires = pyproject()["project"]["requires-python"]
    minimum = re.fullmatch(r">=\s*3\.(\d+)", requires)
    assert minimum, f"requires-python {requires!r}: teach this test the new form"
    assert int(match.group(2)) >= int(minimum.group(1))


def test_entrypoint_is_the_console_script_and_the_user_is_not_root() -> None:
    (entrypoint,) = instructions(final_stage(), "ENTRYPOINT")
    assert entrypoint.exec_form, "exec form: signals reach the reconciler, not a shell"
    assert entrypoint.values == ("reconciler",)
    assert entrypoint.values[0] in pyproject()["project"]["scripts"]
    (user,) = texts(final_stage(), "USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit(), "numeric, so that runAsNonRoot can check it"
    assert int(uid) != 0
    assert gid.isdigit()
    assert int(gid) != 0
    # HOME is the working directory, where the Kubernetes recipes mount their emptyDir
    (workdir,) = texts(final_stage(), "WORKDIR")
    (env,) = instructions(final_stage(), "ENV")
    assert dict(zip(env.values[::2], env.values[1::2], strict=True))["HOME"] == workdir
    assert re.search(r"--uid\s+" + uid + r"\b", " ".join(texts(final_stage(), "RUN")))


def test_the_final_image_has_git_for_gitpython() -> None:
    installs = " ".join(v for v in texts(final_stage(), "RUN") if "apt-get install" in v)
    assert re.search(r"\bgit\b", installs)
    assert "rm -rf /var/lib/apt/lists" in installs


def test_flytekit_is_an_opt_in_build_argument() -> None:
    assert 'EXTRAS=""' in texts(build_stage(), "ARG")
    (install,) = [v for v in texts(build_stage(), "RUN") if "pip install" in v]
    assert "${EXTRAS:+[$EXTRAS]}" in install
    assert "flytekit" not in install


def test_the_build_context_holds_what_pyproject_builds_from() -> None:
    project = pyproject()
    copied = copied_from_context()
    in_context = context_files()

    def is_copied(path: str) -> bool:
        return any(path == source or path.startswith(source + "/") for source in copied)

    needed = {"pyproject.toml", project["project"]["readme"]}
    setuptools = project["tool"]["setuptools"]
    packages = {p.rstrip("*").rstrip(".") for p in setuptools["packages"]["find"]["include"]}
    for package in packages:
        needed |= {
            p.relative_to(REPO).as_posix()
            for p in (REPO / package).rglob("*.py")
            if "__pycache__" not in p.parts
        }
    for package, files in setuptools.get("package-data", {}).items():
        needed |= {f"{package.replace('.', '/')}/{name}" for name in files}
    assert "reconciler/cli.py" in needed
    for path in sorted(needed):
        assert (REPO / path).is_file(), path
        assert path in in_context, f"{path} is excluded by .dockerignore"
        assert is_copied(path), f"{path} is not copied by the Dockerfile"


def test_the_build_context_leaves_out_tests_state_and_history() -> None:
    for path in ("tests/conftest.py", ".venv/bin/python", ".git/HEAD", "bench/plan_bench.py"):
        assert excluded_from_context(path, PATTERNS), path
    for path in ("reconciler/__pycache__/cli.cpython-311.pyc", ".reconciler/local-admin.db"):
        assert excluded_from_context(path, PATTERNS), path
    assert not excluded_from_context("reconciler/py.typed", PATTERNS)


def test_dockerignore_reading_follows_dockers_rules() -> None:
    patterns = dockerignore_patterns("*\n!keep/\nkeep/**/*.tmp\n/docs\n")
    assert excluded_from_context("anything.txt", patterns)
    assert not excluded_from_context("keep/a/b.py", patterns)
    assert excluded_from_context("keep/a/b.tmp", patterns)
    assert excluded_from_context("keep/b.tmp", patterns)
    assert excluded_from_context(str(PurePosixPath("docs", "x.md")), patterns)

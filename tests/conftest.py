from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.cli import main

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "manifests-examples"


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def _isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No developer's ~/.flyte/config.yaml or FLYTE_* variables leak into a test."""
    import os

    for name in list(os.environ):
        if name.startswith("FLYTE") or name == "RECONCILER_DEBUG":
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run ``reconciler ARGS...`` in-process through the real entry point (exit code mapping
    included) and return what it printed."""

    def run(*args: str | Path) -> CliResult:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main([str(a) for a in args])
        captured = capsys.readouterr()
        code = exited.value.code
        return CliResult(code if isinstance(code, int) else 1, captured.out, captured.err)

    return run


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path

"""The README's first command: manifests-examples/ applied end to end on the local Admin."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLES

pytestmark = pytest.mark.timeout(300)


def test_examples_apply_end_to_end_and_then_plan_empty(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a path relative to the working directory, as `make demo`'s `--endpoint local` has
    monkeypatch.chdir(tmp_path)
    endpoint = ("--endpoint", "local:state/admin.db")
    first = run_cli("apply", EXAMPLES, "--auto-approve", *endpoint)
    assert first.code == 0, first.out + first.err
    assert "Apply: 18 done, 0 failed." in first.out
    assert "? Signal/flytesnacks/production/close-2026-11/release_ok  (wait)" in first.out
    # by now the run waits at its approval gate: the second apply approves it
    second = run_cli("apply", EXAMPLES, "--auto-approve", *endpoint)
    assert second.code == 0, second.out + second.err
    assert "ok Signal/flytesnacks/production/close-2026-11/release_ok: set" in second.out
    last = run_cli("plan", EXAMPLES, "--detailed-exitcode", *endpoint)
    assert last.code == 0, last.out + last.err
    assert "Plan: 19 unchanged." in last.out

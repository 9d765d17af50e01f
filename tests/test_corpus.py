"""Broken and hostile manifests: every one is refused with its location, never a traceback."""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

import pytest

from tests.conftest import REPO

CORPUS = REPO / "tests" / "corpus" / "invalid"
_EXPECT = re.compile(
    r"#\s*expect:\s*(?:(?P<file>[^:\s]+\.ya?ml):)?(?P<line>\d+):(?P<col>\d+):\s*(?P<text>.*)"
)
# Files that cannot carry a comment say what they expect here.
_SIDE_EXPECTATIONS = {"31-empty.yaml": [("31-empty.yaml:1:1: ", "file holds no manifests")]}
_LOCATED = re.compile(r"^\S+\.ya?ml:\d+:\d+: ")


def _cases() -> list[Path]:
    return sorted(CORPUS.iterdir())


def _expectations(case: Path) -> list[tuple[str, str]]:
    """(location prefix, message text) pairs from the case's ``# expect:`` comments."""
    if case.name in _SIDE_EXPECTATIONS:
        return _SIDE_EXPECTATIONS[case.name]
    files = sorted(case.rglob("*.y*ml")) if case.is_dir() else [case]
    found = []
    for file in files:
        for line in file.read_text("utf-8").splitlines():
            match = _EXPECT.match(line)
            if match:
                target = match["file"] or file.name
                shown = f"{case.name}/{target}" if case.is_dir() else target
                found.append((f"{shown}:{match['line']}:{match['col']}: ", match["text"]))
    return found


def test_corpus_is_large_enough() -> None:
    assert len(_cases()) >= 30


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.name)
def test_broken_manifest_is_refused_with_its_location(
    case: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _expectations(case)
    assert expected, f"{case.name} declares no '# expect:' line"
    monkeypatch.chdir(CORPUS)
    result = run_cli("validate", case.name)
    assert result.code == 1
    assert "Traceback" not in result.out + result.err
    lines = result.out.splitlines()
    problems = lines[:-1]
    assert problems, result.out
    assert all(_LOCATED.match(line) for line in problems), result.out
    assert lines[-1].startswith("invalid: ")
    for where, text in expected:
        assert any(line.startswith(where) and text in line for line in problems), (
            f"expected a line at {where} saying\n  {text}\ngot\n{result.out}"
        )


# --- generated hostile input ----------------------------------------------------------------

_LP = "apiVersion: reconciler/v1\nkind: LaunchPlan\nmetadata: {name: lp, project: p, domain: d}\n"


def _validate(run_cli, monkeypatch: pytest.MonkeyPatch, directory: Path, name: str):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(directory)
    result = run_cli("validate", name)
    assert result.code == 1
    assert "Traceback" not in result.out + result.err
    return result


def test_non_utf8_file_names_the_first_bad_byte(run_cli, tmp_path: Path, monkeypatch) -> None:
    text = _LP + "spec:\n  workflow: {name: caf\xe9, version: v1}\n"
    (tmp_path / "latin1.yaml").write_bytes(text.encode("latin-1"))
    result = _validate(run_cli, monkeypatch, tmp_path, "latin1.yaml")
    assert result.out.startswith("latin1.yaml:5:23: file is not valid UTF-8 (byte 0xe9)")


def test_non_utf8_after_a_byte_order_mark_names_the_bad_byte(
    run_cli, tmp_path: Path, monkeypatch
) -> None:
    # Found by fuzzing: the decoder's offsets start after the BOM, so the message named the
    # byte three places earlier, and a cut multibyte character was an internal error.
    text = "\ufeff" + _LP + 'spec:\n  workflow: {name: wf, version: "\u00e9\u00e9'
    (tmp_path / "bom.yaml").write_bytes(text.encode("utf-8")[:-1])
    result = _validate(run_cli, monkeypatch, tmp_path, "bom.yaml")
    assert result.out.startswith("bom.yaml:5:35: file is not valid UTF-8 (byte 0xc3)"), result.out
    (tmp_path / "bom.yaml").write_bytes("\ufeffkind: caf".encode() + b"\xe9\n")
    result = _validate(run_cli, monkeypatch, tmp_path, "bom.yaml")
    assert result.out.startswith("bom.yaml:1:10: file is not valid UTF-8 (byte 0xe9)"), result.out


def test_ten_megabyte_file_is_refused_without_reading_it(
    run_cli, tmp_path: Path, monkeypatch
) -> None:
    big = tmp_path / "big.yaml"
    with big.open("w", encoding="utf-8") as out:
        out.write(_LP + "spec:\n  workflow: {name: wf, version: v1}\n  defaultInputs:\n")
        for i in range(500_000):
            out.write(f"    input_{i}: value\n")
    assert big.stat().st_size > 10 * 1024 * 1024
    tracemalloc.start()
    result = _validate(run_cli, monkeypatch, tmp_path, "big.yaml")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    size_mib = big.stat().st_size / 1024 / 1024
    assert result.out.startswith(f"big.yaml:1:1: file is {size_mib:.1f} MiB")
    assert "larger than 4 MiB are refused" in result.out
    assert peak < 5 * 1024 * 1024


def test_alias_bomb_is_refused_in_bounded_memory(run_cli, tmp_path: Path, monkeypatch) -> None:
    # "billion laughs": each level repeats the previous one nine times, 9**9 values in all.
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"l{level}: &l{level} [{refs}]")
    text = _LP + "spec:\n  workflow: {name: wf, version: v1}\n  defaultInputs:\n"
    text += "".join(f"    {line}\n" for line in lines)
    (tmp_path / "bomb.yaml").write_text(text, "utf-8")
    tracemalloc.start()
    result = _validate(run_cli, monkeypatch, tmp_path, "bomb.yaml")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert re.match(r"bomb\.yaml:\d+:\d+: document expands to more than 200,000 values", result.out)
    assert peak < 50 * 1024 * 1024


def test_deep_nesting_is_refused(run_cli, tmp_path: Path, monkeypatch) -> None:
    depth = 5_000
    (tmp_path / "deep.yaml").write_text(
        _LP + "spec:\n  defaultInputs: {x: " + "[" * depth + "]" * depth + "}\n", "utf-8"
    )
    result = _validate(run_cli, monkeypatch, tmp_path, "deep.yaml")
    assert re.match(r"deep\.yaml:5:\d+: ", result.out)
    assert "nest" in result.out


def test_deep_block_nesting_within_libyaml_limits_is_refused(
    run_cli, tmp_path: Path, monkeypatch
) -> None:
    body = "".join("  " * i + f"k{i}:\n" for i in range(150)) + "  " * 150 + "leaf: 1\n"
    (tmp_path / "deep.yaml").write_text(
        _LP + "spec:\n" + "".join("  " + line + "\n" for line in body.splitlines()), "utf-8"
    )
    result = _validate(run_cli, monkeypatch, tmp_path, "deep.yaml")
    assert "values nest deeper than 100 levels" in result.out


def test_binary_garbage_is_refused(run_cli, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "garbage.yaml").write_bytes(bytes(range(256)) * 4)
    result = _validate(run_cli, monkeypatch, tmp_path, "garbage.yaml")
    assert re.match(r"garbage\.yaml:\d+:\d+: ", result.out)


def test_all_problems_across_files_are_reported_not_the_first(
    run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(CORPUS)
    result = run_cli("validate", ".")
    assert result.code == 1
    reported_files = {line.split(":", 1)[0] for line in result.out.splitlines()[:-1]}
    # every case contributes at least one problem to one combined run
    for case in _cases():
        prefix = f"{case.name}/" if case.is_dir() else case.name
        assert any(f.startswith(prefix) for f in reported_files), case.name

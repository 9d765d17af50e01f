"""The YAML reader: values as yaml.safe_load gives them, plus positions and safety limits."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import yaml

from reconciler.manifests.yamlread import read_text


def _one(text: str):  # type: ignore[no-untyped-def]
    read = read_text(text, "f.yaml")
    assert read.diagnostics == []
    assert len(read.documents) == 1
    return read.documents[0]


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: [1, 2.5, true, null, ~, 'x', \"y\"]\nc: {d: e}\n",
        "when: 2026-11-30T00:00:00Z\nday: 2026-11-30\nyes_: yes\noct: 0o17\nhex: 0x1F\n",
        "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n",
        "multi: |\n  line one\n  line two\nfolded: >\n  a\n  b\n",
        "- 1\n- - 2\n  - 3\n",
        "inf: .inf\nnan_is_str: 'nan'\nempty:\n",
    ],
)
def test_values_match_yaml_safe_load(text: str) -> None:
    assert _one(text).data == yaml.safe_load(text)


def test_positions_of_values_and_keys_are_one_based() -> None:
    doc = _one("spec:\n  schedule:\n    cron: '61 * * * *'\n  labels: [a, b]\n")
    assert doc.positions.values[("spec", "schedule", "cron")] == (3, 11)
    assert doc.positions.keys[("spec", "schedule", "cron")] == (3, 5)
    assert doc.positions.values[("spec", "labels", 1)] == (4, 15)
    assert str(doc.location(("spec", "schedule", "cron"))) == "f.yaml:3:11"


def test_missing_path_falls_back_to_closest_ancestor() -> None:
    doc = _one("spec:\n  schedule: {cron: x}\n")
    assert doc.location(("spec", "schedule", "rate", "value")).line == 2


def test_timestamps_are_timezone_aware_when_written_with_a_zone() -> None:
    doc = _one("t: 2026-11-30T06:00:00Z\n")
    assert doc.data["t"] == datetime(2026, 11, 30, 6, tzinfo=timezone.utc)


def test_several_documents_keep_their_own_positions() -> None:
    read = read_text("a: 1\n---\n\n\nb: 2\n", "f.yaml")
    assert [d.data for d in read.documents] == [{"a": 1}, {"b": 2}]
    assert read.documents[1].positions.values[("b",)] == (5, 4)
    assert [d.index for d in read.documents] == [0, 1]


def test_duplicate_keys_are_reported_with_both_lines() -> None:
    read = read_text("a: 1\nb: 2\na: 3\n", "f.yaml")
    [problem] = read.diagnostics
    assert str(problem) == "f.yaml:3:1: a: duplicate key 'a' (first defined at line 1)"


def test_explicit_keys_win_over_merged_ones_and_earlier_merges_win() -> None:
    doc = _one("x: &x {a: 1, b: 1}\ny: &y {b: 2, c: 2}\nz:\n  <<: [*x, *y]\n  c: 3\n")
    assert doc.data["z"] == {"a": 1, "b": 1, "c": 3}


def test_alias_as_a_mapping_key_is_allowed_for_scalars() -> None:
    doc = _one("k: &k name\nm: {*k : 1}\n")
    assert doc.data["m"] == {"name": 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: !!python/name:os.system x\n", "unsupported YAML tag !!python/name:os.system"),
        ("a: !!binary aGk=\n", "unsupported YAML tag !!binary"),
        ("a: !custom x\n", "unsupported YAML tag !custom"),
        ("a: !!set {x}\n", "unsupported YAML tag !!set"),
        ("? [a, b]\n: 1\n", "mapping keys must be plain values"),
        ("a: *missing\n", "unknown alias *missing"),
        ("a: !!int twelve\n", "cannot read value 'twelve' as !!int"),
        ("a: [1, 2\n", "YAML syntax error"),
        ("a: b: c\n", "YAML syntax error: mapping values are not allowed"),
    ],
)
def test_unsafe_or_broken_input_becomes_a_located_diagnostic(text: str, message: str) -> None:
    read = read_text(text, "f.yaml")
    assert len(read.diagnostics) == 1
    assert message in read.diagnostics[0].message
    assert read.diagnostics[0].location.line >= 1


def test_documents_before_a_syntax_error_are_kept() -> None:
    read = read_text("a: 1\n---\nb: [\n", "f.yaml")
    assert [d.data for d in read.documents] == [{"a": 1}]
    assert "YAML syntax error" in read.diagnostics[0].message


def test_a_modest_use_of_aliases_is_fine() -> None:
    text = "l: &l [1, 2, 3]\n" + "".join(f"k{i}: *l\n" for i in range(1000))
    assert len(_one(text).data) == 1001

"""The local Admin's package docstring says its layout as it is: it names every module, and
each table of the store is written by exactly the one module the docstring names as its owner
(read from the code: the ``store.insert/update/delete("<table>", ...)`` calls)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import reconciler.localadmin
from reconciler.localadmin import store

PACKAGE = Path(reconciler.localadmin.__file__).parent
DOC = reconciler.localadmin.__doc__ or ""
WRITES = {"insert", "update", "delete"}


def _documented_owners() -> dict[str, str]:
    block = DOC.split("Each table has one module that writes it")[1].split("::")[1]
    owners = {}
    for line in block.splitlines():
        tables, _, module = line.strip().rpartition(" ")
        for table in filter(None, (t.strip() for t in tables.split(","))):
            owners[table] = module.removesuffix(".py")
    return owners


def _writers(source: str) -> set[str]:
    """The tables a module writes through the store."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in WRITES
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "store"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(str(node.args[0].value))
    return found


def _written_by() -> dict[str, set[str]]:
    tables: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.glob("*.py")):
        for table in _writers(path.read_text()):
            tables.setdefault(table, set()).add(path.stem)
    return tables


def test_the_docstring_names_every_module_of_the_package() -> None:
    modules = {p.name for p in PACKAGE.glob("*.py")} - {"__init__.py"}
    named = set(re.findall(r"^\s+(\w+\.py)\s", DOC, re.MULTILINE))
    assert named == modules


def test_the_docstring_names_an_owner_for_every_table_of_the_store() -> None:
    tables = set(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", store._SCHEMA))
    assert set(_documented_owners()) == tables


def test_each_table_is_written_by_its_owner_only() -> None:
    owners = _documented_owners()
    written = _written_by()
    assert written  # the scan finds the writes at all
    assert {table: {owners[table]} for table in written} == written


def test_the_scan_sees_a_write_from_a_second_module() -> None:
    source = 'def f(self):\n    self.store.update("executions", {}, {})\n'
    assert _writers(source) == {"executions"}

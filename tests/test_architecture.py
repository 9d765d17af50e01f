"""The shape of the package: who may import whom, and where terminal I/O may happen.

Layers, low to high; a module imports only from its own layer or below (its own layer only
without forming a cycle: no module-level import cycles at all, lazy imports inside functions
included)::

    0  reconciler (the package itself), errors, diagnostics, protos, shard, canonical, jsontypes
    1  manifests, config     what git holds: manifests and reconciler.yaml (each reads the other's
                             types: the settings hold manifest field types, the loader reads them)
       redact                keeping what manifests resolved from ``${env:...}`` out of plans
                             and reports (its rules read the manifests' references)
    2  admin                 the gRPC client, auth, literals; and admin/session, which may start
                             the local Admin
    3  packages, read        pyflyte packages and serialized Python source; what Admin has for
                             the resources the manifests name
    4  plan, kinds           the plan's vocabulary (the Plan, diff) and the resource kinds that
                             use it, one module each (``kinds.KINDS``); ``plan.make`` loops over
                             that table, so the two share a layer
    5  pipeline              manifest paths -> a Plan (what the commands and the loop share)
    6  apply                 carry a plan out; follow launched runs
    7  render                the typed reports and their renderers, on a given stream
    8  loop                  the reconcile loop
    9  commands              one function per command: options in, report rendered, outcome out
    10 cli, __main__         click, and exit codes

``localadmin`` (the local FlyteAdmin) stands apart: it imports nothing of the reconciler but
itself, and is reached only through its package's public API (``reconciler.localadmin``), from
``admin/session.py`` (``--endpoint local``) and ``commands/localadmin.py`` (``local-admin
serve``).

No terminal I/O below the commands: only ``cli``, ``commands`` and ``render`` import click
(renderers use it for colour only on a terminal, on the stream they are given), and only
``cli`` and ``commands`` touch ``sys.stdin``/``stdout``/``stderr``, ``print`` or ``input``;
everything else is handed streams and callbacks.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

import reconciler

PACKAGE = Path(reconciler.__file__).parent
LAYERS: tuple[tuple[str, ...], ...] = (
    ("", "errors", "diagnostics", "protos", "shard", "canonical", "jsontypes"),
    ("manifests", "config", "redact"),
    ("admin",),
    ("packages", "read"),
    ("plan", "kinds"),
    ("pipeline",),
    ("apply",),
    ("render",),
    ("loop",),
    ("commands",),
    ("cli", "__main__"),
)
LOCALADMIN = "reconciler.localadmin"
REACHES_LOCALADMIN = frozenset({"reconciler.admin.session", "reconciler.commands.localadmin"})
# where terminal I/O may happen: click (and through it, colour on a terminal) ...
CLICK_ALLOWED = ("cli", "__main__", "commands", "render")
# ... and the process's own streams, print and input
STREAMS_ALLOWED = ("cli", "__main__", "commands")


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()
TREES = {name: ast.parse(path.read_text("utf-8"), str(path)) for name, path in MODULES.items()}


def _imports(name: str, tree: ast.AST, modules: Iterable[str]) -> set[str]:
    """The reconciler modules ``name`` imports, anywhere in it (inside functions too)."""
    known = set(modules)
    package = name if MODULES.get(name, Path()).name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # ``from reconciler.kinds import backfill`` imports the module reconciler.kinds.backfill
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            module = target
            while module not in known and "." in module:
                module = module.rpartition(".")[0]
            if module in known and module != name and module.startswith("reconciler"):
                found.add(module)
    return found


GRAPH = {name: _imports(name, tree, MODULES) for name, tree in TREES.items()}


def _area(module: str) -> str:
    """``reconciler.plan.make`` -> ``plan``; the package itself -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _layer(module: str) -> int:
    area = _area(module)
    for number, areas in enumerate(LAYERS):
        if area in areas:
            return number
    raise LookupError(f"{module}: {area!r} has no layer; place it in LAYERS (and the docstring)")


def _cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph.get(node, ()):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _layering_violations(graph: Mapping[str, Iterable[str]]) -> list[str]:
    problems = []
    for importer, imported in sorted(graph.items()):
        for target in sorted(imported):
            inside = importer == LOCALADMIN or importer.startswith(LOCALADMIN + ".")
            into = target == LOCALADMIN or target.startswith(LOCALADMIN + ".")
            if inside:
                if not into:
                    problems.append(f"{importer} -> {target}: the local Admin imports only itself")
            elif into:
                if importer not in REACHES_LOCALADMIN or target != LOCALADMIN:
                    problems.append(
                        f"{importer} -> {target}: only {sorted(REACHES_LOCALADMIN)} use the "
                        f"local Admin, through {LOCALADMIN}"
                    )
            elif _layer(target) > _layer(importer):
                problems.append(
                    f"{importer} (layer {_layer(importer)}) -> {target} "
                    f"(layer {_layer(target)}): an upward import"
                )
    return problems


def test_the_import_graph_was_read() -> None:
    # a parser that found nothing would pass everything below
    assert len(GRAPH) > 50
    assert "reconciler.plan.model" in GRAPH["reconciler.plan.make"]
    assert "reconciler.kinds.execution" in GRAPH["reconciler.kinds.backfill"]  # from-package form
    assert LOCALADMIN in GRAPH["reconciler.admin.session"]  # an import inside a function


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        if not module.startswith(LOCALADMIN):
            _layer(module)


def test_no_import_cycles() -> None:
    assert _cycles(GRAPH) == []


def test_imports_go_down_the_layers_and_the_local_admin_stands_apart() -> None:
    assert _layering_violations(GRAPH) == []


def test_the_checks_catch_a_cycle_and_an_upward_import() -> None:
    assert _cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
    upward = {"reconciler.manifests.load": ["reconciler.plan.model"]}
    assert _layering_violations(upward) == [
        "reconciler.manifests.load (layer 1) -> reconciler.plan.model (layer 4): an upward import"
    ]
    into_local = {"reconciler.read": ["reconciler.localadmin"]}
    assert len(_layering_violations(into_local)) == 1
    internals = {"reconciler.admin.session": ["reconciler.localadmin.engine"]}
    assert len(_layering_violations(internals)) == 1
    out_of_local = {"reconciler.localadmin.store": ["reconciler.errors"]}
    assert len(_layering_violations(out_of_local)) == 1


def _below_the_commands(allowed: tuple[str, ...]) -> list[str]:
    return sorted(m for m in MODULES if _area(m) not in allowed)


def _click_imports(tree: ast.AST) -> list[str]:
    """Where a module imports click (inside functions too)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(
            a.name.split(".")[0] == "click" for a in node.names
        ):
            found.append((node.lineno, "imports click"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "click":
            found.append((node.lineno, "imports from click"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


def _process_streams(tree: ast.AST) -> list[str]:
    """Where a module touches the process's own terminal: its streams, print() or input()."""
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
            and node.attr in ("stdin", "stdout", "stderr", "__stdout__", "__stderr__")
        ):
            found.append((node.lineno, f"sys.{node.attr}"))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("print", "input")
        ):
            found.append((node.lineno, f"{node.func.id}()"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


@pytest.mark.parametrize("module", _below_the_commands(CLICK_ALLOWED))
def test_no_click_below_the_commands(module: str) -> None:
    assert _click_imports(TREES[module]) == []


@pytest.mark.parametrize("module", _below_the_commands(STREAMS_ALLOWED))
def test_no_terminal_io_below_the_commands(module: str) -> None:
    assert _process_streams(TREES[module]) == []


def test_the_terminal_checks_see_click_and_the_process_streams() -> None:
    sample = ast.parse(
        "import click\nimport sys\n\ndef f():\n    from click import echo\n"
        "    print('x', file=sys.stderr)\n    return input()\n"
    )
    assert _click_imports(sample) == ["line 1: imports click", "line 5: imports from click"]
    assert _process_streams(sample) == ["line 6: print()", "line 6: sys.stderr", "line 7: input()"]


def test_importing_everything_below_the_commands_loads_no_click() -> None:
    """In a fresh interpreter, so that click brought in by a library counts too."""
    modules = _below_the_commands(CLICK_ALLOWED)
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'click')))\n"
    )
    probe = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=PACKAGE.parent,
    )
    assert json.loads(probe.stdout) == []
    # and the probe itself can tell: the CLI does load click
    script = "import sys, reconciler.cli; print('click' in sys.modules)"
    check = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert check.stdout.strip() == "True"

"""Hypothesis strategies over the manifest grammar: valid, nearly valid and hostile trees.

A generated *tree* is a set of files (``reconciler.yaml`` and manifests of all five kinds) as
bytes. Three levels of hostility:

- ``valid``: documents built from the fields each kind accepts, with values in range, names from
  a small world that the fuzz tests' local Admin knows (so that plan gets far);
- ``nearly``: valid documents with a few mutations: a field dropped, renamed, added, or given a
  value of the wrong type (huge numbers, odd unicode, ``${env:...}`` where it does not belong,
  tags, timestamps that do not exist, ...);
- ``hostile``: mutations of the YAML itself on top: anchors and aliases (also undefined ones),
  merge keys (also onto non-mappings), duplicate keys, complex keys, deep nesting, very long
  strings, tabs, truncation, bytes that are not UTF-8, NUL, BOM, CRLF.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests.fuzz import yamltext as y

PROJECT = "flytesnacks"
DOMAIN = "development"
KINDS = ("Registration", "LaunchPlan", "Execution", "Backfill", "Signal")

# Environment the fuzz tests set: references resolve to these (or stay unset: FUZZ_UNSET).
ENVIRONMENT = {
    "FUZZ_A": "fuzz-value-a",
    "FUZZ_ODD": "odd, (value) + ; \u202e\u200b\t end",
    "FUZZ_INT": "42",
    "FUZZ_DATE": "2026-01-31T06:00:00Z",
    "FUZZ_EMPTY": "",
    "FUZZ_LONG": "L" * 5000,
}

# Characters and fragments that break naive code: bidi controls, NUL, separators, surrogates
# (only reachable through escapes), filter-grammar punctuation, YAML indicators, templates.
ODD = (
    "\x00",
    "\u202e",
    "\u2066",
    "\u200b",
    "\ufeff",
    "\ud800",
    "\udfff",
    "\t",
    "\n",
    "\r",
    "\x85",
    "\u2028",
    "\x7f",
    "\U0001f4a5",
    "ß",
    "İ",
    "ǅ",
    "\u0301",
    ",",
    "(",
    ")",
    "+",
    ";",
    "/",
    ":",
    "#",
    "&",
    "*",
    "!",
    "%",
    "@",
    "`",
    "'",
    '"',
    "\\",
    "=",
    " ",
    "..",
    "${env:FUZZ_A}",
    "$${",
    "${",
    "{{ .dest_dir }}",
)
ENV_REFERENCES = (
    "${env:FUZZ_A}",
    "${env:FUZZ_ODD}",
    "${env:FUZZ_INT}",
    "${env:FUZZ_DATE}",
    "${env:FUZZ_EMPTY}",
    "${env:FUZZ_LONG}",
    "${env:FUZZ_UNSET}",
    "pre-${env:FUZZ_A}-post",
    "${env:FUZZ_A}${env:FUZZ_INT}",
    "$${env:FUZZ_A}",
    "${env:}",
    "${env:1BAD}",
    "${env:FUZZ_A",
    "${FUZZ_A}",
    "${env:FUZZ A}",
)
HUGE_NUMBERS = (2**63, -(2**63) - 1, 2**64, 10**100, -(10**30), 1e308, -1e308, 5e-324)
RAW_SCALARS = (
    "!!python/object/apply:os.system ['true']",
    "!!python/name:os.system",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!!str 3",
    "!!int x",
    "!!float nan",
    "!!bool maybe",
    "!!null x",
    "!!timestamp 2026-13-45",
    "!!timestamp yesterday",
    "!custom value",
    "!<tag:yaml.org,2002:str> tagged",
    "2026-02-30",
    "2026-13-45T00:00:00Z",
    "2026-01-31 06:00:00 +05:00",
    "9999-12-31T23:59:59Z",
    "0001-01-01",
    "0o17",
    "0x1F",
    "0b101",
    "1_000",
    "190:20:30",
    "+.inf",
    "-.inf",
    ".nan",
    "~",
    "=",
    "<<",
    "yes",
    "Off",
    "''",
    '""',
    "'it''s'",
    "|-\n  literal",
)

# integers at the edges of Admin's protobuf fields (int32, uint32, int64)
BOUNDARY_INTS = (0, 1, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 10**30)
WORKFLOWS = ("wf", "gated", "daily", "pkgwf")
LAUNCH_PLANS = ("wf", "daily", "gated", "lp", "other")
TASKS = ("t", "pkgtask")
EXECUTIONS = ("run-1", "gated-run", "waiting-n", "close-2026-11", "bf", "new-run")
SIGNAL_IDS = ("ok", "n", "release_ok")
INPUT_NAMES = ("a", "region", "run_date", "f", "b", "d", "l", "m", "n", "missing")


@functools.cache  # strategies are built once: building them costs more than drawing
def odd_text(max_parts: int = 6) -> st.SearchStrategy[str]:
    part = st.one_of(st.sampled_from(ODD), st.text(max_size=6))
    return st.lists(part, max_size=max_parts).map("".join)


@functools.cache
def long_text() -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from("xé\u202e"), st.integers(300, 70_000)).map(
        lambda pair: pair[0] * pair[1]
    )


@functools.cache
def text(hostile: bool) -> st.SearchStrategy[str]:
    plain = st.from_regex(r"[a-z][a-z0-9_.-]{0,12}", fullmatch=True)
    if not hostile:
        return plain
    # long text is expensive to write and read: one hostile string in ten
    return st.one_of(
        plain,
        plain,
        plain,
        odd_text(),
        odd_text(),
        odd_text(),
        odd_text(),
        st.sampled_from(ENV_REFERENCES),
        st.sampled_from(ENV_REFERENCES),
        long_text(),
    )


@functools.cache
def odd_name() -> st.SearchStrategy[str]:
    """A name validate accepts (no whitespace, no '/') that is still odd: punctuation of
    Admin's filter grammar, bidi controls, NUL, astral characters, templates."""
    usable = [
        c
        for c in ODD
        if c.strip()
        and not any(x.isspace() or "\ud800" <= x <= "\udfff" for x in c)
        and "/" not in c
        and "$" not in c
    ]
    part = st.one_of(st.sampled_from(usable), st.from_regex(r"[a-z0-9_.]{1,4}", fullmatch=True))
    return st.lists(part, min_size=1, max_size=4).map("".join)


@functools.cache
def timestamps() -> st.SearchStrategy[Any]:
    times = st.datetimes(
        min_value=dt.datetime(1970, 1, 1),
        max_value=dt.datetime(2100, 1, 1),
        timezones=st.sampled_from([None, dt.timezone.utc, dt.timezone(dt.timedelta(hours=5))]),
    )
    edges = st.sampled_from(
        [
            dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5))),
            dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc),
            dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
            dt.datetime(9999, 12, 31, 23, 59, 59),
            "0001-01-01T00:00:00+05:00",
            "9999-12-31T23:59:59-05:00",
        ]
    )
    return st.one_of(
        times,
        edges,
        times.map(lambda t: t.isoformat()),
        st.dates(min_value=dt.date(1970, 1, 1), max_value=dt.date(2100, 1, 1)),
    )


@functools.cache
def scalars(hostile: bool) -> st.SearchStrategy[Any]:
    base = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**40), 2**40),
        st.floats(allow_nan=False, allow_infinity=False, width=32),
        text(False),
        timestamps(),
    )
    if not hostile:
        return base
    return st.one_of(
        base,
        st.sampled_from(HUGE_NUMBERS),
        st.floats(),
        text(True),
        st.sampled_from(RAW_SCALARS).map(y.Scalar),
    )


@functools.cache
def values(hostile: bool) -> st.SearchStrategy[Any]:
    """Any YAML value: what inputs and signal values may hold."""
    return st.recursive(
        scalars(hostile),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(text(hostile), inner, max_size=3)
        ),
        max_leaves=8,
    )


def deep(depth: int) -> Any:
    value: Any = "bottom"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@functools.cache
def hostile_values() -> st.SearchStrategy[Any]:
    """A value of (most likely) the wrong type for wherever it lands."""
    return st.one_of(
        values(True),
        st.integers(90, 160).map(deep),
        st.sampled_from(ENV_REFERENCES),
        long_text(),
        st.just({}),
        st.just([]),
    )


# --- the world the fuzz tests' local Admin knows --------------------------------------------


@functools.cache
def refs(
    names: tuple[str, ...], hostile: bool, version: bool | None = None
) -> st.SearchStrategy[Any]:
    known = st.sampled_from(names)
    name = (
        st.one_of(known, known, known, odd_name()) if not hostile else st.one_of(known, text(True))
    )
    versions = (
        st.sampled_from(["v1", "v1", "v2", "v,1"])
        if not hostile
        else st.one_of(st.sampled_from(["v1", "v2"]), text(True))
    )
    optional: dict[str, Any] = {
        "project": st.sampled_from([PROJECT, PROJECT, PROJECT, "other-project"]),
        "domain": st.sampled_from([DOMAIN, DOMAIN, DOMAIN, "staging"]),
    }
    if not hostile:  # mostly the manifest's own project and domain, which Admin knows
        optional = {k: v for k, v in optional.items() if k == "domain"}
        optional["domain"] = st.just(DOMAIN)
    required: dict[str, Any] = {"name": name}
    if version is None:
        optional["version"] = versions
    elif version:
        required["version"] = versions
    return st.fixed_dictionaries(required, optional=optional)


@functools.cache
def metadata(
    names: tuple[str, ...], hostile: bool, *, entity: bool = False
) -> st.SearchStrategy[Any]:
    """``entity``: a Flyte entity name (any text without whitespace or '/'), not an execution
    name (``[a-z][a-z0-9-]*``)."""
    if not hostile:
        known = st.sampled_from(names)
        return st.fixed_dictionaries(
            {
                "name": st.one_of(known, known, known, odd_name()) if entity else known,
                "project": st.just(PROJECT),
                "domain": st.sampled_from([DOMAIN, DOMAIN, DOMAIN, "staging"]),
            }
        )
    return st.fixed_dictionaries(
        {"name": st.one_of(st.sampled_from(names), text(True))},
        optional={"project": text(True), "domain": text(True)},
    )


@functools.cache
def label_maps(hostile: bool) -> st.SearchStrategy[Any]:
    keys = st.one_of(
        st.sampled_from(["team", "app.io/tier", "ticket", "reconciler.flyte.org/owner"]),
        text(hostile),
    )
    vals = st.one_of(st.sampled_from(["analytics", "", "a-b.c_d"]), text(hostile))
    return st.dictionaries(keys, vals, max_size=3)


@functools.cache
def annotation_maps(hostile: bool) -> st.SearchStrategy[Any]:
    """Annotation values may be any text."""
    keys = st.one_of(st.sampled_from(["team", "app.io/note"]), text(hostile))
    return st.dictionaries(keys, st.one_of(text(hostile), odd_text()), max_size=3)


@functools.cache
def envs(hostile: bool) -> st.SearchStrategy[Any]:
    return st.dictionaries(
        st.one_of(st.sampled_from(["TOKEN", "MODE"]), text(hostile)),
        st.one_of(st.sampled_from(["${env:FUZZ_A}", "plain"]), text(hostile), odd_text()),
        max_size=3,
    )


@functools.cache
def inputs(hostile: bool) -> st.SearchStrategy[Any]:
    if not hostile:  # what workflow wf needs (a: int, run_date: datetime), the rest sometimes
        return st.fixed_dictionaries(
            {
                "a": st.one_of(st.integers(-5, 5), st.sampled_from(BOUNDARY_INTS)),
                "run_date": timestamps(),
            },
            optional={
                "region": st.one_of(st.sampled_from(["eu", "us", "${env:FUZZ_A}"]), odd_text()),
                "f": st.one_of(st.floats(), st.integers(), st.sampled_from(HUGE_NUMBERS)),
                "b": st.booleans(),
                "d": st.one_of(
                    st.integers(-(10**13), 10**13),
                    st.floats(),
                    st.sampled_from(
                        ["1h30m", "90s", "PT1H", "P99999999D", "-5s", "1ns", "9" * 30 + "h"]
                    ),
                ),
                "l": st.lists(st.one_of(st.integers(), st.sampled_from(BOUNDARY_INTS)), max_size=3),
                "m": st.dictionaries(odd_name(), odd_text(), max_size=2),
            },
        )
    typed = st.one_of(
        st.tuples(st.just("a"), st.one_of(st.integers(-5, 5), st.just("${env:FUZZ_INT}"))),
        st.tuples(st.just("region"), st.one_of(st.sampled_from(["eu", "us"]), text(hostile))),
        st.tuples(st.just("run_date"), st.one_of(timestamps(), st.just("${env:FUZZ_DATE}"))),
        st.tuples(st.sampled_from(INPUT_NAMES), values(hostile)),
    )
    return st.lists(typed, max_size=3).map(dict)


@functools.cache
def notifications(hostile: bool) -> st.SearchStrategy[Any]:
    phases = st.lists(st.sampled_from(["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]), min_size=1)
    channel = st.sampled_from(["email", "slack", "pagerDuty"])
    return st.lists(
        st.tuples(phases, channel, st.lists(text(hostile), min_size=1, max_size=2)).map(
            lambda t: {"phases": t[0], t[1]: t[2]}
        ),
        max_size=2,
    )


CRONS = ("0 6 * * *", "@daily", "@hourly", "*/15 * * * *", "0 0 1 JAN *", "0 0 * * MON-FRI")


@functools.cache
def schedules(hostile: bool) -> st.SearchStrategy[Any]:
    cron = st.sampled_from(CRONS)
    if hostile:
        atom = st.sampled_from(["*", "0", "61", "*/0", "L", "W", "5#2", "MON", "1-3", "?", ","])
        cron = st.one_of(cron, st.lists(atom, min_size=0, max_size=7).map(" ".join), text(True))
    rate = st.fixed_dictionaries(
        {
            "value": st.one_of(st.integers(1, 100), st.sampled_from(BOUNDARY_INTS))
            if not hostile
            else st.integers(),
            "unit": st.sampled_from(["MINUTE", "HOUR", "DAY"]),
        }
    )
    kickoff = st.sampled_from(["run_date", "a", "kick"])
    return st.one_of(
        st.fixed_dictionaries({"cron": cron}, optional={"kickoffTimeInputArg": kickoff}),
        st.fixed_dictionaries({"rate": rate}, optional={"kickoffTimeInputArg": kickoff}),
    )


@functools.cache
def launch_plan(hostile: bool) -> st.SearchStrategy[Any]:
    small = st.integers(0, 100)
    spec = st.fixed_dictionaries(
        {"workflow": refs(WORKFLOWS, hostile, version=None if hostile else True)},
        optional={
            "version": st.sampled_from(["v1", "v2", "auto", "v(2)"]),
            "active": st.booleans(),
            "schedule": schedules(hostile),
            "defaultInputs": inputs(hostile),
            "fixedInputs": inputs(hostile),
            "labels": label_maps(hostile),
            "annotations": annotation_maps(hostile),
            "envs": envs(hostile),
            "notifications": notifications(hostile),
            "maxParallelism": st.one_of(small, st.sampled_from(BOUNDARY_INTS)),
            "rawOutputDataPrefix": st.sampled_from(["s3://bucket/raw", "${env:FUZZ_A}"]),
            "securityContext": st.fixed_dictionaries(
                {},
                optional={
                    "runAs": st.fixed_dictionaries(
                        {},
                        optional={
                            "k8sServiceAccount": text(hostile),
                            "iamRole": text(hostile),
                            "executionIdentity": text(hostile),
                        },
                    )
                },
            ),
            "serviceAccount": text(hostile),
            "interruptible": st.booleans(),
            "overwriteCache": st.booleans(),
        },
    )
    return _document("LaunchPlan", metadata(LAUNCH_PLANS, hostile, entity=True), spec)


@functools.cache
def execution(hostile: bool) -> st.SearchStrategy[Any]:
    target = st.one_of(
        st.tuples(st.just("launchPlan"), refs(LAUNCH_PLANS, hostile)),
        st.tuples(st.just("task"), refs(TASKS, hostile, version=None if hostile else True)),
        st.tuples(st.just("workflow"), refs(WORKFLOWS, hostile, version=None if hostile else True)),
    )
    on_failure = st.one_of(
        st.sampled_from(["none", "recover", "relaunch"]),
        st.fixed_dictionaries(
            {"action": st.sampled_from(["none", "recover", "relaunch"])},
            optional={"maxAttempts": st.integers(1, 10)},
        ),
    )
    options = st.fixed_dictionaries(
        {},
        optional={
            "inputs": inputs(hostile),
            "labels": label_maps(hostile),
            "annotations": annotation_maps(hostile),
            "envs": envs(hostile),
            "tags": st.lists(st.one_of(text(hostile), odd_name()), max_size=3),
            "notifications": notifications(hostile),
            "disableNotifications": st.booleans(),
            "overwriteCache": st.booleans(),
            "interruptible": st.booleans(),
            "maxParallelism": st.one_of(st.integers(0, 50), st.sampled_from(BOUNDARY_INTS)),
            "clusterPool": text(hostile),
            "executionClusterLabel": text(hostile),
            "rawOutputDataPrefix": st.sampled_from(["s3://bucket/raw", "${env:FUZZ_A}"]),
            "serviceAccount": text(hostile),
            "state": st.sampled_from(["launched", "terminated"]),
            "onFailure": on_failure,
        },
    )
    spec = st.tuples(target, options).map(lambda t: {t[0][0]: t[0][1], **t[1]})
    return _document("Execution", metadata(EXECUTIONS, hostile), spec)


@functools.cache
def backfill(hostile: bool) -> st.SearchStrategy[Any]:
    start = dt.datetime(2026, 1, 1, 6, tzinfo=dt.timezone.utc)
    window = st.tuples(st.integers(-3, 40), st.integers(0, 40)).map(
        lambda t: (start + dt.timedelta(days=t[0]), start + dt.timedelta(days=t[0] + t[1]))
    )
    if hostile:
        window = st.one_of(window, st.tuples(timestamps(), timestamps()))
    spec = st.tuples(
        refs(("daily", "wf", "gated"), hostile),
        window,
        st.fixed_dictionaries(
            {},
            optional={
                "parallel": st.booleans(),
                "failurePolicy": st.sampled_from(["failFast", "continue"]),
                "overwriteCache": st.booleans(),
            },
        ),
    ).map(lambda t: {"launchPlan": t[0], "from": t[1][0], "to": t[1][1], **t[2]})
    return _document("Backfill", metadata(("bf", "backfill-jan"), hostile), spec)


@functools.cache
def signal(hostile: bool) -> st.SearchStrategy[Any]:
    answer = st.one_of(
        st.just({"approve": True}),
        st.just({"reject": True}),
        values(hostile).map(lambda v: {"value": v}),
        st.sampled_from(["${env:FUZZ_INT}", "${env:FUZZ_A}"]).map(lambda v: {"value": v}),
    )
    spec = st.tuples(
        st.sampled_from(EXECUTIONS) if not hostile else text(True),
        st.one_of(st.sampled_from(SIGNAL_IDS), odd_name()) if not hostile else text(True),
        answer,
    ).map(lambda t: {"execution": t[0], "signalId": t[1], **t[2]})
    return _document("Signal", metadata(("approve-it", "set-n"), hostile, entity=True), spec)


@functools.cache
def registration(hostile: bool) -> st.SearchStrategy[Any]:
    # Never an existing directory as source.path: that would run pyflyte, seconds per case.
    where = st.one_of(
        st.tuples(st.just("package"), st.sampled_from(["../package", "missing.tgz"])),
        st.tuples(
            st.just("source"),
            st.fixed_dictionaries(
                {"path": st.sampled_from(["missing-src", "../missing-src"])},
                optional={
                    "module": text(hostile),
                    "entities": st.lists(text(hostile), max_size=2),
                    "copy": st.sampled_from(["auto", "all", "none"]),
                },
            ),
        ),
    )
    spec = st.tuples(
        where,
        st.fixed_dictionaries(
            {},
            optional={
                "version": st.sampled_from(["v1", "auto", "v9"]),
                "activateLaunchPlans": st.booleans(),
                "destinationDir": st.sampled_from([".", "/root"]),
            },
        ),
    ).map(lambda t: {t[0][0]: t[0][1], **t[1]})
    return _document("Registration", metadata(("pkg", "flows"), hostile, entity=True), spec)


def _document(kind: str, meta: st.SearchStrategy[Any], spec: st.SearchStrategy[Any]) -> Any:
    return st.tuples(meta, spec).map(
        lambda t: {"apiVersion": "reconciler/v1", "kind": kind, "metadata": t[0], "spec": t[1]}
    )


@functools.cache
def documents(hostile: bool) -> st.SearchStrategy[Any]:
    return st.one_of(
        registration(hostile),
        launch_plan(hostile),
        execution(hostile),
        backfill(hostile),
        signal(hostile),
    )


@functools.cache
def settings(hostile: bool, *, connection: bool) -> st.SearchStrategy[Any]:
    """``reconciler.yaml``. Without ``connection`` the admin block only holds what the command
    line overrides (plan must not run a fuzzed auth command or wait for a login)."""
    admin: dict[str, Any] = {"endpoint": text(hostile), "insecure": st.booleans()}
    if connection:
        admin.update(
            {
                "insecureSkipVerify": st.booleans(),
                "caCertFilePath": text(hostile),
                "authType": st.sampled_from(["ClientSecret", "Pkce", "ExternalCommand", "basic"]),
                "clientId": text(hostile),
                "clientSecretLocation": text(hostile),
                "clientSecretEnvVar": text(hostile),
                "scopes": st.lists(text(hostile), max_size=2),
                "audience": text(hostile),
                "command": st.lists(text(hostile), max_size=2),
                "proxyCommand": st.lists(text(hostile), max_size=2),
            }
        )
    admin_block = st.fixed_dictionaries({}, optional=admin)
    defaults = st.fixed_dictionaries(
        {},
        optional={
            "project": st.sampled_from([PROJECT]) if not hostile else text(True),
            "domain": st.sampled_from([DOMAIN, "staging"]) if not hostile else text(True),
        },
    )
    owner = st.sampled_from(["team-manifests", "platform"]) if not hostile else text(True)
    environment = st.fixed_dictionaries(
        {},
        optional={
            "admin": admin_block,
            "console": st.fixed_dictionaries({"endpoint": text(hostile)}),
            "defaults": defaults,
            "ownerId": owner,
            "parallelism": st.integers(1, 256) if not hostile else st.integers(),
        },
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "apiVersion": st.just("reconciler/v1"),
            "admin": admin_block,
            "console": st.fixed_dictionaries({"endpoint": text(hostile)}),
            "defaults": defaults,
            "ownerId": owner,
            "parallelism": st.integers(1, 256) if not hostile else st.integers(),
            "environments": st.dictionaries(text(hostile), environment, max_size=2),
        },
    )


# --- mutations ----------------------------------------------------------------------------------


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*path, index)))
    return found


def _parent(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        value = value[part]
    return value


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


@st.composite
def mutated(draw: st.DrawFn, document: Any) -> Any:
    """``document`` with one to three field-level mistakes."""
    document = _copy(document)
    for _ in range(draw(st.integers(1, 3))):
        if not isinstance(document, dict):
            break
        paths = [p for p in _paths(document) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(document, path)
        key = path[-1]
        action = draw(
            st.sampled_from(
                ["drop", "retype", "retype", "unknown", "rename", "wrap", "env", "kind", "whole"]
            )
        )
        if action == "drop":
            del parent[key]
        elif action == "retype":
            parent[key] = draw(hostile_values())
        elif action == "unknown" and isinstance(parent, dict):
            new = draw(st.one_of(text(True), st.just(_snake(str(key))), st.just(str(key).upper())))
            parent[new] = draw(values(True))
        elif action == "rename" and isinstance(parent, dict):
            new = draw(st.one_of(st.just(_snake(str(key))), st.just(str(key) + "s"), text(True)))
            parent[new] = parent.pop(key)
        elif action == "wrap":
            parent[key] = [parent[key]]
        elif action == "env":
            parent[key] = draw(st.sampled_from(ENV_REFERENCES))
        elif action == "kind":
            document["kind"] = draw(
                st.one_of(
                    st.sampled_from([*KINDS, "launchplan", "Project", "Attributes"]), text(True)
                )
            )
        elif action == "whole":
            document = draw(hostile_values())
    return document


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


# --- YAML-level hostility -------------------------------------------------------------------------


def _maps(node: y.Node) -> list[y.Map]:
    found: list[y.Map] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, y.Map):
            found.append(current)
            stack.extend(v for _, v in current.pairs)
        elif isinstance(current, y.Seq):
            stack.extend(current.items)
    return found


@st.composite
def yaml_mutated(draw: st.DrawFn, node: y.Node, serial: int) -> y.Node:
    """Anchors, aliases, merge keys, duplicate and complex keys inside one document."""
    for step in range(draw(st.integers(1, 3))):
        maps = [m for m in _maps(node) if m.pairs]
        if not maps:
            break
        target = draw(st.sampled_from(maps))
        action = draw(
            st.sampled_from(["alias", "merge", "merge_bad", "duplicate", "complex", "undefined"])
        )
        name = f"a{serial}_{step}"
        if action == "alias":
            source = draw(st.sampled_from(maps))
            source.anchor = source.anchor or name
            index = draw(st.integers(0, len(target.pairs) - 1))
            key, _ = target.pairs[index]
            target.pairs[index] = (key, y.Alias(source.anchor))
        elif action == "merge":
            source = draw(st.sampled_from(maps))
            if source is target:
                continue
            source.anchor = source.anchor or name
            target.pairs.insert(0, (y.Scalar("<<"), y.Alias(source.anchor)))
        elif action == "merge_bad":
            target.pairs.append(
                (y.Scalar("<<"), draw(st.sampled_from([y.Scalar("1"), y.Seq([y.Scalar("x")])])))
            )
        elif action == "duplicate":
            pair = draw(st.sampled_from(target.pairs))
            target.pairs.append(pair)
        elif action == "complex":
            target.pairs.append((y.Seq([y.Scalar("a")]), y.Scalar("b")))
        else:
            target.pairs.append((y.Scalar("undefinedref"), y.Alias("nowhere")))
        target.flow = draw(st.booleans()) if target is not node else target.flow
    return node


@st.composite
def text_mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """Byte-level damage: tabs, truncation, stray bytes, BOM, CRLF, a duplicated line."""
    for _ in range(draw(st.integers(1, 2))):
        lines = data.split(b"\n")
        action = draw(
            st.sampled_from(["tab", "truncate", "bytes", "bom", "crlf", "dupline", "nest"])
        )
        if action == "tab" and lines:
            index = draw(st.integers(0, len(lines) - 1))
            line = lines[index]
            stripped = line.lstrip(b" ")
            lines[index] = b"\t" * max(1, (len(line) - len(stripped)) // 2) + stripped
            data = b"\n".join(lines)
        elif action == "truncate" and data:
            data = data[: draw(st.integers(0, len(data)))]
        elif action == "bytes":
            at = draw(st.integers(0, len(data)))
            junk = draw(
                st.sampled_from(
                    [b"\xff", b"\x00", b"\xed\xa0\x80", b"\xc3", b"\x1b[31m", b"\x0c", b"\x7f"]
                )
            )
            data = data[:at] + junk + data[at:]
        elif action == "bom":
            data = b"\xef\xbb\xbf" + data
        elif action == "crlf":
            data = data.replace(b"\n", b"\r\n")
        elif action == "dupline" and lines:
            index = draw(st.integers(0, len(lines) - 1))
            lines.insert(index, lines[index])
            data = b"\n".join(lines)
        elif action == "nest":
            depth = draw(st.integers(50, 3000))
            data += b"x: " + b"[" * depth + b"]" * depth + b"\n"
    return data


# --- whole trees --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tree:
    """Files to write, relative to the tree's root, and how hostile they were made."""

    files: dict[str, bytes]
    level: str

    def show(self) -> str:
        return "\n".join(
            f"--- {name}\n{data.decode('utf-8', 'replace')}" for name, data in self.files.items()
        )


LEVELS = ("valid", "nearly", "hostile")


@st.composite
def trees(
    draw: st.DrawFn, levels: tuple[str, ...] = LEVELS, *, connection_settings: bool = True
) -> Tree:
    level = draw(st.sampled_from(levels))
    hostile = level != "valid"
    files: dict[str, bytes] = {}
    serial = 0
    taken: set[tuple[str, ...]] = set()
    if draw(st.booleans()):
        data = draw(settings(hostile, connection=connection_settings))
        if level != "valid" and draw(st.booleans()):
            data = draw(mutated(data))
        files["reconciler.yaml"] = _render(draw, [data], level, serial)
    names = draw(
        st.lists(
            st.sampled_from(["a.yaml", "b.yml", "sub/c.yaml", "sub/deeper/d.yaml"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    for name in names:
        docs = draw(st.lists(documents(hostile), min_size=0 if hostile else 1, max_size=3))
        if not hostile:
            docs = _distinct(docs, taken)
        if level != "valid":
            docs = [draw(mutated(d)) if draw(st.booleans()) else d for d in docs]
        serial += 1
        if docs or hostile:
            files[name] = _render(draw, docs, level, serial)
    return Tree(files, level)


def _distinct(docs: list[Any], taken: set[tuple[str, ...]]) -> list[Any]:
    """Valid trees declare each resource once (one Registration at most, and executions and
    backfills share a namespace), or validate refuses the duplicate."""
    kept = []
    for doc in docs:
        kind, meta = doc["kind"], doc["metadata"]
        if kind == "Registration":
            key: tuple[str, ...] = ("Registration",)
        elif kind in ("Execution", "Backfill"):
            key = ("run", meta["domain"], meta["name"])
        elif kind == "Signal":
            key = ("Signal", meta["domain"], doc["spec"]["execution"], doc["spec"]["signalId"])
        else:
            key = (kind, meta["domain"], meta["name"])
        if key not in taken:
            taken.add(key)
            kept.append(doc)
    return kept


def _render(draw: st.DrawFn, docs: list[Any], level: str, serial: int) -> bytes:
    nodes = [y.from_python(d) for d in docs]
    if level == "hostile":
        nodes = [
            draw(yaml_mutated(n, serial * 10 + i)) if draw(st.booleans()) else n
            for i, n in enumerate(nodes)
        ]
    for node in nodes:
        for inner in _maps(node):
            if inner is not node:
                inner.flow = draw(st.booleans())
    text = y.dump(nodes, explicit_start=draw(st.booleans()) or len(nodes) != 1)
    data = text.encode("utf-8", "surrogatepass")
    if level == "hostile" and draw(st.booleans()):
        data = draw(text_mutated(data))
    return data

"""Run every benchmark in bench/ and rewrite the measured parts of docs/performance.md.

    python bench/run_all.py [--large] [--before REV] [--output docs/performance.md]
                            [--save FILE] [--from-json FILE]

``make bench`` runs this. Plan is measured at 1,000 and 10,000 manifests, and at 50,000 too
with ``--large`` (building 50,000 resources in the local Admin first takes minutes, so it is
opt-in). ``--before REV`` (default: the commit before the performance work of issue #13)
extracts that revision's ``reconciler`` package with ``git archive`` and times it in the same
run, on the same Admin state, for the before/after table; ``--before ''`` skips that.
Only the blocks between ``<!-- generated:NAME -->`` and ``<!-- /generated:NAME -->`` are
replaced; the prose around them (what the profiles showed, what changed) is kept.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import BENCH, REPO, child_env, machine

DOC = REPO / "docs" / "performance.md"
SVG = "performance-plan.svg"
BEFORE = "d22b278"  # the commit before the changes docs/performance.md describes
RSS_TARGET_MB = 500
REPEAT = 3  # plans per size (up to 10,000) and checkout; each figure's best counts
PLAN_TARGET, APPLY_TARGET = 2.0, 1.5


def run_script(name: str, args: Sequence[str], home: Path) -> str:
    started = time.perf_counter()
    print(f"== {name} {' '.join(args)}", flush=True)
    done = subprocess.run(
        [sys.executable, str(BENCH / name), *args],
        capture_output=True,
        text=True,
        env=child_env(home),
        check=False,
    )
    sys.stdout.write(done.stdout)
    if done.returncode != 0:
        sys.exit(f"{name} failed:\n{done.stderr[-3000:]}")
    print(f"   ({time.perf_counter() - started:.0f} s)", flush=True)
    return done.stdout


def measure(large: bool, before: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as temp_name:
        temp = Path(temp_name)
        plan_json, apply_json = temp / "plan.json", temp / "apply.json"
        compare = []
        if before and _extract(before, temp / "before"):
            compare = ["--before", str(temp / "before")]
        other = {
            "validate_bench.py": run_script("validate_bench.py", [], temp),
            "localadmin_bench.py": run_script("localadmin_bench.py", [], temp),
        }
        plan_args = ["--sizes", "1000,10000", "--repeat", str(REPEAT), "--json", str(plan_json)]
        run_script("plan_bench.py", [*plan_args, *compare], temp)
        plan = json.loads(plan_json.read_text())
        if large:  # planned once: each plan takes about a minute, the set-up several
            run_script(
                "plan_bench.py", ["--sizes", "50000", "--json", str(plan_json), *compare], temp
            )
            plan["plan"] += json.loads(plan_json.read_text())["plan"]
        # apply_plan is as it was before (what made apply slow was the benchmark's latency)
        run_script("apply_bench.py", ["--json", str(apply_json)], temp)
        applied = json.loads(apply_json.read_text())
    return {
        "machine": machine(),
        "commit": _commit(),
        "before": before if compare else None,
        "plan": plan["plan"],
        "apply": applied["apply"],
        "apply_unloaded": applied["apply_unloaded"],
        "apply_naive": applied["apply_naive"],
        "other": other,
    }


def _extract(revision: str, into: Path) -> bool:
    """``revision``'s reconciler package under ``into``, from git; False when git cannot."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", revision, "reconciler"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        print(f"no before/after: {archive.stderr.decode().strip()}", flush=True)
        return False
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return True


def _commit() -> str:
    done = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


# --- rendering ------------------------------------------------------------------------------


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _s(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:,.0f} s"


def render_machine(data: dict[str, Any]) -> str:
    m = data["machine"]
    return (
        f"Measured at commit `{data['commit']}` on {m['cpus']} cores ({m['cpu']}), "
        f"{m['memory_gb']} GB RAM, {m['os']}, Python {m['python']}, grpcio {m['grpcio']}, "
        f"protobuf {m['protobuf']}. The machine is shared with other engineers' test runs "
        f"(load average {m['load_average']:.1f} at the end of this run), so single figures are "
        "noisy; the ratios below are measured in the same run."
    )


def render_plan(data: dict[str, Any]) -> str:
    rows = []
    for r in data["plan"]:
        naive = _s(r["naive_seconds"]) + (" (extrapolated)" if r["naive_sampled"] else "")
        rows.append(
            [
                f"{r['size']:,}",
                _s(r["wall"]),
                _s(r["cpu"]),
                _s(r["plan"]),
                _s(r["overhead"]),
                f"{r['rpcs']:,}",
                _s(r["floor"]),
                f"{r['plan'] / r['floor']:.1f}x",
                f"{r['peak_rss_mb']:.0f} MB",
                naive,
                f"{r['naive_seconds'] / r['wall']:.0f}x",
            ]
        )
    table = _table(
        [
            "manifests",
            "`reconciler plan` wall",
            "its CPU",
            "plan in-process",
            "start-up + exit",
            "RPCs",
            "RPC floor",
            "plan / floor",
            "peak RSS",
            "naive FlyteRemote loop",
            "naive / wall",
        ],
        rows,
    )
    stage_rows = []
    for r in data["plan"]:
        cpu = r["stages_cpu"]
        stage_rows.append(
            [
                f"{r['size']:,}",
                _s(cpu["imports"]),
                _s(cpu["load"]),
                f"{_s(r['stages']['read_admin'] + r['stages']['followups'])} / "
                f"{_s(cpu['read_admin'] + cpu['followups'])}",
                _s(cpu["make_plan"]),
                _s(r["admin_cpu"]),
                f"{1e6 * r['plan_cpu'] / r['size']:.0f} µs",
            ]
        )
    stages = _table(
        [
            "manifests",
            "imports",
            "load + validate",
            "read Admin (wall / CPU)",
            "make_plan",
            "local Admin's CPU",
            "plan CPU per manifest",
        ],
        stage_rows,
    )
    first = data["plan"][0]
    runs = ", ".join(f"{r.get('runs', 1)} at {r['size']:,}" for r in data["plan"])
    return (
        f"{first['latency'] * 1000:.0f} ms added to every RPC, read parallelism "
        f"{first['parallelism']} (the default), steady state (nothing to change). Half the "
        "manifests are launch plans, half executions. The naive loop is measured in full up to "
        "1,000 manifests and extrapolated linearly from a sample above that. Each figure is "
        f"the best of the plans made at its size ({runs}; other loads on the machine only "
        "ever add).\n\n"
        f"{table}\n\nWhere the plan's CPU goes (seconds of CPU per stage, best run; reading "
        f"Admin also as wall time, most of it waiting):\n\n{stages}"
    )


def render_targets(data: dict[str, Any]) -> str:
    rows = []
    for r in data["plan"]:
        ok = r["plan"] <= PLAN_TARGET * r["floor"]
        rows.append(
            [
                f"plan of {r['size']:,} within {PLAN_TARGET:g}x the floor plus start-up",
                f"{r['plan'] / r['floor']:.1f}x ({_s(r['plan'])} against {_s(r['floor'])})",
                "met" if ok else "not met",
            ]
        )
    for r in data["plan"]:
        if r["size"] == 10000:
            ok = r["peak_rss_mb"] < RSS_TARGET_MB
            rows.append(
                [
                    f"peak RSS under {RSS_TARGET_MB} MB at 10,000 manifests",
                    f"{r['peak_rss_mb']:.0f} MB",
                    "met" if ok else "not met",
                ]
            )
    for r in data["apply"]:
        local, stub = r["apply"] / r["floor"], r["stub"]["apply"] / r["stub"]["floor"]
        verdict = "stub: " + ("met" if stub <= APPLY_TARGET else "not met")
        verdict += ", local: " + ("met" if local <= APPLY_TARGET else "not met")
        rows.append(
            [
                f"apply at parallelism {r['parallelism']} within {APPLY_TARGET:g}x the floor",
                f"{stub:.2f}x against the stub Admin, {local:.2f}x against the local Admin "
                f"(floor {_s(r['floor'])})",
                verdict,
            ]
        )
    results = data["plan"]

    def slope(a: dict[str, Any], b: dict[str, Any]) -> float:
        return math.log(b["plan_cpu"] / a["plan_cpu"]) / math.log(b["size"] / a["size"])

    overall = slope(results[0], results[-1])
    shown = ", ".join(
        f"{a['size']:,}-{b['size']:,}: {slope(a, b):.2f}" for a, b in itertools.pairwise(results)
    )
    rows.append(
        [
            "cost grows linearly",
            f"plan CPU against manifests on a log-log scale: slope {overall:.2f} overall "
            f"({shown}; 1 is linear, 2 quadratic)",
            "met" if overall <= 1.05 else "nearly" if overall <= 1.2 else "not met",
        ]
    )
    return _table(["target (issue #13)", "measured", ""], rows)


def render_curve(data: dict[str, Any]) -> str:
    """CPU per 1,000 manifests by size as bars (CPU, not wall time: a busy machine stretches
    wall time unevenly); equal bars mean cost grows linearly."""
    results = data["plan"]
    width = 50
    top = max(*(1e3 * r["cpu"] / r["size"] for r in results), 1e-9)
    lines = ["CPU of `reconciler plan` per 1,000 manifests (equal bars: linear growth)", ""]
    for r in results:
        per = 1e3 * r["cpu"] / r["size"]
        inside = 1e3 * r["plan_cpu"] / r["size"]
        floor = 1e3 * r["floor"] / r["size"]
        bar = "#" * max(1, round(width * inside / top))
        bar += "+" * max(0, round(width * per / top) - len(bar))
        lines.append(f"{r['size']:>7,} | {bar:<{width}} {per:.2f} s ({inside:.2f} planning)")
        dots = "." * max(1, round(width * floor / top))
        lines.append(f"{'floor':>7} | {dots:<{width}} {floor:.3f} s (wall)")
    lines += ["", "# planning (compute_plan)   + start-up, imports, exit   . RPC floor"]
    return (
        "```\n"
        + "\n".join(lines)
        + "\n```\n\n"
        + f"![plan time by size, log-log]({SVG}) (wall time; the naive loop above 1,000 "
        "manifests is extrapolated)"
    )


def render_svg(data: dict[str, Any]) -> str:
    """A log-log plot of seconds against manifests: plan wall, in-process, floor, naive."""
    results = data["plan"]
    series: list[tuple[str, str, Callable[[dict[str, Any]], float]]] = [
        ("naive FlyteRemote loop", "#b22222", lambda r: r["naive_seconds"]),
        ("`reconciler plan` wall", "#1f4e9c", lambda r: r["wall"]),
        ("plan in-process", "#2e8b57", lambda r: r["plan"]),
        ("RPC floor", "#777777", lambda r: r["floor"]),
    ]
    sizes = [r["size"] for r in results]
    values = [f(r) for _, _, f in series for r in results]
    x0, x1 = math.log10(min(sizes) / 1.5), math.log10(max(sizes) * 1.5)
    y0, y1 = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    w, h, left, bottom, right, top_margin = 640, 400, 70, 50, 190, 20

    def px(size: float) -> float:
        return left + (math.log10(size) - x0) / (x1 - x0) * (w - left - right)

    def py(seconds: float) -> float:
        return h - bottom - (math.log10(seconds) - y0) / (y1 - y0) * (h - bottom - top_margin)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
    ]
    for exponent in range(y0, y1 + 1):
        y = py(10.0**exponent)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - right}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(
            f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{10.0**exponent:g} s</text>'
        )
    for size in sizes:
        x = px(size)
        out.append(
            f'<line x1="{x:.1f}" y1="{top_margin}" x2="{x:.1f}" y2="{h - bottom}" stroke="#eee"/>'
        )
        out.append(f'<text x="{x:.1f}" y="{h - bottom + 18}" text-anchor="middle">{size:,}</text>')
    out.append(
        f'<text x="{(left + w - right) / 2:.0f}" y="{h - 10}" text-anchor="middle">'
        "manifests (log scale)</text>"
    )
    for index, (label, colour, value) in enumerate(series):
        points = " ".join(f"{px(r['size']):.1f},{py(value(r)):.1f}" for r in results)
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for r in results:
            out.append(
                f'<circle cx="{px(r["size"]):.1f}" cy="{py(value(r)):.1f}" r="3" fill="{colour}"/>'
            )
        y = top_margin + 20 + 20 * index
        out.append(
            f'<line x1="{w - right + 15}" y1="{y - 4}" x2="{w - right + 35}" y2="{y - 4}" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        out.append(f'<text x="{w - right + 40}" y="{y}">{label.replace("`", "")}</text>')
    out.append(
        f'<text x="{w - right + 15}" y="{top_margin + 20 + 20 * len(series) + 10}" '
        'fill="#555">log-log: slope 1 = linear</text>'
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def render_apply(data: dict[str, Any]) -> str:
    naive = data["apply_naive"]
    rows = []
    for r in data["apply"]:
        stub = r["stub"]
        rows.append(
            [
                str(r["parallelism"]),
                f"{r['rpcs']:,}",
                _s(r["floor"]),
                f"{_s(r['apply'])} ({r['apply'] / r['floor']:.2f}x)",
                f"{_s(stub['apply'])} ({stub['apply'] / stub['floor']:.2f}x)",
                f"{r['executions'] / stub['apply']:.0f}/s",
                f"{_s(r['apply_cpu'])} / {_s(stub['apply_cpu'])}",
                _s(r["admin_cpu"]),
                f"{naive['seconds'] / r['apply']:.0f}x",
            ]
        )
    unloaded = data["apply_unloaded"]
    rows.append(
        [
            f"{unloaded['parallelism']}, no latency",
            f"{unloaded['rpcs']:,}",
            "0",
            _s(unloaded["apply"]),
            _s(unloaded["stub"]["apply"]),
            f"{unloaded['executions'] / unloaded['stub']['apply']:.0f}/s",
            f"{_s(unloaded['apply_cpu'])} / {_s(unloaded['stub']['apply_cpu'])}",
            _s(unloaded["admin_cpu"]),
            "",
        ]
    )
    first = data["apply"][0]
    how = f", extrapolated from {naive['sample']} runs" if naive["sampled"] else ""
    return (
        f"{first['executions']:,} `CreateExecution`s (a plan of {first['executions']:,} new "
        f"Execution manifests), {first['latency'] * 1000:.0f} ms added to every RPC, "
        "`apply_plan` timed in its own process: against a fresh local Admin, then against a "
        "stub Admin that answers at once (only the latency and the client's own work count, as "
        "with a real Admin elsewhere; the local Admin shares this machine's cores). Client CPU "
        "is the apply's own (gRPC's threads included), local then stub. The naive loop, "
        "flytekit's `FlyteRemote.execute` one run at a time (each also reads the run back): "
        f"{_s(naive['seconds'])} for {first['executions']:,} runs, {naive['rpcs']:,} RPCs"
        f"{how}.\n\n"
        + _table(
            [
                "parallelism",
                "RPCs",
                "RPC floor",
                "apply, local Admin (/ floor)",
                "apply, stub Admin (/ floor)",
                "creates (stub)",
                "client CPU",
                "local Admin CPU",
                "naive / apply",
            ],
            rows,
        )
    )


def render_other(data: dict[str, Any]) -> str:
    blocks = [
        f"`bench/{name}`:\n\n```\n{text.rstrip()}\n```" for name, text in data["other"].items()
    ]
    return "\n\n".join(blocks)


def render_before_after(data: dict[str, Any]) -> str:
    if not data.get("before"):
        return "(not measured: run with `--before REV`)"
    rows = []
    for r in data["plan"]:
        b = r.get("before")
        if b is None:
            continue
        size = f"{r['size']:,} manifests"
        for label, key in (
            ("`reconciler plan` wall", "wall"),
            ("`reconciler plan` CPU", "cpu"),
            ("plan in-process, wall", "plan"),
            ("plan in-process, CPU", "plan_cpu"),
        ):
            rows.append([f"{label}, {size}", _s(b[key]), _s(r[key]), f"{b[key] / r[key]:.1f}x"])
        for label, stage in (
            ("imports", "imports"),
            ("load + validate", "load"),
            ("read Admin", "read_admin"),
            ("make_plan", "make_plan"),
        ):
            then, now = b["stages_cpu"][stage], r["stages_cpu"][stage]
            rows.append(
                [f"{label} (CPU), {size}", _s(then), _s(now), f"{then / max(now, 1e-9):.1f}x"]
            )
        rows.append(
            [
                f"peak RSS, {size}",
                f"{b['peak_rss_mb']:.0f} MB",
                f"{r['peak_rss_mb']:.0f} MB",
                f"{b['peak_rss_mb'] / r['peak_rss_mb']:.1f}x",
            ]
        )
        rows.append([f"RPCs, {size}", str(b["rpcs"]), str(r["rpcs"]), ""])
    return (
        f"Before: the `reconciler` package of commit `{data['before']}`; after: this "
        "checkout's. Measured in the same run on the same Admin state with the same harness, "
        f"{data['plan'][0].get('runs', 1)} plans each, interleaved; each figure is its best run "
        "(other loads on the machine only ever add). Apply is not compared: `apply_plan` did "
        "not change.\n\n" + _table(["", "before", "after", "speed-up"], rows)
    )


_BLOCK = re.compile(r"(<!-- generated:(\w[\w-]*) -->\n).*?(<!-- /generated:\2 -->)", re.DOTALL)


def rewrite(doc: Path, blocks: dict[str, str]) -> None:
    text = doc.read_text("utf-8")
    missing = set(blocks) - set(_block_names(text))
    if missing:
        sys.exit(f"{doc} has no generated block(s) {sorted(missing)}")

    def replace(match: re.Match[str]) -> str:
        name = match.group(2)
        body = blocks.get(name)
        if body is None:
            return match.group(0)
        return f"{match.group(1)}{body.rstrip()}\n{match.group(3)}"

    doc.write_text(_BLOCK.sub(replace, text), "utf-8")


def _block_names(text: str) -> list[str]:
    return [m.group(2) for m in _BLOCK.finditer(text)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="plan at 50,000 manifests too")
    parser.add_argument("--output", type=Path, default=DOC)
    parser.add_argument("--before", default=BEFORE, help="revision to compare with ('' for none)")
    parser.add_argument("--save", type=Path, help="also write this run's figures here (JSON)")
    parser.add_argument(
        "--from-json", type=Path, help="render from figures saved with --save; measure nothing"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    if args.from_json:
        data = json.loads(args.from_json.read_text())
    else:
        data = measure(args.large, args.before)
    if args.save is not None:
        args.save.write_text(json.dumps(data, indent=2) + "\n")
    blocks = {
        "machine": render_machine(data),
        "plan": render_plan(data),
        "targets": render_targets(data),
        "curve": render_curve(data),
        "apply": render_apply(data),
        "other": render_other(data),
        "before-after": render_before_after(data),
    }
    rewrite(args.output, blocks)
    (args.output.parent / SVG).write_text(render_svg(data), "utf-8")
    print(f"wrote {args.output} and {SVG} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()

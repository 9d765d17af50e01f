"""``reconciler drift``: refresh-only; what in Admin differs from git for managed resources.

Drift is a resource that exists in Admin in another state than git says: a launch plan version
deactivated or activated behind git's back, or a launched spec that differs. Resources not yet
created are pending work for ``apply``, not drift (``reconciler.plan.drift`` decides).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TextIO

from reconciler.commands import Outcome
from reconciler.commands.reconcile_common import AdminOptions, compute_plan, terminal
from reconciler.plan.drift import DRIFT_ACTIONS, drifted
from reconciler.render.drift import DriftReport, render_json, render_text

__all__ = ["DRIFT_ACTIONS", "DriftOptions", "drifted", "run_drift"]

RENDERERS = {"text": render_text, "json": render_json}


@dataclass(frozen=True)
class DriftOptions:
    admin: AdminOptions
    output: Literal["text", "json"] = "text"


def run_drift(options: DriftOptions, environ: Mapping[str, str], out: TextIO) -> Outcome:
    planned = compute_plan(options.admin, environ, terminal())
    report = DriftReport(tuple(drifted(planned.plan.changes)))
    RENDERERS[options.output](report, out)
    return Outcome.CHANGES if report.changes else Outcome.SUCCESS

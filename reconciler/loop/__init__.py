"""The reconcile loop (``reconciler reconcile``): passes of plan (and, with ``--self-heal``,
apply) on an interval or a push webhook, and what it reports about them.

    source.py   where each pass reads the manifests (a local PATH today)
    runner.py   one pass (plan, maybe apply, outcome per resource) and the schedule of passes
    windows.py  sync windows from reconciler.yaml: may this pass apply?
    state.py    what a pass found, as data: statuses, the JSON of /api/state and the state file
    metrics.py  Prometheus metrics in their own registry
    notify.py   which events a pass calls for (announced once), and their delivery off the pass
    webhook.py  GitHub and GitLab push events: signature checks and the watched branch
    http.py     /metrics, /healthz, /readyz, /api/state and /hooks/git

The loop reuses the plan/apply pipeline as it is: ``compute_plan`` plans, ``apply_plan`` applies
(told to stop starting operations on shutdown), and nothing here decides what a change is.
"""

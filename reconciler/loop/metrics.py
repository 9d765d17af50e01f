"""The loop's Prometheus metrics (names and labels are part of the contract: DESIGN.md, "The
reconcile loop"), in a registry of their own so that nothing else in the process leaks into
``/metrics``.

Counters and histograms are updated as things happen; the per-pass gauges (resources by kind and
status, the source commit, whether a sync window is open) are read from the last pass when
scraped, so a scrape never sees half of a pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from reconciler.loop.state import PassReport, PassResult, Status
from reconciler.manifests.address import Address

PASS_BUCKETS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
RPC_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class LoopMetrics:
    def __init__(self, window_open: Callable[[], bool | None] = lambda: None) -> None:
        # ``*_created`` series only add noise to the text format (process-wide; this process
        # exposes no other metrics)
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        self.pass_duration = Histogram(
            "reconciler_pass_duration_seconds",
            "Wall time of a reconcile pass (plan, and apply with --self-heal).",
            buckets=PASS_BUCKETS,
            registry=self.registry,
        )
        self.passes = Counter(
            "reconciler_passes",
            "Reconcile passes by result: synced, drifted (something left out of sync), failed "
            "(an apply failed), error (the pass could not plan).",
            ["result"],
            registry=self.registry,
        )
        for result in PassResult:
            self.passes.labels(result.value)
        self.last_success = Gauge(
            "reconciler_last_success_timestamp_seconds",
            "When the last pass that did its job (synced or drifted) ended, in Unix time.",
            registry=self.registry,
        )
        self.apply_failures = Counter(
            "reconciler_apply_failures",
            "Changes whose apply failed, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.rpc_duration = Histogram(
            "reconciler_admin_rpc_duration_seconds",
            "FlyteAdmin gRPC calls (each attempt) by method and status code.",
            ["method", "code"],
            buckets=RPC_BUCKETS,
            registry=self.registry,
        )
        self._snapshot = _PassGauges(window_open)
        self.registry.register(self._snapshot)

    def observe_rpc(self, method: str, code: str, seconds: float) -> None:
        self.rpc_duration.labels(method, code).observe(seconds)

    def record(self, report: PassReport) -> None:
        self.pass_duration.observe(report.duration)
        self.passes.labels(report.result.value).inc()
        if report.result.succeeded:
            self.last_success.set(report.end)
        for address, _ in report.failures:
            self.apply_failures.labels(Address.kind_of(address)).inc()
        self._snapshot.update(report)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _PassGauges(Collector):
    """``reconciler_resources``, ``reconciler_source_info`` and ``reconciler_sync_window_open``
    from the last pass (kept over a pass that could not plan: it says nothing new)."""

    def __init__(self, window_open: Callable[[], bool | None]) -> None:
        self._window_open = window_open
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], int] = {}
        self._commit: str | None = None
        self._seen = False

    def update(self, report: PassReport) -> None:
        with self._lock:
            self._seen = True
            self._commit = report.commit or self._commit
            if report.result is PassResult.ERROR:
                return
            counts: dict[tuple[str, str], int] = {}
            for kind in sorted({r.kind for r in report.resources}):
                for status in Status:  # zeros too, so that alerts see drift go away
                    counts[(kind, status.value)] = 0
            for resource in report.resources:
                counts[(resource.kind, resource.status.value)] += 1
            self._counts = counts

    def describe(self) -> Iterable[Metric]:
        return []  # collected fresh on every scrape

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            counts = dict(self._counts)
            commit, seen = self._commit, self._seen
        resources = GaugeMetricFamily(
            "reconciler_resources",
            "Managed resources by kind and status (synced, drifted, conflict, waiting, failed) "
            "at the last pass.",
            labels=["kind", "status"],
        )
        for (kind, status), count in sorted(counts.items()):
            resources.add_metric([kind, status], count)
        yield resources
        if seen:
            info = GaugeMetricFamily(
                "reconciler_source_info",
                "The commit the last pass reconciled (unknown outside git).",
                labels=["commit"],
            )
            info.add_metric([commit or "unknown"], 1)
            yield info
        window = self._window_open()
        if window is not None:
            yield GaugeMetricFamily(
                "reconciler_sync_window_open",
                "1 when the sync windows of reconciler.yaml allow applying now, else 0.",
                value=1 if window else 0,
            )

"""GitOps reconciler for Flyte: plan and apply FlyteAdmin state from YAML manifests in git."""

from __future__ import annotations

__version__ = "0.1.0"

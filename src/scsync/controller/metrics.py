"""The controller's Prometheus metrics, on a registry of its own (never the global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class ControllerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.passes = Counter("scsync_controller_passes", "Reconcile passes, by result.",
                              ["result"], registry=self.registry)
        self.duration = Histogram("scsync_controller_pass_duration_seconds",
                                  "Duration of one reconcile pass.", buckets=_BUCKETS,
                                  registry=self.registry)
        self.applied = Counter("scsync_controller_applied_changes",
                               "Writes made to the executor (creates, updates, prunes).",
                               registry=self.registry)
        self.errors = Counter("scsync_controller_errors",
                              "Errors, by kind: executor, git, invalid_commit, apply, refused, "
                              "plan (a connector in error, e.g. SC127), state, internal.",
                              ["kind"], registry=self.registry)
        self.last_success = Gauge("scsync_controller_last_success_timestamp_seconds",
                                  "When the last pass succeeded (Unix time).",
                                  registry=self.registry)
        self.connectors = Gauge("scsync_controller_connectors",
                                "Managed connectors by sync state after the last pass.",
                                ["sync"], registry=self.registry)
        self.leader = Gauge("scsync_controller_leader",
                            "1 while this controller leads (the one that writes to the "
                            "executor), 0 while it stands by (--lock); 1 without --lock.",
                            registry=self.registry)
        for kind in ("executor", "git", "invalid_commit", "apply", "refused", "plan",
                     "state", "internal"):
            self.errors.labels(kind)
        for result in ("ok", "failed"):
            self.passes.labels(result)

    def render(self) -> bytes:
        return generate_latest(self.registry)

"""Prometheus metrics of one executor, on a registry of its own.

Queued and running are read from the database at scrape time, so they are
exact and survive restarts; counters and histograms count since the process
started, as Prometheus counters do.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from scsync.executor.store import Store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
                    30, 60, 300, 900, 3600)

_FIRE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5)


class _StoreCollector(Collector):
    def __init__(self, store: Store) -> None:
        self._store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self._store.counts_by_status()
        yield GaugeMetricFamily("scsync_executions_queued", "Executions waiting to start.",
                                value=counts.get("queued", 0))
        yield GaugeMetricFamily("scsync_executions_running", "Executions running now.",
                                value=counts.get("running", 0))
        outbox = GaugeMetricFamily("scsync_notifications", "Outbox rows by delivery state.",
                                   labels=["state"])
        for state, n in sorted(self._store.outbox_counts().items()):
            outbox.add_metric([state], n)
        yield outbox


class ExecutorMetrics:
    def __init__(self, store: Store) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.finished = Counter(
            "scsync_executions_finished", "Executions ended, by final status.", ["status"],
            registry=self.registry,
        )
        self.admission_latency = Histogram(
            "scsync_admission_latency_seconds",
            "From trigger to start: time spent queued, whatever the reason.",
            buckets=_LATENCY_BUCKETS, registry=self.registry,
        )
        self.slots = Counter(
            "scsync_schedule_slots", "Scheduled slots by outcome: fired, skipped (one was "
            "still queued) or missed (passed while no executor ran).", ["outcome"],
            registry=self.registry,
        )
        self.fire_lateness = Histogram(
            "scsync_schedule_fire_lateness_seconds",
            "From a scheduled slot's start to its execution being queued.",
            buckets=_FIRE_BUCKETS, registry=self.registry,
        )
        self.deliveries = Counter(
            "scsync_notification_attempts", "Delivery attempts, by kind and result.",
            ["kind", "result"], registry=self.registry,
        )
        self.registry.register(_StoreCollector(store))

    def render(self) -> bytes:
        return generate_latest(self.registry)

"""Prometheus metrics for `leakmon run` (``[metrics] listen = "127.0.0.1:9108"``)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

log = logging.getLogger("leakmon.metrics")


class Metrics:
    """The counters and gauges of one daemon, on their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter("leakmon_polls_total", "Polls by source and outcome", ["source", "outcome"], registry=r)
        self.items = Counter("leakmon_items_total", "Items yielded by a source's polls", ["source"], registry=r)
        self.new_items = Counter("leakmon_new_items_total", "Items stored for the first time", ["source"], registry=r)
        self.hits = Counter("leakmon_hits_total", "New hits", ["source"], registry=r)
        self.poll_seconds = Histogram("leakmon_poll_duration_seconds", "Duration of a poll", ["source"],
                                      buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300), registry=r)
        self.failing = Gauge("leakmon_source_consecutive_failures", "Consecutive failed polls", ["source"], registry=r)
        self.sent = Counter("leakmon_alerts_sent_total", "Messages delivered", registry=r)
        self.delivery_failures = Counter("leakmon_delivery_failures_total", "Failed delivery attempts", registry=r)
        self.pending = Gauge("leakmon_outbox_pending", "Messages waiting for delivery", registry=r)
        self.oldest = Gauge("leakmon_outbox_oldest_pending_seconds", "Age of the oldest pending message", registry=r)
        self.parked = Gauge("leakmon_outbox_parked", "Messages Telegram refused for good", registry=r)
        self.latency = Histogram("leakmon_alert_latency_seconds", "From an item first seen to its alert sent",
                                 buckets=(1, 5, 15, 30, 60, 120, 300, 900, 3600, 21600), registry=r)
        self._failures: dict[str, int] = {}

    @classmethod
    def start(cls, listen: str) -> Metrics:
        """Serve /metrics on host:port in a background thread."""
        host, _, port = listen.rpartition(":")
        metrics = cls()
        start_http_server(int(port), addr=host.strip("[]") or "127.0.0.1", registry=metrics.registry)
        log.info("metrics on http://%s/metrics", listen)
        return metrics

    def observe_poll(self, report: Any) -> None:
        """Count one PollReport."""
        outcome = "ok" if report.ok else "failed"
        self.polls.labels(report.source, outcome).inc()
        self.items.labels(report.source).inc(report.items)
        self.poll_seconds.labels(report.source).observe(report.seconds)
        if report.saved is not None:
            self.new_items.labels(report.source).inc(report.saved.new_items)
            self.hits.labels(report.source).inc(report.saved.new_hits)
        failures = 0 if report.ok else self._failures.get(report.source, 0) + 1
        self._failures[report.source] = failures
        self.failing.labels(report.source).set(failures)

    async def observe_outbox(self, store: Any, report: Any) -> None:
        """Count one dispatcher pass and refresh the outbox gauges."""
        self.sent.inc(report.sent)
        self.delivery_failures.inc(report.failed)
        for seconds in getattr(report, "latencies", ()) or ():
            self.latency.observe(seconds)
        stats = await store.outbox_stats(datetime.now(UTC))
        self.pending.set(stats.pending)
        self.oldest.set(stats.oldest_pending_age_s or 0)
        self.parked.set(stats.parked)

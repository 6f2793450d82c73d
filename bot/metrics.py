"""Prometheus metrics, in a registry of the service's own (several services may share a test process)."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.inbound = Counter(
            "muster_inbound_messages", "Inbound messages accepted", ["channel", "result"], registry=self.registry
        )
        self.outbound = Counter(
            "muster_outbound_messages", "Outbound send outcomes", ["channel", "status"], registry=self.registry
        )
        self.outbox_depth = Gauge(
            "muster_outbox_rows", "Outbox rows by channel and status", ["channel", "status"], registry=self.registry
        )

    def set_outbox_depth(self, depth: dict[tuple[str, str], int]) -> None:
        self.outbox_depth.clear()
        for (channel, status), count in depth.items():
            self.outbox_depth.labels(channel, status).set(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)

"""Prometheus counters and label caps, the store-backed collector, the HTTP endpoints."""

import subprocess
import urllib.error
import urllib.request
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from worker.metrics.collector import StoreCollector
from worker.metrics.counters import Metrics
from worker.metrics.endpoints import Exporter
from worker.model import JobInfo, JobKey, Occurrence
from worker.store.store import EntryTotal

LOCK = "policy/terraform-state-lock-dynamodb-permission-denied"
LOCK_TAGS = ("permission", "state-lock", "aws")
KMS = "policy/terraform-state-s3-kms-generatedatakey-denied"  # tagged permission, not state-lock


def occ(repo: str, kb_id: str | None = LOCK, tags: tuple[str, ...] = LOCK_TAGS,
        run: str = "1") -> Occurrence:
    return Occurrence(JobKey(repo, run, 1, "plan"), kb_id, 1_700_000_000.0,
                      JobInfo(team="platform"), "auth_error", tags if kb_id else ())


def sample(registry: CollectorRegistry, name: str, labels: dict) -> float | None:
    return registry.get_sample_value(name, labels)


def test_counters_caps_and_zero_series(kb) -> None:
    m = Metrics(kb, CollectorRegistry(), max_repos=2)
    reg = m.registry
    assert sample(reg, "tfpulse_dead_end_attempts_total", {"kb_id": LOCK}) == 0
    assert sample(reg, "tfpulse_knowledge_base_entries", {}) == len(kb)
    m.counted([occ("a"), occ("b"), occ("c"), occ("a", None)], now=1_700_000_060.0)
    labels = {"kb_id": LOCK, "category": "auth_error", "family": "state-lock", "team": "platform",
              "shadow": "false",
              "permission": "true", "state_lock": "true"}
    assert sample(reg, "tfpulse_failures_total", {**labels, "repo": "a"}) == 1
    assert sample(reg, "tfpulse_failures_total", {**labels, "repo": "other"}) == 1
    assert sample(reg, "tfpulse_label_overflow_total", {"label": "repo"}) == 1
    assert sample(reg, "tfpulse_unclassified_failures_total", {"repo": "a", "team": "platform"}) == 1
    assert sample(reg, "tfpulse_event_lag_seconds_count", {}) == 4
    info = {"kb_id": LOCK, "permission": "true", "state_lock": "true"}
    text = generate_latest(reg).decode()
    assert all(f'{k}="{v}"' in text for k, v in info.items())
    assert 'tags=",permission,state-lock,aws,"' in text


def failure_series(registry: CollectorRegistry) -> dict[tuple[str, ...], float]:
    keys = ("kb_id", "repo", "permission", "state_lock")
    return {tuple(s.labels[k] for k in keys): s.value for metric in registry.collect()
            for s in metric.samples if s.name == "tfpulse_failures_total"}


def test_failure_labels_are_the_occurrences_own_tags(kb) -> None:
    """permission and state_lock come from Occurrence.tags (the entry's tags plus those its
    tag rules earned), not from the entry: a KMS denial while taking the lock is a lock
    error of a KMS entry. Only the combinations that occur become series."""
    assert not kb.get(KMS).has_tag("state-lock")
    m = Metrics(kb, CollectorRegistry())
    kms_tags = kb.get(KMS).tags
    m.counted([occ("a", KMS, (*kms_tags, "state-lock"), run="1"),
               occ("a", KMS, (*kms_tags, "state-lock"), run="2"),
               occ("a", KMS, kms_tags, run="3"),
               occ("b", "terraform/network-generic", ("network", "permission", "credentials")),
               occ("b", "terraform/network-generic", ("network",), run="2")])
    assert failure_series(m.registry) == {
        (KMS, "a", "true", "true"): 2, (KMS, "a", "true", "false"): 1,
        ("terraform/network-generic", "b", "true", "false"): 1,
        ("terraform/network-generic", "b", "false", "false"): 1}
    # The info series keeps the entry's own tags (it is joined for title and runbook only).
    [info] = [s.labels for metric in m.registry.collect() for s in metric.samples
              if s.name == "tfpulse_knowledge_base_entry_info" and s.labels["kb_id"] == KMS]
    assert (info["permission"], info["state_lock"]) == ("true", "false")


class FakeStore:
    """A stand-in for the store's read side only: the collector's contract is totals()."""

    def __init__(self) -> None:
        self.rows = [EntryTotal(LOCK, 7, datetime(2026, 11, 1, tzinfo=UTC),
                                datetime(2026, 11, 20, tzinfo=UTC))]

    def totals(self) -> list[EntryTotal]:
        return self.rows


def test_store_collector_reads_at_scrape_time(kb) -> None:
    reg = CollectorRegistry()
    reg.register(StoreCollector(FakeStore(), kb, cache_seconds=0))
    assert sample(reg, "tfpulse_failure_occurrences", {"kb_id": LOCK}) == 7
    assert sample(reg, "tfpulse_failure_first_seen_timestamp_seconds", {"kb_id": LOCK}) == \
        datetime(2026, 11, 1, tzinfo=UTC).timestamp()
    others = [e.id for e in kb if e.id != LOCK]
    assert sample(reg, "tfpulse_failure_occurrences", {"kb_id": others[0]}) == 0
    assert sample(reg, "tfpulse_failure_last_seen_timestamp_seconds", {"kb_id": others[0]}) is None


def test_http_endpoints(kb) -> None:
    m = Metrics(kb, CollectorRegistry())
    state = {"ready": False}
    exp = Exporter(m.registry, "127.0.0.1:0",
                   lambda: (state["ready"], "ok" if state["ready"] else "no partitions")).start()
    base = f"http://127.0.0.1:{exp.port}"
    try:
        assert b"tfpulse_knowledge_base_entries" in urllib.request.urlopen(base + "/metrics").read()
        assert urllib.request.urlopen(base + "/healthz").status == 200
        try:
            urllib.request.urlopen(base + "/readyz")
            raise AssertionError("readyz must be 503 before partitions are assigned")
        except urllib.error.HTTPError as err:
            assert err.code == 503
        state["ready"] = True
        assert urllib.request.urlopen(base + "/readyz").status == 200
    finally:
        exp.stop()


@pytest.mark.prometheus
def test_promtool_accepts_the_metrics_endpoint(kb, tmp_path) -> None:
    """promtool check metrics on what /metrics really serves, every family present."""
    from worker.store.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    m = Metrics(kb, CollectorRegistry())
    m.registry.register(StoreCollector(store, kb, cache_seconds=0))
    m.counted([occ("a"), occ("b", None)])
    m.poll_errors.labels("stuck").inc()
    m.dead_letter_envelopes.inc()
    m.consumer_lag.labels("ci-logs", "0").set(3)
    exp = Exporter(m.registry, "127.0.0.1:0", lambda: (True, "ok")).start()
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{exp.port}/metrics").read()
    finally:
        exp.stop()
        store.close()
    assert b"tfpulse_knowledge_base_entry_info" in text and b"tfpulse_store_retries_total" in text
    proc = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr).decode()

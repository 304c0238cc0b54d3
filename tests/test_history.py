"""What happened next, versions and lifecycles: every figure against the generator's truth.

The sample stream (examples/generate_sample_stream.py) records what followed each
occurrence, the versions each job printed, the storm and each entry's lifecycle; one
replay into a temporary SQLite store is checked against it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from worker.cli.main import main
from worker.core.lifecycle import GAUGE_STATES, ages_of, gauge_state
from worker.metrics.collector import LifecycleCollector
from worker.store.store import Store, open_store

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "examples" / "sample-ci-stream.jsonl.gz"
TRUTH = json.loads((ROOT / "examples" / "sample-ci-stream.truth.json").read_text())
END = TRUTH["window"]["end"]


def epoch(rfc3339: str) -> float:
    from datetime import datetime
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('history') / 'sample.db'}"
    assert main(["replay", str(SAMPLE), "--store", url, "--top", "0", "--no-progress"]) == 0
    return url


@pytest.fixture(scope="module")
def store(url: str) -> Store:
    store = open_store(url)
    yield store
    store.close()


# -- lifecycle ---------------------------------------------------------------------------


def test_lifecycle_gauge_equals_the_truth(store: Store) -> None:
    collector = LifecycleCollector(store, clock=lambda: epoch(END), cache_seconds=0)
    got = collector.states()
    want = {kb_id: e["lifecycle"] for kb_id, e in TRUTH["entries"].items()}
    assert got == want
    assert {"new", "regressed", "chronic", "dormant"} <= set(want.values())
    reg = CollectorRegistry()
    reg.register(collector)
    text = generate_latest(reg).decode()
    regressed = [k for k, v in want.items() if v == "regressed"]
    assert f'tfpulse_entry_lifecycle{{kb_id="{regressed[0]}",state="regressed"}} 1.0' in text
    assert f'tfpulse_entry_lifecycle{{kb_id="{regressed[0]}",state="chronic"}} 0.0' in text
    assert text.count("tfpulse_entry_lifecycle{") == len(want) * len(GAUGE_STATES)


@pytest.mark.parametrize(("ages", "state"), [
    ({0}, "new"),
    ({0, 3}, "regressed"),  # back after two quiet weeks
    ({0, 2, 3}, None),  # one quiet week is no regression; 3 of 8 weeks is not chronic
    ({0, 1, 2, 3}, "chronic"),
    ({1, 2, 4, 6}, "chronic"),  # seen last week still counts
    ({2}, "dormant"),  # quiet for two weeks, whatever came before
    ({5, 6, 7, 8, 9}, "dormant"),
    (set(), None),
])
def test_gauge_state_rule(ages: set[int], state: str | None) -> None:
    assert gauge_state(ages) == state


def test_ages_are_seven_day_weeks_ending_now() -> None:
    now = 1_000_000.0
    assert ages_of([now, now - 1, now - 7 * 86400 + 1, now - 7 * 86400, now + 5], now) == {0, 1}

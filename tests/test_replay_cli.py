"""The embedded default end to end: replay the sample stream, compare with the generator's truth."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from worker.cli.main import main
from worker.cli.produce import merge_lines
from worker.store.store import open_store

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "examples" / "sample-ci-stream.jsonl.gz"
TRUTH = json.loads((ROOT / "examples" / "sample-ci-stream.truth.json").read_text())


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('replay') / 'sample.db'}"
    assert main(["replay", str(SAMPLE), "--store", url, "--top", "0", "--no-progress"]) == 0
    return url


def stats(url: str, capsys: pytest.CaptureFixture[str]) -> list[dict]:
    capsys.readouterr()
    assert main(["stats", "--store", url, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_replay_equals_the_generators_truth(replayed: str, capsys) -> None:
    got = {s["kb_id"]: s for s in stats(replayed, capsys)}
    want = TRUTH["entries"]
    assert sorted(got) == sorted(want)
    for kb_id, truth in want.items():
        assert got[kb_id]["occurrences"] == truth["occurrences"], kb_id
        assert got[kb_id]["first_seen"] == truth["first_seen"][:19] + "Z", kb_id
        assert got[kb_id]["last_seen"] == truth["last_seen"][:19] + "Z", kb_id
    store = open_store(replayed)
    assert store.unclassified_total() == TRUTH["unclassified"]["occurrences"]
    store.close()


def test_second_replay_counts_nothing_twice(replayed: str, capsys) -> None:
    before = stats(replayed, capsys)
    assert main(["replay", str(SAMPLE), "--store", replayed, "--top", "0", "--no-progress"]) == 0
    assert stats(replayed, capsys) == before


def test_stats_json_shape_and_sort(replayed: str, capsys) -> None:
    rows = stats(replayed, capsys)  # default: most occurrences first, ties by kb_id
    assert [(-r["occurrences"], r["kb_id"]) for r in rows] == sorted(
        (-r["occurrences"], r["kb_id"]) for r in rows)
    assert set(rows[0]) == {"kb_id", "occurrences", "first_seen", "last_seen"}
    assert main(["stats", "--store", replayed, "--format", "json", "--sort", "kb_id",
                 "--top", "5", "--unclassified"]) == 0
    by_id = json.loads(capsys.readouterr().out)
    assert [r["kb_id"] for r in by_id] == sorted(r["kb_id"] for r in rows)[:5]
    assert main(["stats", "--store", replayed, "--format", "json", "--unclassified",
                 "--sort", "occurrences"]) == 0
    assert [r for r in json.loads(capsys.readouterr().out) if r["kb_id"] is None][0][
        "occurrences"] == TRUTH["unclassified"]["occurrences"]


def test_report_command_writes_markdown(replayed: str, tmp_path: Path) -> None:
    out = tmp_path / "weekly.md"
    assert main(["report", "--store", replayed, "--weeks", "8", "--as-of", "2026-11-22",
                 "--out", str(out)]) == 0
    text = out.read_text()
    assert "policy/terraform-state-lock-dynamodb-permission-denied" in text


def test_events_merged_into_multi_line_messages_count_the_same(tmp_path: Path, capsys) -> None:
    """What `tfpulse produce --lines-per-event` sends: the same occurrences per entry (a
    merged event carries its first line's time, so first/last seen may move earlier)."""
    with gzip.open(SAMPLE, "rb") as fh:
        lines = [line.rstrip(b"\n") for line in fh if line.strip()]
    merged = list(merge_lines(lines, 25))
    assert len(lines) / len(merged) > 5  # the sample's jobs are long enough to merge
    path = tmp_path / "merged.jsonl"
    path.write_bytes(b"\n".join(merged) + b"\n")
    url = f"sqlite:///{tmp_path / 'merged.db'}"
    assert main(["replay", str(path), "--store", url, "--top", "0", "--no-progress"]) == 0
    got = {s["kb_id"]: s["occurrences"] for s in stats(url, capsys)}
    assert got == {k: v["occurrences"] for k, v in TRUTH["entries"].items()}
    store = open_store(url)
    assert store.unclassified_total() == TRUTH["unclassified"]["occurrences"]
    store.close()

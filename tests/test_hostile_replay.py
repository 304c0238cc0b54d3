"""`tfpulse replay` over every hostile record, between two valid errors: the replay never
aborts, both errors count, and each hostile record is in the dead-letter file with its
reason (tests/hostile_records.py; the Kafka suite sends the same list through a broker)."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from tests.hostile_records import HOSTILE
from worker.cli.main import main
from worker.knowledge.entry import KnowledgeBase

ENTRY = "aws/expired-token"


def _error_events(kb: KnowledgeBase, job: str) -> list[bytes]:
    text = kb.entries[ENTRY].examples[1].text
    return [orjson.dumps({"message": line, "timestamp": "2026-11-30T10:00:00Z",
                          "repo": "acme/hostile", "run_id": "1", "job": job})
            for line in text.splitlines()]


def test_replay_dead_letters_every_hostile_record(kb: KnowledgeBase, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    sent = [h for h in HOSTILE if h.in_file]
    lines = _error_events(kb, "first") + [h.value for h in sent] + _error_events(kb, "last")
    events = tmp_path / "hostile.jsonl"
    events.write_bytes(b"\n".join(lines) + b"\n")  # type: ignore[arg-type]
    dead, url = tmp_path / "dead.jsonl", f"sqlite:///{tmp_path / 'h.db'}"
    assert main(["replay", str(events), "--store", url, "--top", "0", "--no-progress",
                 "--dead-letter", str(dead)]) == 0
    assert f"{len(sent):,} dead letter(s) written to {dead}" in capsys.readouterr().err
    letters = [json.loads(line) for line in dead.read_bytes().splitlines()]
    assert len(letters) == len(sent) >= 60
    first = len(_error_events(kb, "first"))
    for record, letter in zip(sent, letters, strict=True):
        assert letter["position"] == first + sent.index(record) + 1  # the 1-based line
        assert letter["reason"].startswith(record.category + ": "), record.name
        whole = letter.get("value", "").encode() if "value" in letter else None
        assert whole == record.value or "value_base64" in letter or "prefix" in letter
    assert main(["stats", "--store", url, "--format", "json"]) == 0
    stats = {s["kb_id"]: s["occurrences"] for s in json.loads(capsys.readouterr().out)}
    assert stats == {ENTRY: 2}

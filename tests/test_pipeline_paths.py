"""The fast paths (process_text for raw logs, process_batch for decoded events) must find
exactly what the per-event path finds."""

from __future__ import annotations

import random

import orjson
import pytest

from worker.core.pipeline import Pipeline
from worker.decode.batch import decode_lines
from worker.decode.contract import DecodeError, DecodeOptions
from worker.decode.record import decode_record
from worker.model import Event, JobKey

JOB = JobKey("local", "build.log", 1, "build.log")
NOISE = ["Refreshing state... [id=i-123]", "Plan: 1 to add, 0 to change, 0 to destroy.",
         "", "npm WARN deprecated x", "  # aws_s3_bucket.b will be created", "-lock=false?"]


def corpus(kb, seed: int = 3) -> str:
    rnd = random.Random(seed)
    lines: list[str] = []
    for entry in kb:
        for ex in entry.examples:
            lines += [rnd.choice(NOISE) for _ in range(rnd.randrange(5))]
            lines += ex.text.rstrip("\n").split("\n")
            lines += ["", "", "$ terraform apply -lock=false"]
    return "\n".join(lines) + "\n"


def matches_per_line(kb, classifier, text: str) -> list[tuple]:
    p = Pipeline(kb, classifier, repo_entries=[("local", e.id) for e in kb])
    p.keep_matches = True
    for n, line in enumerate(text.split("\n")[:-1], start=1):
        p.process(Event(line, 5.0, *JOB[:1], run_id=JOB.run_id, job=JOB.job, line_number=n),
                  ("f", n - 1))
    p.close()
    batch = p.take()
    return sorted((m.kb_id or "", m.block.line, m.block.lines) for m in p.matches), \
        sorted((d.kb_id, d.signal) for d in batch.dead_ends), batch.positions


def matches_chunked(kb, classifier, text: str, size: int) -> list[tuple]:
    p = Pipeline(kb, classifier, repo_entries=[("local", e.id) for e in kb])
    p.keep_matches = True
    data = text.encode()
    number, pos = 1, 0
    while pos < len(data):  # chunks of whole lines, as file_source.read_chunks makes them
        end = data.find(b"\n", min(pos + size, len(data) - 1)) + 1 or len(data)
        p.process_text(JOB, data[pos:end], number, 5.0, "f")
        number += data.count(b"\n", pos, end)
        pos = end
    p.close()
    batch = p.take()
    return sorted((m.kb_id or "", m.block.line, m.block.lines) for m in p.matches), \
        sorted((d.kb_id, d.signal) for d in batch.dead_ends), batch.positions


def test_fast_path_equals_per_line_path(kb, classifier) -> None:
    text = corpus(kb)
    expected = matches_per_line(kb, classifier, text)
    assert len(expected[0]) > len(list(kb))  # every example found, at least
    for size in (64, 4096, 1 << 22):
        assert matches_chunked(kb, classifier, text, size) == expected


def event_stream(kb, numbered: bool, seed: int = 5) -> list[dict]:
    """KB examples and noise, interleaved over six jobs, with job_end events."""
    rnd = random.Random(seed)
    queues: list[list[str]] = [[] for _ in range(6)]
    for entry in kb:
        for ex in entry.examples:
            q = queues[rnd.randrange(6)]
            q += [rnd.choice(NOISE) for _ in range(rnd.randrange(4))]
            q += ex.text.rstrip("\n").split("\n") + ["", "$ terraform apply -lock=false"]
    events, counters = [], [0] * 6
    while any(queues):
        j = rnd.choice([i for i, q in enumerate(queues) if q])
        counters[j] += 1
        ev = {"message": queues[j].pop(0), "timestamp": 1793700000 + len(events),
              "repo": "acme/infra", "run_id": str(j), "job": "plan"}
        if numbered:
            ev["line_number"] = counters[j]
        events.append(ev)
        if not queues[j]:
            events.append({"type": "job_end", "repo": "acme/infra", "run_id": str(j),
                           "job": "plan"})
    return events


def outcome(p: Pipeline) -> tuple:
    p.close()
    batch = p.take()
    return (sorted((m.kb_id or "", m.block.job, m.block.line, m.block.lines) for m in p.matches),
            sorted((d.job, d.kb_id, d.signal) for d in batch.dead_ends), batch.positions,
            batch.events_ok, batch.events_invalid)


@pytest.mark.parametrize("numbered", [True, False])
def test_batch_path_equals_per_event_path(kb, classifier, numbered: bool) -> None:
    events = event_stream(kb, numbered)
    lines = [orjson.dumps(e) for e in events] + [b'{"not": "an event"}']
    entries = [("acme/infra", e.id) for e in kb]
    one = Pipeline(kb, classifier, repo_entries=entries)
    one.keep_matches = True
    for n, line in enumerate(lines):
        try:
            one.process(decode_record(line, None, 0.0), ("f", n))
        except DecodeError:
            one.invalid(("f", n))
    expected = outcome(one)
    assert len(expected[0]) > len(list(kb)) and expected[1]
    for size in (1, 7, 300, len(lines)):
        many = Pipeline(kb, classifier, repo_entries=entries)
        many.keep_matches = True
        for start in range(0, len(lines), size):
            chunk = b"\n".join(lines[start:start + size])
            assert not many.process_batch(decode_lines(chunk, start, 0.0, DecodeOptions()), "f")
        assert outcome(many) == expected, f"chunks of {size}"

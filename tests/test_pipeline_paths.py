"""The raw-text fast path (process_text) must find exactly what the per-line path finds."""

from __future__ import annotations

import random

from worker.model import Event, JobKey
from worker.pipeline import Pipeline

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

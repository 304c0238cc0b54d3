"""On the realistic corpus (benchmarks/realistic/generate.py: real CI snippets, TF_LOG=DEBUG
runs of successful jobs, plan diffs naming `error_document`, real failure texts inserted
into some jobs), every occurrence the worker records is in a job the generator gave a
failure, and most of those jobs get one.

The events go the way `tfpulse replay` takes them (decode_lines, then the pipeline's batch
path), in one shipper shape; the other shapes carry the same lines.
"""

from __future__ import annotations

import pytest

from benchmarks.realistic.generate import render
from worker.core.pipeline import Pipeline
from worker.decode.batch import decode_lines
from worker.decode.contract import DecodeOptions

LINES = 40_000
SEED = 20261201  # the generator's default seed: its own benchmark corpus, cut short


@pytest.fixture(scope="module")
def corpus():
    return render(LINES, seed=SEED)


def occurrence_jobs(kb, classifier, events: list[bytes]) -> list[tuple[str, str | None]]:
    p = Pipeline(kb, classifier)
    for start in range(0, len(events), 2000):
        batch = decode_lines(b"\n".join(events[start:start + 2000]), start, 0.0, DecodeOptions())
        p.process_batch(batch, "f")
    p.close()
    return [(f"{o.job.repo}/{o.job.run_id}/{o.job.job}", o.kb_id) for o in p.take().occurrences]


def test_every_occurrence_is_in_a_failed_job(kb, classifier, corpus) -> None:
    failed = {f.job for f in corpus.failures}
    found = occurrence_jobs(kb, classifier, corpus.events["vector_kubernetes"])
    assert failed and found, "the corpus holds no failure or the worker found none: no test"
    wrong = [(job, kb_id) for job, kb_id in found if job not in failed]
    assert not wrong, f"{len(wrong)} occurrence(s) in jobs without a failure: {wrong[:5]}"
    # Not vacuous: the inserted failures are found (a few texts may be ones the KB misses).
    assert len({job for job, _ in found}) >= 0.8 * len(failed)

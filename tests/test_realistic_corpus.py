"""The realistic benchmark corpus (benchmarks/realistic/generate.py): deterministic, and
every event of every shipper shape is valid under the event contract, with the job's key,
its text and its time, through both decoders."""

from __future__ import annotations

import orjson
import pytest

from benchmarks.realistic.generate import SHAPES, iter_lines, render
from worker.decode.batch import decode_lines
from worker.decode.contract import DEFAULT_OPTIONS, record_key
from worker.decode.record import decode_record

LINES = 3000
RECORD_TIME = 1_000.0  # the default time: only a shape without a time field would show it


@pytest.fixture(scope="module")
def corpus():
    return render(LINES, seed=5)


@pytest.fixture(scope="module")
def lines():
    return list(iter_lines(LINES, seed=5))


def test_the_same_seed_gives_the_same_corpus(corpus):
    again = render(LINES, seed=5)
    assert again.raw == corpus.raw
    assert again.events == corpus.events
    assert again.failures == corpus.failures
    assert render(LINES, seed=6).raw != corpus.raw


def test_the_stream_interleaves_jobs_and_holds_failures_and_debug_noise():
    lines = list(iter_lines(20_000, seed=3))
    assert len(lines) == 20_000
    jobs = {line.job.key for line in lines}
    assert len(jobs) > 40  # 40 at once, and new ones as others end
    switches = sum(a.job.key != b.job.key for a, b in zip(lines, lines[1:], strict=False))
    assert switches > 200  # bursts, not one job after the other
    assert any(line.failure for line in lines)
    assert sum(line.failure for line in lines) < len(lines) / 100  # most lines are not
    debug = [line for line in lines if line.job.debug]
    assert debug and any("rpc error" in line.text for line in debug)
    stamps = [line.stamp for line in lines]
    assert stamps == sorted(stamps)


@pytest.mark.parametrize("shape", SHAPES)
def test_every_event_decodes_under_the_contract(corpus, lines, shape):
    events = corpus.events[shape]
    assert len(events) == len(lines) == len(corpus.raw)
    batch = decode_lines(b"\n".join(events) + b"\n", 0, RECORD_TIME, DEFAULT_OPTIONS)
    assert not batch.errors
    assert len(batch) == len(lines)
    for i, (value, line) in enumerate(zip(events, lines, strict=True)):
        one = decode_record(value, None, RECORD_TIME)
        assert batch.event(i) == one, (shape, i)
        assert one.message == line.text == corpus.raw[i]
        assert record_key(one.repo, one.run_id, one.job).decode() == line.job.key
        assert one.timestamp == pytest.approx(line.stamp, abs=1e-3)
        assert orjson.loads(value)  # a JSON object per line, as shippers write

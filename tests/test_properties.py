"""Property-based tests (hypothesis) of decode, normalize, blocks and the pipeline.

For any bytes: the decoders give an Event or a DecodeError, never another exception, and
the batch decoder gives each record what decode_record gives it; normalize and the block
assembler take any text; the pipeline takes any decoded batch without a row failing, and
its memory stays within its caps (jobs tracked, lines and bytes per block) and, measured
with tracemalloc, within a bound for a bounded input. Example counts stay modest so that
`make test` stays fast; no deadline (the machine is shared).
"""

from __future__ import annotations

import json
import tracemalloc

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile_records import HOSTILE, TOLERATED
from worker.core.blocks import BlockAssembler
from worker.core.normalize import normalize_line
from worker.core.pipeline import Pipeline
from worker.decode.batch import DecodedBatch, decode_lines, decode_values
from worker.decode.contract import MAX_DEPTH, DecodeError, DecodeOptions, too_deep
from worker.decode.record import decode_record
from worker.knowledge.entry import KnowledgeBase
from worker.model import JobKey

NOW = 1_796_000_000.0
OPTS = DecodeOptions(clock=lambda: NOW, max_event_bytes=64 * 1024)
FEW = settings(max_examples=60, deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.function_scoped_fixture])

# Seeds: pieces of real and hostile records, so that random bytes reach deep paths.
_PIECES = [h.value[:200] for h in HOSTILE + TOLERATED if h.value] + [
    b'{"message": "', b'", "repo": "', b'"timestamp": ', b"\\u0000", b"[", b"{", b"}", b"]",
    b"Error: ", "╷\n│ Error: x\n╵".encode(), b"\x1b[31m", b"\xff", b"\n", b"\r", b'"}']
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)
_FIELDS = ["message", "log", "timestamp", "ts", "repo", "run_id", "run_attempt", "job",
           "team", "pipeline", "provider", "line_number", "type", "status", "extra"]
_EVENTS = st.dictionaries(st.sampled_from(_FIELDS), _JSON | st.text(max_size=60), max_size=8)
_RECORDS = st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from(_PIECES), max_size=8).map(b"".join),
    _EVENTS.map(lambda e: json.dumps(e, ensure_ascii=False).encode("utf-8", "surrogatepass")),
)


def _outcome(value: bytes | None, key: bytes | None) -> object:
    try:
        return decode_record(value, key, NOW, OPTS)
    except DecodeError as exc:
        return str(exc)


def _rows(batch: DecodedBatch) -> dict[int, object]:
    got: dict[int, object] = {batch.positions[i]: batch.event(i) for i in range(len(batch))}
    got.update({pos: reason for pos, reason, _raw in batch.errors})
    return got


@FEW
@given(st.one_of(st.none(), _RECORDS), st.one_of(st.none(), st.binary(max_size=40)))
def test_any_record_decodes_or_is_refused(value: bytes | None, key: bytes | None) -> None:
    _outcome(value, key)  # anything but DecodeError escapes and fails the test


@FEW
@given(st.lists(st.tuples(st.one_of(st.none(), _RECORDS), st.none() | st.binary(max_size=20)),
                max_size=12))
def test_kafka_values_decode_as_each_record_alone(records: list[tuple[bytes | None,
                                                                      bytes | None]]) -> None:
    batch = decode_values([v for v, _ in records], [k for _, k in records],
                          [NOW] * len(records), OPTS)
    got = _rows(batch)
    assert [got.get(k) for k in range(len(records))] == [_outcome(v, k) for v, k in records]


@FEW
@given(st.lists(_RECORDS, max_size=12))
def test_file_lines_decode_as_each_line_alone(records: list[bytes]) -> None:
    data = b"\n".join(records)
    batch = decode_lines(data, 5, NOW, OPTS)
    got = _rows(batch)
    lines = data.split(b"\n")
    for k, line in enumerate(lines[:data.count(b"\n") + (0 if data.endswith(b"\n") else 1)]):
        if line.strip() or len(line) > OPTS.max_event_bytes:
            assert got[5 + k] == _outcome(line, None)
        else:
            assert 5 + k not in got  # a blank line is neither an event nor invalid


@FEW
@given(st.text(max_size=400))
def test_normalize_takes_any_text(raw: str) -> None:
    text, frame = normalize_line(raw)
    assert frame in (None, "╷", "│", "╵")
    assert len(text) <= len(raw) and "\x00" not in text and "\x1b" not in text


_LINES = st.lists(st.one_of(
    st.text(max_size=120),
    st.sampled_from(["Error: AccessDenied", "╷", "│ Error: x", "│", "╵", "", "$ terraform plan",
                     "Plan: 1 to add", "AccessDeniedException: denied"]),
), max_size=80)


@FEW
@given(st.lists(st.tuples(st.integers(0, 5), _LINES, st.floats(0, 5000)), max_size=12))
def test_blocks_take_any_lines_within_their_caps(feeds: list[tuple[int, list[str], float]]
                                                 ) -> None:
    assembler = BlockAssembler(max_lines=6, max_bytes=200, idle_seconds=100.0, max_jobs=3)
    closed = []
    for job_no, lines, stamp in feeds:
        job = JobKey("r", str(job_no), 1, "j")
        for line in lines:
            closed += assembler.feed(job, line, stamp)
            assert assembler.jobs_tracked <= 3
        closed += assembler.flush_idle(stamp)
    closed += assembler.flush_all()
    assert assembler.jobs_tracked == 0 and not assembler.open_jobs
    for block in closed:
        assert 1 <= len(block.lines) <= 6 and sum(map(len, block.lines)) <= 200


@settings(FEW, max_examples=25)
@given(st.lists(_RECORDS, min_size=1, max_size=30))
def test_the_pipeline_takes_any_decoded_batch(kb: KnowledgeBase, records: list[bytes]) -> None:
    pipeline = Pipeline(kb, assembler=BlockAssembler(max_lines=20, max_bytes=2000, max_jobs=8),
                        max_jobs=8)
    batch = decode_lines(b"\n".join(records), 0, NOW, OPTS)
    assert pipeline.process_batch(batch, "p") == []  # no row failed
    pipeline.flush_idle()
    taken = pipeline.take()
    assert taken.events_ok + taken.events_invalid == len(batch) + len(batch.errors)
    assert taken.positions.get("p", 0) <= batch.next_position
    assert pipeline.blocks.jobs_tracked <= 8 and len(pipeline.aggregate.job_info) <= 8 + 1


def test_pipeline_memory_is_bounded_by_its_caps(kb: KnowledgeBase) -> None:
    """Every hostile record and 400 new jobs that each open a block, 12 times over: the memory
    kept after each chunk stays flat (jobs tracked and blocks are capped), and the peak is
    bounded by a few chunks' worth."""
    pipeline = Pipeline(kb, assembler=BlockAssembler(max_lines=20, max_bytes=2000, max_jobs=50),
                        max_jobs=50)
    records = [h.value[:4096] for h in HOSTILE + TOLERATED if h.value and b"\n" not in h.value]

    def chunk(n: int) -> bytes:  # new jobs in every chunk: only the caps keep memory flat
        jobs = [orjson.dumps({"message": "Error: open block " + "x" * 200, "repo": "r",
                              "job": f"{n}-{i}"}) for i in range(400)]
        return b"\n".join(records + jobs)

    lines = len(records) + 400
    tracemalloc.start()
    try:
        for n in range(12):
            batch = decode_lines(chunk(n), n * lines, NOW, OPTS)
            assert pipeline.process_batch(batch, "p") == []
            pipeline.take()
            del batch
            if n == 2:
                early = tracemalloc.get_traced_memory()[0]
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert pipeline.blocks.jobs_tracked <= 50
    assert kept - early < 256 * 1024, kept - early  # flat: 9 more chunks kept nothing
    assert peak < 8 * 1024 * 1024, peak


def _depth(data: bytes) -> int:
    """The nesting depth of a JSON text (arrays and objects), the slow and obvious way."""
    level, depth = [json.loads(data)], 0
    while level := [x for x in level if isinstance(x, list | dict)]:
        depth += 1
        level = [v for x in level for v in (x.values() if isinstance(x, dict) else x)]
    return depth


@FEW
@given(st.integers(40, 90), st.lists(st.sampled_from([[], {}, "[{", "]", 1, [[]]]), max_size=90),
       st.booleans())
def test_too_deep_is_exact(depth: int, siblings: list[object], objects: bool) -> None:
    value: object = []
    for k in range(depth - 1):
        extra = siblings[k:k + 2]
        value = {"a": value, "b": extra} if objects and k % 2 else [*extra, value]
    data = json.dumps(value).encode()
    assert too_deep(data) == (_depth(data) > MAX_DEPTH)

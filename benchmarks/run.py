"""Benchmarks, side by side on the same input in one process run.

    python benchmarks/run.py [--lines 1000000] [--no-mtail] [--no-kafka] [--kafka-batch 25]

On benchmarks/corpus/<lines>/ (generated if missing: raw.log and events.jsonl, ~0.5%
Terraform error lines):
1. tfpulse classifier on raw text (the `tfpulse classify` path: chunk scan, then only
   candidate lines), lines/s, MB/s, peak RSS;
2. the whole pipeline on JSONL events replayed into SQLite (`tfpulse replay`, a
   subprocess so its peak RSS is its own): the rate it reports (first read to last
   store write) and the wall time with start-up;
3. a naive Python `re` loop over the same KB patterns, line by line (what a quick script
   does), on the first 100,000 lines (it is too slow for more);
4. mtail --one_shot on raw.log with a program generated from the KB's line-level patterns
   (see mtail_compare.py), and whether its counters on the normalized log agree with a
   google-re2 reference per entry; skipped with a note when mtail is not installed;
5. end to end from a real Kafka broker (started from the Maven Central jars, see
   tests/kafka_broker.py): events.jsonl produced to a 6-partition topic, one `tfpulse
   run` worker timed from its first stored position to the last offset stored; once with
   one record per log line and once with --kafka-batch lines per record (what a
   shipper that batches a job's log sends; `tfpulse produce --lines-per-event`).
Prints a table with ratios and targets and writes it to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from generate_corpus import generate  # noqa: E402

from worker.core.pipeline import Pipeline  # noqa: E402
from worker.knowledge.loader import load_kb  # noqa: E402
from worker.sources.files import open_input, read_chunks  # noqa: E402


def classify_file(raw: Path, kb, keep_matches: bool = False) -> tuple[float, float, int, Pipeline]:
    """The `tfpulse classify FILE` path: whole-chunk scan, then only candidate lines.
    Returns (wall s, CPU s, lines, the pipeline, closed)."""
    pipeline = Pipeline(kb)
    pipeline.keep_matches = keep_matches
    start, cpu = time.perf_counter(), time.process_time()
    n = 0
    inp = open_input(str(raw))
    for first, data in read_chunks(inp):
        n += pipeline.process_text(inp.job, data, first, inp.timestamp)
    inp.close()
    pipeline.close()
    return time.perf_counter() - start, time.process_time() - cpu, n, pipeline


def bench_classify(raw: Path, kb) -> tuple[float, int, int]:
    wall, _cpu, n, pipeline = classify_file(raw, kb)
    return wall, n, len(pipeline.take().occurrences)


def bench_naive(raw: Path, kb, limit: int) -> tuple[float, int]:
    # Python re refuses repeated group names, which RE2 accepts: drop the names.
    pats = [re.compile(re.sub(r"\(\?P<\w+>", "(?:", p.regex)) for e in kb for p in e.patterns]
    start = time.perf_counter()
    n = 0
    with open(raw, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            for p in pats:
                p.search(line)
            n += 1
            if n >= limit:
                break
    return time.perf_counter() - start, n


def bench_replay(events: Path) -> tuple[float, float, int]:
    """(wall s with start-up, the events/s replay reports, peak RSS KB)."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "worker.cli", "replay", str(events), "--store",
               f"sqlite:///{tmp}/b.db", "--top", "0", "--no-progress"]
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=HERE.parent)
        elapsed = time.perf_counter() - start
        rate = re.search(r"\(([\d,]+) events/s\)", done.stderr)
        assert rate, done.stderr
        return elapsed, float(rate.group(1).replace(",", "")), _peak_children_kb()


def bench_mtail(raw: Path, kb, n: int) -> tuple[float, str] | None:
    """(mtail lines/s on raw.log, agreement note), or None without mtail."""
    import mtail_compare as mc

    mtail = shutil.which("mtail")
    if mtail is None:
        return None
    regexes = {e.id: r for e in kb if (r := mc.line_regex(e)) is not None}
    with tempfile.TemporaryDirectory(prefix="tfpulse-mtail-") as tmp:
        tmpdir = Path(tmp)
        progs = tmpdir / "progs"
        progs.mkdir()
        program, names = mc.mtail_program(regexes)
        (progs / "tfpulse_kb.mtail").write_text(program)
        wall, _cpu, values = mc.run_mtail(mtail, progs, raw)
        if values.get("lines_total") != n:
            raise SystemExit(f"mtail read {values.get('lines_total')} of {n} lines")
        normalized = tmpdir / "normalized.log"
        mc.write_normalized(raw, normalized)
        _, ref = mc.reference_counts(normalized, regexes)
        _, _, norm_values = mc.run_mtail(mtail, progs, normalized)
    agree = sum(norm_values.get(name, 0) == ref[kb_id] for name, kb_id in names.items())
    note = (f"mtail: {len(regexes)} counters from the KB's line-level patterns; on the "
            f"normalized log its counters equal the google-re2 reference for {agree} of "
            f"{len(regexes)} entries (details: mtail_compare.py)")
    return n / wall, note


def bench_kafka(events: Path, batch: int) -> list[tuple[int, dict[str, float]]]:
    """End to end from a real broker: (lines per record, results) for 1 and batch."""
    import kafka_e2e

    from tests.kafka_broker import KafkaBroker

    out = []
    with tempfile.TemporaryDirectory(prefix="tfpulse-bench-") as tmp:
        broker = KafkaBroker(Path(tmp) / "kafka").start()
        try:
            for per_event in (1, batch):
                run_dir = Path(tmp) / f"run-{per_event}"
                run_dir.mkdir()
                out.append((per_event, kafka_e2e.run(broker.bootstrap, run_dir, 0, per_event,
                                                     events)))
        finally:
            broker.stop()
    return out


def _peak_children_kb() -> int:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--no-mtail", action="store_true", help="skip mtail (minutes at 1M)")
    parser.add_argument("--no-kafka", action="store_true", help="skip the Kafka end-to-end rows")
    parser.add_argument("--kafka-batch", type=int, default=25, metavar="N",
                        help="lines per record in the batched Kafka run (default 25)")
    args = parser.parse_args()
    corpus = HERE / "corpus" / str(args.lines)
    if not (corpus / "events.jsonl").exists():
        generate(args.lines, corpus)
    raw, events = corpus / "raw.log", corpus / "events.jsonl"
    mb = raw.stat().st_size / 1e6
    load = os.getloadavg()[0]
    kb = load_kb()
    t_cls, n, found = bench_classify(raw, kb)
    rss_cls = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t_naive, n_naive = bench_naive(raw, kb, 100_000)
    t_rep, rate_rep, rss_rep = bench_replay(events)
    mtail = None if args.no_mtail else bench_mtail(raw, kb, n)
    kafka = [] if args.no_kafka else bench_kafka(events, args.kafka_batch)
    ev_mb = events.stat().st_size / 1e6
    rows: list[tuple[str, float, float | None, float | None]] = [
        ("tfpulse classifier, raw text", n / t_cls, mb / t_cls, rss_cls / 1024),
        ("tfpulse replay, JSONL -> SQLite", rate_rep, ev_mb * rate_rep / n, rss_rep / 1024),
        ("  same, wall time with start-up", n / t_rep, ev_mb / t_rep, None),
        ("naive Python re loop (100k lines)", n_naive / t_naive, None, None),
    ]
    if mtail is not None:
        rows.append(("mtail --one_shot, raw text", mtail[0], mb / (n / mtail[0]), None))
    for per_event, k in kafka:
        rows.append((f"Kafka -> tfpulse run, {per_event} line(s)/record",
                     k["lines"] / k["seconds"], None, k["rss_mib"]))
    out = [f"# tfpulse benchmark, {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC",
           f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
           f"{platform.python_version()}, load average {load:.2f} at start; "
           f"{len(kb)} KB entries, {sum(len(e.patterns) for e in kb)} patterns",
           f"input: {n:,} lines ({mb:.1f} MB raw, {ev_mb:.1f} MB JSONL), "
           f"{found} occurrences found",
           f"command: python benchmarks/run.py --lines {args.lines}"
           + (" --no-mtail" if args.no_mtail else "") + (" --no-kafka" if args.no_kafka else ""),
           "", f"| {'what':<40} | {'lines/s':>12} | {'MB/s':>7} | {'peak RSS MB':>11} |",
           f"|{'-' * 42}|{'-' * 14}|{'-' * 9}|{'-' * 13}|"]
    for name, lps, mbs, rss in rows:
        mbs_s = "-" if mbs is None else f"{mbs:.1f}"
        rss_s = "-" if rss is None else f"{rss:.0f}"
        out.append(f"| {name:<40} | {lps:>12,.0f} | {mbs_s:>7} | {rss_s:>11} |")
    out.append("")
    naive = n_naive / t_naive
    out.append(f"ratios: classifier / naive re {n / t_cls / naive:.1f}x; "
               f"replay / naive re {rate_rep / naive:.1f}x")
    if mtail is not None:
        out.append(f"ratios: classifier / mtail {n / t_cls / mtail[0]:.1f}x; "
                   f"replay / mtail {rate_rep / mtail[0]:.1f}x")
        out.append(mtail[1])
    else:
        out.append("mtail: " + ("skipped (--no-mtail)" if args.no_mtail else
                                "not installed (apt-get install mtail): rows skipped"))
    out += ["", "targets (issue 6): replay >= 250,000 lines/s and >= 10x mtail; classifier "
            ">= 1,000,000 lines/s; Kafka end to end >= 150,000 lines/s; peak RSS < 200 MB at "
            "10M lines, as at 1M.",
            "Kafka rows: one worker, 6 partitions, SQLite store; timed from the first stored "
            "position (after the first poll) to the last offset stored. Peak RSS there is "
            "the worker's VmHWM."]
    text = "\n".join(out) + "\n"
    print(text)
    stamp = time.strftime("%Y%m%d-%H%M", time.gmtime())
    (HERE / "results" / f"{stamp}-{args.lines}.md").write_text(text)


if __name__ == "__main__":
    main()

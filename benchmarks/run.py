"""Benchmarks, side by side on the same input in one process run.

    python benchmarks/run.py [--lines 1000000]

1. tfpulse classifier on raw text (the `tfpulse classify` path: prefilter, normalize,
   blocks, multi-pattern engine), lines/s and MB/s;
2. the whole pipeline on JSONL events replayed into SQLite (`tfpulse replay`);
3. a naive Python `re` loop over the same KB patterns, line by line (what a quick script
   does), on the first 100,000 lines (it is too slow for more);
and peak RSS. Prints a table and writes it to benchmarks/results/ with the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from generate_corpus import generate  # noqa: E402

from worker.file_source import open_input, read_chunks  # noqa: E402
from worker.kb import load_kb  # noqa: E402
from worker.pipeline import Pipeline  # noqa: E402


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


def bench_replay(events: Path) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "worker.cli", "replay", str(events), "--store",
               f"sqlite:///{tmp}/b.db", "--top", "0", "--no-progress"]
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, text=True, check=True,
                              cwd=HERE.parent)
        elapsed = time.perf_counter() - start
        return elapsed, _peak_children_kb()


def _peak_children_kb() -> int:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    corpus = HERE / "corpus" / str(args.lines)
    if not (corpus / "events.jsonl").exists():
        generate(args.lines, corpus)
    raw, events = corpus / "raw.log", corpus / "events.jsonl"
    mb = raw.stat().st_size / 1e6
    kb = load_kb()
    t_cls, n, found = bench_classify(raw, kb)
    rss_cls = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t_naive, n_naive = bench_naive(raw, kb, 100_000)
    t_rep, rss_rep = bench_replay(events)
    rows = [
        ("tfpulse classifier, raw text", n / t_cls, mb / t_cls, rss_cls / 1024),
        ("tfpulse replay, JSONL -> SQLite", n / t_rep, events.stat().st_size / 1e6 / t_rep,
         rss_rep / 1024),
        ("naive Python re loop (100k lines)", n_naive / t_naive, None, None),
    ]
    out = [f"# tfpulse benchmark, {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC",
           f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
           f"{platform.python_version()}, {len(kb)} KB entries, "
           f"{sum(len(e.patterns) for e in kb)} patterns",
           f"input: {n:,} lines ({mb:.1f} MB raw), {found} occurrences found",
           f"command: python benchmarks/run.py --lines {args.lines}", "",
           f"| {'what':<36} | {'lines/s':>12} | {'MB/s':>7} | {'peak RSS MB':>11} |",
           f"|{'-' * 38}|{'-' * 14}|{'-' * 9}|{'-' * 13}|"]
    for name, lps, mbs, rss in rows:
        mbs_s = "-" if mbs is None else f"{mbs:.1f}"
        rss_s = "-" if rss is None else f"{rss:.0f}"
        out.append(f"| {name:<36} | {lps:>12,.0f} | {mbs_s:>7} | {rss_s:>11} |")
    out.append("")
    out.append(f"ratio classifier / naive re: {rows[0][1] / rows[2][1]:.1f}x; "
               f"replay / naive re: {rows[1][1] / rows[2][1]:.1f}x")
    text = "\n".join(out) + "\n"
    print(text)
    stamp = time.strftime("%Y%m%d-%H%M", time.gmtime())
    (HERE / "results" / f"{stamp}-{args.lines}.md").write_text(text)


if __name__ == "__main__":
    main()

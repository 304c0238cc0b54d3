"""Benchmarks on two corpora, side by side, every row on both, in one process run.

    python benchmarks/run.py [--lines 1000000] [--no-mtail] [--no-kafka] [--kafka-batch 25]
                             [--mtail-lines N] [--kafka-shape vector_kubernetes]

The corpora (generated if missing, not committed):
- easy: benchmarks/corpus/<lines>/ (generate_corpus.py: 10 ordinary templates, ~0.5%
  Terraform error lines, canonical field names);
- realistic: benchmarks/corpus/realistic/<lines>/ (realistic/generate.py: real CI output
  of GitHub Actions, GitLab, Jenkins and Atlantis jobs, TF_LOG=DEBUG noise, plan diffs, test
  runners and package managers; JSONL in five shipper shapes with aliased fields, integer
  ids and nested metadata).

Rows, each on both corpora:
1. tfpulse classifier on raw text (the `tfpulse classify` path: chunk scan, then only
   candidate lines), in a child process so its peak RSS is its own;
2. the whole pipeline on JSONL replayed into SQLite (`tfpulse replay`, a child process):
   the rate it reports (first read to last store write) and its peak RSS; the easy corpus
   has one JSONL (canonical fields), the realistic one a row per shipper shape;
3. a naive Python `re` loop over the same KB patterns, line by line, on the first 100,000
   lines;
4. mtail --one_shot on raw.log with a program generated from the KB's line-level patterns
   (mtail_compare.py), on the same lines (or the first --mtail-lines), and whether its
   counters on the normalized log agree with a google-re2 reference per entry; skipped
   with a note when mtail is not installed;
5. end to end from a real Kafka broker (benchmarks/kafka_e2e.py, which starts nothing
   here: one broker for all rows): the corpus produced to a 6-partition topic, one
   `tfpulse run` worker timed from its first stored position to the last offset stored;
   with one record per log line and with --kafka-batch lines per record; the realistic
   corpus in the --kafka-shape shipper shape.
Prints a table with ratios and targets and writes it to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from generate_corpus import generate as generate_easy  # noqa: E402

from benchmarks.realistic import generate as realistic  # noqa: E402
from worker.core.pipeline import Pipeline  # noqa: E402
from worker.knowledge.loader import load_kb  # noqa: E402
from worker.sources.files import open_input, read_chunks  # noqa: E402

NAIVE_LINES = 100_000


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


# -- child processes, each with its own peak RSS ----------------------------------------


def run_child(cmd: list[str]) -> tuple[float, str, str, int]:
    """(wall s, stdout, stderr, peak RSS KB of this child alone: os.wait4's rusage)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-3000:]}")
    return wall, stdout, stderr, usage.ru_maxrss


def bench_classify(raw: Path) -> dict[str, float]:
    """The classifier in a child process (this script with --classify-only)."""
    _, stdout, _, rss = run_child([sys.executable, str(Path(__file__).resolve()),
                                   "--classify-only", str(raw)])
    result = json.loads(stdout.strip().splitlines()[-1])
    return {**result, "rss_mb": rss / 1024}


def classify_only(raw: Path) -> None:
    kb = load_kb()
    wall, cpu, n, pipeline = classify_file(raw, kb)
    print(json.dumps({"seconds": wall, "cpu": cpu, "lines": n,
                      "found": len(pipeline.take().occurrences)}))


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


def bench_replay(events: Path, failed_jobs: set[str] | None = None) -> dict[str, float]:
    """`tfpulse replay` into SQLite: the rate it reports, wall time with start-up, RSS;
    with the jobs known to have failed, how many stored occurrences are in other jobs."""
    with tempfile.TemporaryDirectory() as tmp:
        wall, _, stderr, rss = run_child([
            sys.executable, "-m", "worker.cli", "replay", str(events), "--store",
            f"sqlite:///{tmp}/b.db", "--top", "0", "--no-progress"])
        green = -1.0
        if failed_jobs is not None:
            with sqlite3.connect(f"{tmp}/b.db") as db:
                keys = [f"{r}/{i}/{j}" for r, i, j in
                        db.execute("SELECT repo, run_id, job FROM occurrences")]
            green = float(sum(k not in failed_jobs for k in keys))
    rate = re.search(r"\(([\d,]+) events/s\)", stderr)
    stored = re.search(r"([\d,]+) new occurrence", stderr)
    invalid = re.search(r"\(([\d,]+) invalid\)", stderr)
    assert rate, stderr
    return {"rate": float(rate.group(1).replace(",", "")), "wall": wall, "rss_mb": rss / 1024,
            "stored": float(stored.group(1).replace(",", "")) if stored else -1,
            "invalid": float(invalid.group(1).replace(",", "")) if invalid else -1,
            "in_green_jobs": green}


def bench_mtail(raw: Path, kb, limit: int | None) -> dict[str, float | str] | None:
    """mtail on raw.log (or its first `limit` lines): lines/s and the agreement note."""
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
        log = raw
        if limit is not None:
            log = tmpdir / "head.log"
            with open(raw, "rb") as src, open(log, "wb") as dst:
                dst.writelines(islice(src, limit))
        with open(log, "rb") as fh:
            n = sum(1 for _ in fh)
        wall, _cpu, values = mc.run_mtail(mtail, progs, log)
        if values.get("lines_total") != n:
            raise SystemExit(f"mtail read {values.get('lines_total')} of {n} lines")
        normalized = tmpdir / "normalized.log"
        mc.write_normalized(log, normalized)
        _, ref = mc.reference_counts(normalized, regexes)
        _, _, norm_values = mc.run_mtail(mtail, progs, normalized)
    agree = sum(norm_values.get(name, 0) == ref[kb_id] for name, kb_id in names.items())
    return {"rate": n / wall, "lines": n, "counters": len(regexes), "agree": agree}


def bench_kafka(corpora: list[tuple[str, Path]], batch: int) -> dict[tuple[str, int], dict]:
    """End to end from one real broker: {(corpus, lines per record): kafka_e2e.run result}."""
    import kafka_e2e

    from tests.kafka_broker import KafkaBroker

    out: dict[tuple[str, int], dict] = {}
    with tempfile.TemporaryDirectory(prefix="tfpulse-bench-") as tmp:
        broker = KafkaBroker(Path(tmp) / "kafka").start()
        try:
            for name, events in corpora:
                for per_event in (1, batch):
                    run_dir = Path(tmp) / f"run-{name}-{per_event}"
                    run_dir.mkdir()
                    out[(name, per_event)] = kafka_e2e.run(broker.bootstrap, run_dir, 0,
                                                           per_event, events)
        finally:
            broker.stop()
    return out


# -- the table ---------------------------------------------------------------------------


@dataclass
class Corpus:
    name: str
    raw: Path
    jsonl: dict[str, Path]  # shape -> file
    kafka: Path
    failed_jobs: set[str] | None = None  # record keys of the jobs given a failure
    lines: int = 0
    mb: float = 0.0
    results: dict[str, dict] = field(default_factory=dict)


def corpora(lines: int, kafka_shape: str) -> list[Corpus]:
    easy_dir = HERE / "corpus" / str(lines)
    if not (easy_dir / "events.jsonl").exists():
        generate_easy(lines, easy_dir)
    real_dir = realistic.DEFAULT_OUT / str(lines)
    if not all((real_dir / f"{s}.jsonl").exists() for s in realistic.SHAPES):
        realistic.generate(lines, out=real_dir)
    real_jsonl = {s: real_dir / f"{s}.jsonl" for s in realistic.SHAPES}
    with open(real_dir / "failures.jsonl", encoding="utf-8") as fh:
        failed = {json.loads(line)["job"] for line in fh}
    return [Corpus("easy", easy_dir / "raw.log", {"canonical": easy_dir / "events.jsonl"},
                   easy_dir / "events.jsonl"),
            Corpus("realistic", real_dir / "raw.log", real_jsonl, real_jsonl[kafka_shape],
                   failed_jobs=failed)]


def _f(value: float | None, fmt: str = ",.0f") -> str:
    return "-" if value is None else format(value, fmt)


def table(cs: list[Corpus], args: argparse.Namespace) -> list[str]:
    easy, real = cs
    head = (f"| {'what':<52} | {'easy lines/s':>12} | {'realistic lines/s':>17} | "
            f"{'real/easy':>9} | {'RSS MB easy':>11} | {'RSS MB real':>11} |")
    rows = [head, "|" + "|".join("-" * (len(c) + 0) for c in head.split("|")[1:-1]) + "|"]

    def row(what: str, a: float | None, b: float | None, ra: float | None = None,
            rb: float | None = None) -> None:
        ratio = None if a is None or b is None or not a else b / a
        rows.append(f"| {what:<52} | {_f(a):>12} | {_f(b):>17} | {_f(ratio, '.2f'):>9} | "
                    f"{_f(ra):>11} | {_f(rb):>11} |")

    ce, cr = easy.results["classify"], real.results["classify"]
    row("tfpulse classify, raw text", ce["lines"] / ce["seconds"],
        cr["lines"] / cr["seconds"], ce["rss_mb"], cr["rss_mb"])
    re_e = easy.results["replay"]["canonical"]
    for shape in real.jsonl:
        rr = real.results["replay"][shape]
        row(f"tfpulse replay, JSONL -> SQLite: {shape}", re_e["rate"], rr["rate"],
            re_e["rss_mb"], rr["rss_mb"])
    for shape in real.jsonl:
        rr = real.results["replay"][shape]
        row(f"  same, wall time with start-up: {shape}", easy.lines / re_e["wall"],
            real.lines / rr["wall"])
    ne, nr = easy.results["naive"], real.results["naive"]
    row(f"naive Python re loop ({NAIVE_LINES // 1000}k lines)", ne[1] / ne[0], nr[1] / nr[0])
    me, mr = easy.results.get("mtail"), real.results.get("mtail")
    if me and mr:
        row("mtail --one_shot, raw text", me["rate"], mr["rate"])
    for key in sorted({k for c in cs for k in c.results.get("kafka", {})}):
        ke = easy.results["kafka"].get(key)
        kr = real.results["kafka"].get(key)
        row(f"Kafka -> tfpulse run, {key} line(s)/record",
            ke and ke["lines"] / ke["seconds"], kr and kr["lines"] / kr["seconds"],
            ke and ke["rss_mib"], kr and kr["rss_mib"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--no-mtail", action="store_true", help="skip mtail (minutes at 1M)")
    parser.add_argument("--no-kafka", action="store_true", help="skip the Kafka end-to-end rows")
    parser.add_argument("--kafka-batch", type=int, default=25, metavar="N",
                        help="lines per record in the batched Kafka run (default 25)")
    parser.add_argument("--kafka-shape", default="vector_kubernetes",
                        choices=realistic.SHAPES, help="the realistic corpus's shape for Kafka")
    parser.add_argument("--mtail-lines", type=int, default=None, metavar="N",
                        help="run mtail on the first N lines only (default: all)")
    parser.add_argument("--classify-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.classify_only:
        classify_only(args.classify_only)
        return
    load = os.getloadavg()
    started = time.time()
    cs = corpora(args.lines, args.kafka_shape)
    kb = load_kb()
    for c in cs:
        c.mb = c.raw.stat().st_size / 1e6
        print(f"{c.name}: classify ...", file=sys.stderr, flush=True)
        c.results["classify"] = bench_classify(c.raw)
        c.lines = int(c.results["classify"]["lines"])
        c.results["naive"] = bench_naive(c.raw, kb, NAIVE_LINES)
        c.results["replay"] = {}
        for shape, path in c.jsonl.items():
            print(f"{c.name}: replay {shape} ...", file=sys.stderr, flush=True)
            c.results["replay"][shape] = bench_replay(path, c.failed_jobs)
        if not args.no_mtail:
            print(f"{c.name}: mtail ...", file=sys.stderr, flush=True)
            c.results["mtail"] = bench_mtail(c.raw, kb, args.mtail_lines)
    if not args.no_kafka:
        print("kafka ...", file=sys.stderr, flush=True)
        kafka = bench_kafka([(c.name, c.kafka) for c in cs], args.kafka_batch)
        for c in cs:
            c.results["kafka"] = {per: r for (name, per), r in kafka.items() if name == c.name}
    end_load = os.getloadavg()
    easy, real = cs
    command = (f"python benchmarks/run.py --lines {args.lines}"
               + (" --no-mtail" if args.no_mtail else "")
               + (" --no-kafka" if args.no_kafka else "")
               + (f" --mtail-lines {args.mtail_lines}" if args.mtail_lines else "")
               + (f" --kafka-shape {args.kafka_shape}"
                  if args.kafka_shape != "vector_kubernetes" else ""))
    out = [f"# tfpulse benchmark, {time.strftime('%Y-%m-%d %H:%M', time.gmtime(started))} UTC",
           f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
           f"{platform.python_version()}, load average {load[0]:.2f} / {load[1]:.2f} / "
           f"{load[2]:.2f} (1/5/15 min) at start, {end_load[0]:.2f} at the end; "
           f"{len(kb)} KB entries, {sum(len(e.patterns) for e in kb)} patterns",
           f"command: {command} ({(time.time() - started) / 60:.1f} min)"]
    for c in cs:
        cl = c.results["classify"]
        out.append(f"{c.name} corpus: {c.lines:,} lines, {c.mb:.1f} MB raw ({c.raw}); "
                   f"classify found {cl['found']:,.0f} occurrences; replay stored "
                   + ", ".join(f"{s} {r['stored']:,.0f} ({r['invalid']:,.0f} invalid"
                               + (f", {r['in_green_jobs']:,.0f} in jobs given no failure"
                                  if r["in_green_jobs"] >= 0 else "") + ")"
                               for s, r in c.results["replay"].items())
                   + (f"; {len(c.failed_jobs):,} jobs were given a failure"
                      if c.failed_jobs is not None else ""))
    stats_file = real.raw.parent / "stats.json"
    if stats_file.exists():
        st = json.loads(stats_file.read_text())
        out.append(f"realistic corpus: {st['jobs']:,} jobs ({st['debug_jobs']:,} at TF_LOG="
                   f"DEBUG, {st['failed_jobs']:,} failed), {st['failure_lines']:,} failure "
                   f"lines, {st['noise_word_lines'] / st['lines']:.1%} of lines hold "
                   f"error/fail/invalid ({st['debug_noise_word_lines'] / max(1, st['debug_job_lines']):.1%}"
                   f" of debug jobs' lines, not failures), {st['trigger_lines'] / st['lines']:.1%}"
                   " match the worker's TRIGGER")
    out += ["", *table(cs, args), ""]
    rate = {c.name: c.results["classify"]["lines"] / c.results["classify"]["seconds"]
            for c in cs}
    for c in cs:
        naive = c.results["naive"][1] / c.results["naive"][0]
        reps = c.results["replay"]
        slowest = min(r["rate"] for r in reps.values())
        line = (f"{c.name}: classifier / naive re {rate[c.name] / naive:.1f}x; slowest replay"
                f" / naive re {slowest / naive:.1f}x")
        mt = c.results.get("mtail")
        if mt:
            line += (f"; classifier / mtail {rate[c.name] / mt['rate']:.1f}x; slowest replay "
                     f"/ mtail {slowest / mt['rate']:.1f}x (mtail on {mt['lines']:,.0f} lines, "
                     f"{mt['counters']} counters from the KB's line-level patterns; on the "
                     f"normalized log they equal the google-re2 reference for {mt['agree']} of "
                     f"{mt['counters']})")
        out.append(line)
    if args.no_mtail or shutil.which("mtail") is None:
        out.append("mtail: " + ("skipped (--no-mtail)" if args.no_mtail else
                                "not installed (apt-get install mtail): rows skipped"))
    for c in cs:
        for per, k in sorted(c.results.get("kafka", {}).items()):
            extra = {key: v for key, v in k.items()
                     if key not in ("events", "lines", "seconds", "rss_mib")}
            out.append(f"Kafka {c.name}, {per} line(s)/record: {k['events']:,.0f} records, "
                       f"{k['lines']:,.0f} lines in {k['seconds']:.1f} s"
                       + (f"; {json.dumps(extra)}" if extra else ""))
    out += ["", "targets (issue 13, on the realistic corpus, one core): classify >= 1,000,000 "
            "lines/s and >= 20x mtail; replay >= 250,000 lines/s in every shipper shape and "
            ">= 10x mtail; Kafka, one record per line >= 0.7x a bare kafka-python loop, 25 "
            "lines per record >= 400,000 lines/s, worker peak RSS < 200 MB; the easy corpus "
            "no slower than before.",
            f"Kafka rows: one worker, 6 partitions, SQLite store; the realistic corpus as "
            f"{args.kafka_shape} events; timed from the first stored position (after the "
            "first poll) to the last offset stored. Peak RSS there is the worker's VmHWM; "
            "elsewhere the child process's own peak (os.wait4)."]
    text = "\n".join(out) + "\n"
    print(text)
    stamp = time.strftime("%Y%m%d-%H%M", time.gmtime(started))
    (HERE / "results" / f"{stamp}-{args.lines}.md").write_text(text)


if __name__ == "__main__":
    main()

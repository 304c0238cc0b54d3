#!/usr/bin/env python3
"""End-to-end throughput of `tfpulse run` against a bare kafka-python loop, same topic.

For each --lines-per-event N: produces the corpus (merged to N lines per record) to a
fresh 6-partition topic, then on that topic, in this order:

  1. a bare kafka-python poll loop (raw bytes, no deserializer; the worker's fetch
     settings and poll sizes, worker/sources/kafka.fetch_settings and PollSize, and its
     GC settings) that polls until every record was read: the client's own ceiling;
  2. `tfpulse run` (one worker, SQLite store), timed from the first records its
     /metrics counted as stored to the moment it counted every record of the topic;
  3. the bare loop again (the machine is shared: the ratio uses the mean of 1 and 3).

Reports records/s and lines/s of each, in wall time and per CPU second of the process
(the CPU figure is the steadier one on a loaded machine), tfpulse's ratio to the bare
loop, and the worker's peak RSS (VmHWM) with its RSS at 25/50/75/100% of the topic read
(flat is the goal). The last line printed is a JSON summary (`{"benchmark": "kafka_e2e",
...}`) for benchmarks/run.py and benchmarks/results/.

    .venv/bin/python benchmarks/kafka_e2e.py [--lines 500000] [--lines-per-event N [N ...]]
                                             [--corpus EVENTS_JSONL] [--bootstrap HOST:PORT]
                                             [--no-bare]

Without --corpus: the sample stream (tests/worker_harness.py) repeated until it holds at
least --lines log lines (each copy gets its own run ids). --lines-per-event N merges up
to N consecutive lines of one job into one event (what `tfpulse produce
--lines-per-event` and a batching log shipper send); the default, 1, is one record per
log line. Fetch settings come from the worker's configuration, so TFPULSE_KAFKA_* in the
environment change both loops alike. Without --bootstrap (or KAFKA_BOOTSTRAP_SERVERS) it
starts its own broker with tests/kafka_broker.py in a temporary folder.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import worker_harness as h  # noqa: E402
from tests.conftest_kafka import kafka_admin_client  # noqa: E402
from tests.kafka_broker import KafkaBroker  # noqa: E402
from worker.cli.produce import merge_lines  # noqa: E402

PARTITIONS = 6
CLK_TCK = os.sysconf("SC_CLK_TCK")


def corpus_file(path: Path, per_event: int = 1) -> tuple[list[bytes], int]:
    """A JSONL corpus (generate_corpus.py's events.jsonl: ~0.5% error lines), merged."""
    with open(path, "rb") as fh:
        lines = [line.rstrip(b"\n") for line in fh if line.strip()]
    return list(merge_lines(lines, per_event)), len(lines)


def _file_lines(path: Path, counter: list[int]) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        for line in fh:
            if line.strip():
                counter[0] += 1
                yield line.rstrip(b"\n")


def corpus(min_lines: int, per_event: int = 1) -> tuple[list[bytes], int]:
    """The sample CI stream (error-dense: a demo of eight weeks of failures), repeated."""
    lines, _ = h.sample_subset(10**9)  # the whole stream
    base = [json.loads(x) for x in lines]
    out: list[bytes] = []
    n_lines = 0
    copy = 0
    while n_lines < min_lines:
        for e in base:
            e2 = dict(e, run_id=f"{e['run_id']}-c{copy}")
            out.append(json.dumps(e2, ensure_ascii=False, sort_keys=True).encode())
            if "message" in e2:
                n_lines += str(e2["message"]).count("\n") + 1
        copy += 1
    return list(merge_lines(out, per_event)), n_lines


def run_start() -> dict[str, Any]:
    """When and on what a benchmark run starts: the first fields of its JSON summary."""
    return {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                       f"{platform.python_version()}",
            "load_average_start": [round(x, 2) for x in os.getloadavg()]}


def run_summary(name: str, start: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """The JSON summary a benchmark prints last: its start, the load at its end, the
    command that ran it, then its own fields."""
    return {"benchmark": name, **start,
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
            "command": " ".join([f"benchmarks/{name}.py", *sys.argv[1:]]), **fields}


# -- the bare loop (run in a subprocess of its own: `--bare-loop TOPIC`) --------------------


def bare_loop(bootstrap: str, topic: str) -> dict[str, Any]:
    """Poll every record of topic with the worker's fetch settings; time from the first
    poll that returned records to the last record."""
    from kafka import KafkaConsumer, TopicPartition

    from worker.config import load_config
    from worker.sources.kafka import PollSize, fetch_settings

    cfg = load_config()
    settings, size = fetch_settings(cfg), PollSize.configured(cfg)
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                      auto_offset_reset="earliest", **settings)
    try:
        parts = c.partitions_for_topic(topic)
        assert parts, f"no partitions for {topic}"
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        c.assign(tps)
        total = sum(c.end_offsets(tps).values())
        c.seek_to_beginning(*tps)
        gc.collect()  # the worker's GC settings (cli/common.settle_heap): a fair ceiling
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
        n = first = value_bytes = 0
        t0 = cpu0 = 0.0
        while n < total:
            polled = c.poll(timeout_ms=1000, max_records=size.next())
            count = size_bytes = 0
            for records in polled.values():
                if not n:
                    t0, cpu0, first = time.monotonic(), time.process_time(), len(records)
                n += len(records)
                count += len(records)
                size_bytes += sum(map(len, [r.value for r in records]))
            size.saw(count, size_bytes)
            value_bytes += size_bytes
        secs, cpu = time.monotonic() - t0, time.process_time() - cpu0
    finally:
        c.close()
    timed = n - first
    return {"records": n, "timed_records": timed, "seconds": secs, "cpu_seconds": cpu,
            "records_per_s": timed / secs, "records_per_cpu_s": timed / cpu,
            "value_bytes": value_bytes,
            "settings": dict(settings, max_poll_bytes=size.max_bytes),
            "peak_rss_mib": _vm(os.getpid(), "VmHWM") / 1024}


def run_bare(bootstrap: str, topic: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--bare-loop", topic,
                           "--bootstrap", bootstrap], capture_output=True, text=True,
                          timeout=3600, check=False, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"bare loop failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# -- the worker ----------------------------------------------------------------------------


def _vm(pid: int, field: str) -> int:
    """A /proc/PID/status field in kB (VmRSS, VmHWM); 0 once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads)."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / CLK_TCK


def consumed(w: h.Worker) -> int:
    """Records the worker counted as handled (stored with their batch): /metrics."""
    text = w.http("/metrics")[1]
    return int(sum(h.metric(text, "tfpulse_events_total", f'result="{r}"')
                   for r in ("ok", "invalid")))


def run_worker(bootstrap: str, topic: str, ends: dict[int, int], tmpdir: Path
               ) -> dict[str, Any]:
    """Time one worker from the first records it counted to the last. Done is read from
    its /metrics, not from the stored positions: a corpus that ends inside an open
    diagnostic block holds its partition's position back (by design) for ever."""
    store = f"sqlite:///{tmpdir / 'bench.db'}"
    w = h.Worker(bootstrap, topic, f"bench-{uuid.uuid4().hex[:8]}", store, tmpdir, "bench")
    total = sum(ends.values())
    start: list[tuple[float, float, int]] = []  # (time, cpu, records already counted)
    rss: list[tuple[float, int]] = []  # (fraction of the topic counted, VmRSS kB)
    launched = time.monotonic()
    w.start()
    try:
        w.port()
        while True:
            w.check_alive()
            n = consumed(w)
            if n and not start:
                start.append((time.monotonic(), _cpu(w.pid), n))
            if n >= total:
                break
            rss.append((n / total, _vm(w.pid, "VmRSS")))
            if time.monotonic() - launched > 3600:
                raise TimeoutError(f"{n} of {total} records in an hour\n{w.log_tail()}")
            time.sleep(0.25)
        done, cpu_done = time.monotonic(), _cpu(w.pid)
        rss.append((1.0, _vm(w.pid, "VmRSS")))
        w.sample_rss()
        w.terminate(30)
        totals = h.stats(store)
    finally:
        w.cleanup()
    t0, cpu0, counted0 = start[0]
    timed, secs, cpu = total - counted0, done - t0, cpu_done - cpu0
    at = {f"{q}%": round(next((kb for f, kb in rss if f >= q / 100), rss[-1][1]) / 1024)
          for q in (25, 50, 75, 100)}
    return {"records": total, "timed_records": timed, "seconds": secs, "cpu_seconds": cpu,
            "seconds_with_startup": done - launched,
            "records_per_s": timed / secs, "records_per_cpu_s": timed / cpu if cpu else 0.0,
            "peak_rss_mib": w.peak_rss_kb / 1024, "rss_mib_at": at,
            "occurrences": sum(n for n, _, _ in totals.values()), "entries": len(totals)}


# -- one configuration ---------------------------------------------------------------------


def run(bootstrap: str, tmpdir: Path, min_lines: int, per_event: int = 1,
        corpus_path: Path | None = None, bare: bool = True) -> dict[str, Any]:
    """Produce, measure, print. Returns the figures of one configuration; `events`,
    `lines`, `seconds` and `rss_mib` are tfpulse's (what benchmarks/run.py reads)."""
    from kafka.admin import NewTopic

    t0 = time.monotonic()
    topic = f"bench-{uuid.uuid4().hex[:10]}"
    admin = kafka_admin_client(bootstrap)
    try:
        admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        admin.close()
    if corpus_path is not None:
        counter = [0]
        h.produce(bootstrap, topic, merge_lines(_file_lines(corpus_path, counter), per_event),
                  flush_timeout=600)
        n_lines = counter[0]
    else:
        events, n_lines = corpus(min_lines, per_event)
        h.produce(bootstrap, topic, events, flush_timeout=600)
        del events
    ends = h.end_offsets(bootstrap, topic)
    n_records = sum(ends.values())
    print(f"{per_event} line(s)/record: produced {n_records:,} records, {n_lines:,} lines "
          f"in {time.monotonic() - t0:.1f}s", flush=True)
    lpr = n_lines / n_records
    out: dict[str, Any] = {"lines_per_event": per_event, "records": n_records,
                           "lines": n_lines, "lines_per_record": lpr}
    bares = [run_bare(bootstrap, topic)] if bare else []
    if bare:
        _show("bare kafka-python (before)", bares[0], lpr)
    out["tfpulse"] = t = run_worker(bootstrap, topic, ends, tmpdir)
    _show("tfpulse run", t, lpr)
    print(f"  worker peak RSS (VmHWM) {t['peak_rss_mib']:.0f} MiB; RSS at 25/50/75/100% "
          f"of the topic: {' / '.join(str(v) for v in t['rss_mib_at'].values())} MiB; "
          f"{t['occurrences']:,} occurrences in {t['entries']} KB entries", flush=True)
    if bare:
        bares.append(run_bare(bootstrap, topic))
        _show("bare kafka-python (after)", bares[1], lpr)
        mean = {k: sum(b[k] for b in bares) / len(bares)
                for k in ("records_per_s", "records_per_cpu_s")}
        out["bare"] = dict(bares[0], runs=bares, **mean)
        out["ratio_wall"] = t["records_per_s"] / mean["records_per_s"]
        out["ratio_cpu"] = t["records_per_cpu_s"] / mean["records_per_cpu_s"]
        print(f"  tfpulse / bare loop: {out['ratio_wall']:.2f}x wall, "
              f"{out['ratio_cpu']:.2f}x per CPU second", flush=True)
    # what benchmarks/run.py reads
    out.update(events=n_records, seconds=t["seconds"] * n_records / t["timed_records"],
               rss_mib=t["peak_rss_mib"])
    return out


def _show(what: str, r: dict[str, Any], lpr: float) -> None:
    print(f"  {what:<28} {r['records_per_s']:>9,.0f} records/s {r['records_per_s'] * lpr:>11,.0f}"
          f" lines/s wall | {r['records_per_cpu_s']:>9,.0f} records/CPU-s "
          f"{r['records_per_cpu_s'] * lpr:>11,.0f} lines/CPU-s | {r['seconds']:.1f}s, "
          f"{r['cpu_seconds']:.1f} CPU-s", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=500_000)
    ap.add_argument("--lines-per-event", type=int, nargs="+", default=[1], metavar="N",
                    help="one run per value, e.g. `1 25`")
    ap.add_argument("--corpus", type=Path, default=None, metavar="EVENTS_JSONL",
                    help="produce this JSONL corpus (e.g. benchmarks/corpus/1000000/"
                         "events.jsonl) instead of the repeated sample stream")
    ap.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", ""))
    ap.add_argument("--no-bare", action="store_true", help="skip the bare kafka-python loop")
    ap.add_argument("--bare-loop", metavar="TOPIC", help=argparse.SUPPRESS)  # the subprocess
    args = ap.parse_args()
    if args.bare_loop:
        print(json.dumps(bare_loop(args.bootstrap, args.bare_loop)))
        return 0
    begun = run_start()
    results = []
    with tempfile.TemporaryDirectory(prefix="tfpulse-bench-") as tmp:
        tmpdir = Path(tmp)
        broker = None
        bootstrap = args.bootstrap
        if not bootstrap:
            broker = KafkaBroker(tmpdir / "kafka").start()
            bootstrap = broker.bootstrap
        try:
            for per_event in args.lines_per_event:
                run_dir = tmpdir / f"run-{per_event}"
                run_dir.mkdir()
                results.append(run(bootstrap, run_dir, args.lines, per_event, args.corpus,
                                   bare=not args.no_bare))
        finally:
            if broker is not None:
                broker.stop()
    summary = run_summary("kafka_e2e", begun, runs=results)
    print(json.dumps(summary, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

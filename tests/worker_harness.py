"""Helpers for the `tfpulse run` integration tests (tests/test_worker_kafka.py).

- `sample_subset(n)`: the first whole jobs of the sample stream (about n events) and the
  ground truth for exactly those jobs, taken from what examples/generate_sample_stream.py
  injected (a hook on its `Stream.record`), never from tfpulse itself.
- `produce(...)`: keyed like `tfpulse produce` (worker.cli.produce.job_key).
- `Worker`: `tfpulse run` as a real subprocess (SIGTERM / SIGKILL / restart), its HTTP
  port read from its own log line.
- `wait_caught_up(...)`: poll Store.positions(topic) until every partition reached its
  end offset; `assert_truth(...)`: `tfpulse stats --format json` == the truth.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from worker.cli.produce import job_key

ROOT = Path(__file__).resolve().parent.parent
TFPULSE = str(ROOT / ".venv" / "bin" / "tfpulse")
GENERATOR = ROOT / "examples" / "generate_sample_stream.py"

# Fast group membership for tests (the broker's group.min.session.timeout.ms is 6 s).
WORKER_ENV = {
    "TFPULSE_KAFKA_SESSION_TIMEOUT_MS": "6000",
    "TFPULSE_KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
    "TFPULSE_KAFKA_RECONNECT_BACKOFF_MAX_MS": "1000",
    "TFPULSE_KAFKA_POLL_TIMEOUT_MS": "500",
}

Truth = dict[str, tuple[int, str, str]]  # kb_id -> (occurrences, first_seen, last_seen)


# -- the sample stream and its truth -------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _generated() -> tuple[list[bytes], list[tuple[str, tuple[str, str, int, str], float]], Any]:
    """Every event of the sample stream (bytes as in the .jsonl.gz) + per-job injections."""
    spec = importlib.util.spec_from_file_location("_tfpulse_sample_generator", GENERATOR)
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = gen  # dataclasses need the module registered
    spec.loader.exec_module(gen)
    injected: list[tuple[str, tuple[str, str, int, str], float]] = []
    original = gen.Stream.record

    def record(self: Any, kb_id: str, run: Any, attempt: int, job: str, ts: float) -> None:
        injected.append((kb_id, (run.repo, run.run_id, attempt, job), ts))
        original(self, kb_id, run, attempt, job, ts)

    gen.Stream.record = record
    try:
        events, truth = gen.build(gen.ROOT / "kb", 20261122)
    finally:
        gen.Stream.record = original
    lines = [json.dumps(e, ensure_ascii=False, sort_keys=True).encode() for e in events]
    # The hook sees what the generator's own truth counts: check it on the whole stream.
    whole = _truth_of(injected, None, gen.rfc3339)
    expected = {k: (v["occurrences"], _seconds(v["first_seen"]), _seconds(v["last_seen"]))
                for k, v in truth["entries"].items()}
    assert whole == expected, "per-job hook disagrees with the generator's truth"
    return lines, injected, gen.rfc3339


def _seconds(rfc3339_ms: str) -> str:
    """`tfpulse stats` prints seconds: 2026-09-29T16:51:08.777Z -> 2026-09-29T16:51:08Z."""
    return rfc3339_ms.split(".")[0].rstrip("Z") + "Z"


def _truth_of(injected: Iterable[tuple[str, tuple[str, str, int, str], float]],
              jobs: set[tuple[str, str, int, str]] | None, rfc3339: Any) -> Truth:
    per: dict[str, tuple[set[Any], float, float]] = {}
    for kb_id, job, ts in injected:
        if jobs is not None and job not in jobs:
            continue
        seen, first, last = per.get(kb_id, (set(), ts, ts))
        if job in seen:  # printed twice in one job: one occurrence, at its first print
            continue
        seen.add(job)
        per[kb_id] = (seen, min(first, ts), max(last, ts))
    return {k: (len(s), _seconds(rfc3339(f)), _seconds(rfc3339(la)))
            for k, (s, f, la) in sorted(per.items())}


def _job_of(line: bytes) -> tuple[str, str, int, str]:
    obj = json.loads(line)
    return (obj["repo"], obj["run_id"], int(obj["run_attempt"]), obj["job"])


@functools.lru_cache(maxsize=4)
def sample_subset(n_events: int) -> tuple[list[bytes], Truth]:
    """The whole jobs that start within the first n_events events, all their events (in
    stream order, job_end included), and the truth for exactly those jobs."""
    lines, injected, rfc3339 = _generated()
    jobs: set[tuple[str, str, int, str]] = set()
    for line in lines[:n_events]:
        jobs.add(_job_of(line))
    subset = [line for line in lines if _job_of(line) in jobs]
    ends = sum(1 for line in subset if b'"type": "job_end"' in line)
    assert ends == len(jobs), "every selected job must end with its job_end"
    return subset, _truth_of(injected, jobs, rfc3339)


# -- Kafka ---------------------------------------------------------------------------------


def producer(bootstrap: str) -> Any:
    from kafka import KafkaProducer

    return KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20,
                         batch_size=256 * 1024, retries=10, max_request_size=16 * 1024 * 1024,
                         request_timeout_ms=30000)


def produce(bootstrap: str, topic: str, lines: Iterable[bytes],
            extra: Sequence[tuple[int, bytes | None, bytes]] = (),
            flush_timeout: float = 120) -> int:
    """Send lines keyed repo/run_id/job, streaming (a benchmark's 10M lines are never held
    in memory); extra = (index, key, value) records sent just before lines[index]
    (malformed events mixed in). Returns the number of records sent."""
    p = producer(bootstrap)
    at: dict[int, list[tuple[bytes | None, bytes]]] = {}
    for index, key, value in extra:
        at.setdefault(index, []).append((key, value))
    sent = 0
    try:
        for i, line in enumerate(lines):
            for key, value in at.pop(i, ()):
                p.send(topic, key=key, value=value)
                sent += 1
            p.send(topic, key=job_key(line), value=line)
            sent += 1
        for rest in at.values():
            for key, value in rest:
                p.send(topic, key=key, value=value)
                sent += 1
        p.flush(timeout=flush_timeout)
    finally:
        p.close(timeout=10)
    return sent


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    try:
        deadline = time.monotonic() + 30
        parts = c.partitions_for_topic(topic)
        while not parts and time.monotonic() < deadline:
            time.sleep(0.2)
            parts = c.partitions_for_topic(topic)
        assert parts, f"no partitions for {topic}"
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        return {tp.partition: off for tp, off in c.end_offsets(tps).items()}
    finally:
        c.close()


def read_all(bootstrap: str, topic: str, expected: int, timeout: float = 60) -> list[Any]:
    """Every record of a topic (stops once `expected` were read, or at the timeout)."""
    from kafka import KafkaConsumer

    c = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                      enable_auto_commit=False, group_id=None, consumer_timeout_ms=5000,
                      fetch_max_bytes=64 * 1024 * 1024,
                      max_partition_fetch_bytes=32 * 1024 * 1024)
    out: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < expected and time.monotonic() < deadline:
            for records in c.poll(timeout_ms=1000).values():
                out.extend(records)
    finally:
        c.close()
    return out


# -- the worker ----------------------------------------------------------------------------


class Worker:
    """`tfpulse run` in a subprocess; logs (JSON lines) in a file next to the test."""

    def __init__(self, bootstrap: str, topic: str, group: str, store: str, log_dir: Path,
                 name: str = "worker", env: dict[str, str] | None = None):
        self.args = [TFPULSE, "--log-format", "json", "run", "--bootstrap-servers", bootstrap,
                     "--topic", topic, "--group-id", group, "--store", store,
                     "--metrics-address", "127.0.0.1:0"]
        self.env = dict(os.environ, **WORKER_ENV, **(env or {}))
        self.log_dir, self.name = log_dir, name
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._port: int | None = None
        self.peak_rss_kb = 0

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}.{self.starts}.log"

    def start(self) -> Worker:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        self._port = None
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL, cwd=self.log_dir)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def sample_rss(self) -> None:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_rss_kb = max(self.peak_rss_kb, int(line.split()[1]))
        except (OSError, ValueError):
            pass

    def log_lines(self) -> list[dict[str, Any]]:
        out = []
        for raw in self.log_path.read_bytes().splitlines():
            try:
                doc = json.loads(raw)
            except ValueError:
                doc = {"msg": raw.decode(errors="replace")}
            out.append(doc if isinstance(doc, dict) else {"msg": str(doc)})
        return out

    def log_tail(self, n: int = 30) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return f"--- {self.log_path.name} ---\n" + "\n".join(lines[-n:])

    def port(self, timeout: float = 60) -> int:
        """The HTTP port the worker bound (it was given 127.0.0.1:0)."""
        deadline = time.monotonic() + timeout
        while self._port is None:
            for doc in self.log_lines():
                if doc.get("msg") == "exporter listening":
                    self._port = int(str(doc["address"]).strip("()").split(",")[1])
                    break
            else:
                self.check_alive()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.name}: no exporter port\n{self.log_tail()}")
                time.sleep(0.1)
        return self._port

    def http(self, path: str, timeout: float = 5) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.port()}{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.proc.returncode}\n"
                                 f"{self.log_tail()}")

    def signal(self, sig: int) -> None:
        if self.alive():
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.wait(10)

    def terminate(self, timeout: float = 30) -> int:
        self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(f"{self.name} did not exit within {timeout}s\n"
                                 f"{self.log_tail()}") from None

    def cleanup(self) -> None:
        if self.alive():
            self.kill()


def metrics_when(w: Worker, name: str, labels: str, want: float, timeout: float = 10
                 ) -> tuple[int, str]:
    """/metrics once the sample name{labels} reached want (or the timeout passed): the
    store shows a batch's positions a moment before its metrics are counted (write, then
    count), so a test that waited for the positions waits briefly for the count too."""
    deadline = time.monotonic() + timeout
    while True:
        status, text = w.http("/metrics")
        if metric(text, name, labels) == want or time.monotonic() > deadline:
            return status, text
        time.sleep(0.1)


def metric(text: str, name: str, labels: str = "") -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    want = f"{name}{{{labels}}}" if labels else name
    for line in text.splitlines():
        if line.startswith(want + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# -- the store -----------------------------------------------------------------------------


def positions(store_url: str, topic: str) -> dict[int, int]:
    from worker.store.store import open_store

    store = open_store(store_url)
    try:
        return store.positions(topic)
    finally:
        store.close()


def wait_caught_up(store_url: str, topic: str, ends: dict[int, int], workers: Sequence[Worker],
                   timeout: float, on_poll: Any = None) -> float:
    """Poll the stored positions until each partition reached its end offset; fail early
    if every worker died. Returns the seconds waited."""
    from worker.store.store import open_store

    start = time.monotonic()
    store = open_store(store_url)
    try:
        last: dict[int, int] = {}
        while True:
            last = store.positions(topic)
            if all(last.get(p, 0) >= end for p, end in ends.items()):
                return time.monotonic() - start
            if on_poll is not None:
                on_poll(last)
            if workers and not any(w.alive() for w in workers):
                raise AssertionError(f"every worker exited; positions {last} of {ends}\n"
                                     + "\n".join(w.log_tail() for w in workers))
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"positions {last} never reached {ends} in {timeout}s\n"
                                   + "\n".join(w.log_tail() for w in workers))
            for w in workers:
                if w.alive():
                    w.sample_rss()
            time.sleep(0.25)
    finally:
        store.close()


def stats(store_url: str) -> Truth:
    proc = subprocess.run([TFPULSE, "stats", "--store", store_url, "--format", "json"],
                          capture_output=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return {e["kb_id"]: (e["occurrences"], e["first_seen"], e["last_seen"])
            for e in json.loads(proc.stdout)}


def assert_truth(store_url: str, truth: Truth) -> None:
    """`tfpulse stats --format json` per kb_id equals the injected truth, exactly."""
    got = stats(store_url)
    if got != truth:
        missing = {k: v for k, v in truth.items() if got.get(k) != v}
        extra = {k: v for k, v in got.items() if truth.get(k) != v}
        raise AssertionError(f"store != truth\n expected (differing): {missing}\n"
                             f" stored   (differing): {extra}")


# -- small hand-made jobs ------------------------------------------------------------------

EXPIRED_TOKEN = [  # kb/aws/expired-token.yaml's second example, as a CI job prints it
    "╷",
    "│ Error: Retrieving AWS account details: validating provider credentials: retrieving "
    "caller identity from STS: operation error STS: GetCallerIdentity, https response error "
    "StatusCode: 403, RequestID: 4b9c5a1e-2f0d-4a7e-9b61-3c1d2e8f7a90, api error "
    "ExpiredToken: The security token included in the request is expired",
    "│",
    "╵",
]


def error_job(repo: str, run_id: str, job: str, ts: float,
              lines: Sequence[str] = EXPIRED_TOKEN) -> list[tuple[bytes, bytes]]:
    """One whole job (its lines, then job_end) that holds one known error: (key, value)."""
    base = {"repo": repo, "run_id": run_id, "run_attempt": 1, "job": job}
    events = [dict(base, message=line, timestamp=ts + i) for i, line in enumerate(lines)]
    events.append(dict(base, type="job_end", timestamp=ts + len(lines)))
    key = f"{repo}/{run_id}/{job}".encode()
    return [(key, json.dumps(e).encode()) for e in events]


def produce_in_order(bootstrap: str, topic: str, records: Sequence[tuple[Any, ...]],
                     tmp_dir: Path, max_request_size: int = 20 << 20) -> int:
    """Send (key, value[, headers]) records to partition 0 in this order. kafka-python
    refuses a record with neither key nor value (and no headers), so those go through
    kcat (-Z: empty is NULL)."""
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                      max_request_size=max_request_size, request_timeout_ms=60000)
    nulls = tmp_dir / "null-record.txt"
    nulls.write_bytes(b"\t\n")
    try:
        for key, value, *rest in records:
            headers = list(rest[0]) if rest else []
            if key is None and value is None:
                assert not headers, "kcat -l sends no headers"
                p.flush(timeout=60)
                subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", topic, "-p", "0", "-K",
                                "\t", "-Z", "-l", str(nulls)], check=True, timeout=60,
                               stdin=subprocess.DEVNULL)
            else:
                p.send(topic, key=key, value=value, partition=0, headers=headers)
        p.flush(timeout=120)
    finally:
        p.close(timeout=10)
    return len(records)

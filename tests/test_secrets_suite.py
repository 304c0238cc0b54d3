"""The secrets suite: every kind of the catalogue (tests/secret_samples.py) goes through
tfpulse, and none comes out.

One job per kind. Its log has a known error block (aws/expired-token) and an unclassified
one, both holding the secret in each place a log puts it (a plain log line, a JSON-quoted
key, TF_VAR_ / ARM_ / export assignments), then the KB's dead-end signal
`export AWS_ACCESS_KEY_ID=AKIA…`; the job's metadata (repo, run_id, job, pipeline, team)
carries the secret too, the repo as a clone URL with credentials or a token query. One
extra job has 100,000-character metadata. Nothing of a secret may appear in the store
(every table; SQLite and PostgreSQL), `tfpulse stats`, the reports (md, html, csv),
`classify`, and, for the real worker on the real broker (one run for every kind), in
/metrics and the worker's own log.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select

from tests import worker_harness as h
from tests.secret_samples import KINDS, Kind
from worker.cli.main import main
from worker.core.redact import MAX_LABEL
from worker.store.store import open_store

if "tests.conftest_kafka" not in sys.modules:
    pytest_plugins = ["tests.conftest_kafka", "tests.conftest_postgres"]

T0 = 1_795_000_000.0  # 2026-11-17T09:46:40Z
AS_OF = "2026-11-30"
LONG = "platform-" + "x" * 100_000
AKIA = next(k for k in KINDS if k.name == "AWS access key id")


def _one_line(text: str) -> str:
    return text.replace("\n", "\\n")


def _metadata(i: int, kind: Kind) -> dict[str, str]:
    line = _one_line(kind.line)[:240]
    secret = _one_line(kind.secret)[:160]
    repos = (f"https://x-access-token:{secret}@github.com/acme/k{i}.git",
             f"https://gitlab.com/acme/k{i}.git?private_token={secret}",
             f"acme/k{i} {line}")
    return {"repo": repos[i % 3], "run_id": f"{1000 + i} {line}", "job": f"plan-{i} {line}",
            "pipeline": line, "team": secret if kind.bare else line}


def _places(kind: Kind) -> list[str]:
    one = _one_line(kind.secret)
    return [*kind.line.splitlines(), '{"' + kind.var + '": "' + one + '"}',
            f"TF_VAR_{kind.var.lower()}={kind.secret}", f"ARM_{kind.var.upper()}={kind.secret}",
            f"export {kind.var}={kind.secret}"]


def _job_lines(kind: Kind) -> list[str]:
    places = ["│ " + p for p in _places(kind) for p in p.splitlines()]
    return [
        "Initializing the backend...",
        *h.EXPIRED_TOKEN[:-1],  # the diagnostic without its closing frame line
        *places,
        "│   with provider[\"registry.terraform.io/hashicorp/aws\"],",
        "│   on providers.tf line 10, in provider \"aws\":",
        "│   10: provider \"aws\" {",
        "╵",
        f"export AWS_ACCESS_KEY_ID={AKIA.secret}",
        "╷",
        f"│ Error: Unsupported frobnication setting {_one_line(kind.line)[:300]}",
        "│",
        *places,
        "╵",
    ]


def events() -> list[bytes]:
    out: list[bytes] = []
    jobs = [(_metadata(i, k), _job_lines(k)) for i, k in enumerate(KINDS)]
    jobs.append(({"repo": "acme/long-" + LONG, "run_id": "7", "job": "plan " + LONG,
                  "pipeline": LONG, "team": LONG}, _job_lines(KINDS[0])))
    for i, (meta, lines) in enumerate(jobs):
        base = {**meta, "run_attempt": 1, "provider": "github_actions"}
        for n, line in enumerate(lines, 1):
            out.append(json.dumps({**base, "timestamp": T0 + i * 60 + n, "line_number": n,
                                   "message": line}).encode())
        out.append(json.dumps({**base, "timestamp": T0 + i * 60 + 59,
                               "type": "job_end", "status": "failure"}).encode())
    return out


def leaks(text: str) -> list[str]:
    """The kinds (and the long label) of which anything shows in text."""
    found = [k.name for k in KINDS
             if k.needle in text or k.needle[:12] in text or k.needle[-12:] in text]
    if "x" * (MAX_LABEL + 1) in text:
        found.append("100,000-character label")
    return found


def store_dump(url: str) -> tuple[str, dict[str, int], list[tuple[str, int]]]:
    """Every row of every table as text; rows per table of the catalogue's jobs (not the
    long one, which a decoder may refuse); the longest metadata values."""
    store = open_store(url)
    try:
        meta = MetaData()
        meta.reflect(store.engine)
        parts, counts, longest = [], {}, []
        with store.engine.connect() as conn:
            for table in meta.sorted_tables:
                rows = conn.execute(select(table)).all()
                parts += [repr(tuple(r)) for r in rows]
                counts[table.name] = sum(1 for r in rows if not str(
                    r._mapping.get("repo", "")).startswith("acme/long-"))
                for col in ("repo", "run_id", "job", "team", "pipeline", "provider"):
                    if col in table.c:
                        longest.append((f"{table.name}.{col}", max(
                            (len(str(r._mapping[col])) for r in rows), default=0)))
        return "\n".join(parts), counts, longest
    finally:
        store.close()


def assert_store_clean(url: str) -> None:
    dump, counts, longest = store_dump(url)
    assert leaks(dump) == [], "secrets in the store"
    assert counts["occurrences"] == 2 * len(KINDS), counts  # every job kept both blocks
    assert counts["dead_end_attempts"] == len(KINDS), counts
    assert counts["unclassified_templates"] >= 1, counts
    assert all(n <= MAX_LABEL for _, n in longest), longest


@pytest.fixture(scope="module")
def events_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secrets") / "events.jsonl"
    path.write_bytes(b"\n".join(events()) + b"\n")
    return path


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(args)
    out = capsys.readouterr()
    return code, out.out + out.err


def test_replay_stats_reports_and_classify_keep_no_secret(
        events_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    code, out = _run(["replay", str(events_file), "--store", url, "--top", "10",
                      "--no-progress", "--dead-letter", str(tmp_path / "dead.jsonl")], capsys)
    assert code == 0, out
    assert leaks(out) == []
    assert_store_clean(url)
    for fmt in ("text", "json"):
        code, out = _run(["stats", "--store", url, "--format", fmt], capsys)
        assert code == 0 and "aws/expired-token" in out
        assert leaks(out) == [], f"stats --format {fmt}"
    for fmt, name in (("md", "report.md"), ("html", "report.html"), ("csv", "csv")):
        target = tmp_path / name
        code, out = _run(["report", "--store", url, "--as-of", AS_OF, "--weeks", "4",
                          "--format", fmt, "--out", str(target)], capsys)
        assert code == 0, out
        files = sorted(target.glob("*.csv")) if fmt == "csv" else [target]
        assert files
        text = "".join(f.read_text() for f in files)
        # the report does show the data (md/html cap their tables; the CSV keeps every row)
        assert ("acme/k" if fmt == "csv" else "expired-token") in text
        assert leaks(text + out) == [], f"report --format {fmt}"
    for fmt in ("text", "json"):
        code, out = _run(["classify", str(events_file), "--format", fmt], capsys)
        assert code == 1, out  # failures found
        assert out.count("aws/expired-token") >= len(KINDS)
        assert leaks(out) == [], f"classify --format {fmt}"


@pytest.mark.postgres
def test_replay_into_postgres_keeps_no_secret(events_file: Path, pg_store_url: str,
                                              tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(["replay", str(events_file), "--store", pg_store_url, "--top", "0",
                      "--no-progress", "--dead-letter", str(tmp_path / "dead.jsonl")], capsys)
    assert code == 0, out
    assert_store_clean(pg_store_url)


@pytest.mark.kafka
def test_worker_on_the_broker_keeps_no_secret(kafka_broker: Any, kafka_topic: Any,
                                              tmp_path: Path) -> None:
    lines = events()
    topic = kafka_topic(partitions=3)
    sent = h.produce(kafka_broker.bootstrap, topic, lines)
    ends = h.end_offsets(kafka_broker.bootstrap, topic)
    assert sum(ends.values()) == sent == len(lines)
    store = f"sqlite:///{tmp_path / 'store.db'}"
    w = h.Worker(kafka_broker.bootstrap, topic, f"tfpulse-secrets-{uuid.uuid4().hex[:8]}",
                 store, tmp_path)
    try:
        w.start()
        h.wait_caught_up(store, topic, ends, [w], 240)
        status, metrics = w.http("/metrics")
        assert status == 200
        assert h.metric(metrics, "tfpulse_events_total", 'result="ok"') > 0
        assert "aws/expired-token" in metrics and "acme/k" in metrics
        assert leaks(metrics) == [], "secrets in /metrics"
        labels = [v for line in metrics.splitlines() if not line.startswith("#")
                  for v in line.split('"')[1::2]]
        assert max(len(v) for v in labels) <= MAX_LABEL
        assert w.terminate(30) == 0
    finally:
        w.cleanup()
    assert_store_clean(store)
    log = w.log_path.read_text()
    assert "exporter listening" in log
    assert leaks(log) == [], "secrets in the worker's log"

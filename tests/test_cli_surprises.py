"""The CLI without surprises: read-only commands create nothing, bad input is refused
naming the file, exit codes follow exits.PRECEDENCE, messages carry no library internals."""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

from worker.cli.exits import Exit, combine
from worker.cli.inputs import looks_binary
from worker.core.logtime import first_line_time

ROOT = Path(__file__).parent.parent
LOCK_LOG = """\
2024-01-02T03:04:05.1234567Z Error: Error acquiring the state lock
2024-01-02T03:04:05.2000000Z Error message: ConditionalCheckFailedException: The conditional request failed
2024-01-02T03:04:05.3000000Z Lock Info:
2024-01-02T03:04:05.4000000Z   ID:        9db590f1-b6fe-c5f2-2678-8804f089deba
"""


def tfpulse(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TFPULSE_STORE", None)
    return subprocess.run([sys.executable, "-m", "worker.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, check=False)


def test_precedence() -> None:
    assert combine([Exit.FOUND, Exit.USAGE]) == Exit.USAGE
    assert combine([Exit.OK, Exit.FOUND, Exit.OK]) == Exit.FOUND
    assert combine([]) == Exit.OK


def test_line_times() -> None:
    assert first_line_time(b"2024-01-02T03:04:05.1234567Z hello\n") == 1704164645.123456
    assert first_line_time(b"[2024-01-02T03:04:05.000Z] Jenkins\n") == 1704164645.0
    assert first_line_time(b"no time\n2024-01-02 04:04:05+01:00 x\n") == 1704164645.0
    assert first_line_time(b"Error at 2024-01-02T03:04:05Z\n") is None  # not at line start
    assert first_line_time(b"2024-13-45T03:04:05Z bad date\n") is None


def test_binary_detection() -> None:
    noise = random.Random(7).randbytes(65536)
    assert looks_binary(noise) and looks_binary(b"text\x00more")
    assert not looks_binary(LOCK_LOG.encode()) and not looks_binary("│ ╷ Fehler: é\n".encode())


def test_classify_every_file_then_the_highest_code(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text(LOCK_LOG)
    done = tfpulse("classify", str(log), str(tmp_path / "missing.log"))
    assert done.returncode == Exit.USAGE
    assert "terraform/state-lock-dynamodb-held" in done.stdout  # a.log is still explained
    assert done.stderr.strip() == f"tfpulse classify: {tmp_path / 'missing.log'} cannot be " \
        "read: No such file or directory"


def test_binary_and_corrupt_gzip_are_refused_by_name(tmp_path: Path) -> None:
    noise = tmp_path / "noise.bin"
    noise.write_bytes(random.Random(1).randbytes(100_000))
    done = tfpulse("classify", str(noise))
    assert done.returncode == Exit.USAGE and "No Terraform failures" not in done.stdout
    assert f"{noise} is not a text log" in done.stderr
    bad = tmp_path / "events.jsonl.gz"
    whole = gzip.compress(b"".join(b'{"line": "%d"}\n' % i for i in range(20_000)))
    bad.write_bytes(whole[:len(whole) // 2])
    for command in (["classify"], ["replay", "--store", f"sqlite:///{tmp_path / 's.db'}"]):
        done = tfpulse(*command, str(bad))
        assert done.returncode == Exit.USAGE, done.stderr
        assert f"{bad} is a truncated gzip file" in done.stderr
        assert "Traceback" not in done.stderr


def test_read_only_commands_create_no_store(tmp_path: Path) -> None:
    for command in ("stats", "report"):
        done = tfpulse(command, cwd=tmp_path)
        assert done.returncode == Exit.USAGE, done.stdout
        assert "no store at tfpulse.db" in done.stderr and "--store URL" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_replay_of_a_raw_log_uses_its_line_times_and_stats_sorts(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    log.write_text(LOCK_LOG)
    os.utime(log, (1_800_000_000, 1_800_000_000))  # an mtime years after the lines
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert tfpulse("replay", str(log), "--store", url, "--top", "0").returncode == 0
    rows = json.loads(tfpulse("stats", "--store", url, "--format", "json").stdout)
    assert rows == [{"kb_id": "terraform/state-lock-dynamodb-held", "occurrences": 1,
                     "first_seen": "2024-01-02T03:04:05Z", "last_seen": "2024-01-02T03:04:05Z"}]
    text = tfpulse("stats", "--store", url, "--since", "2025-01-01").stdout
    assert f"store: {url} since 2025-01-01" in text and "No occurrences since" in text


def test_unknown_repo_is_an_error_with_close_matches(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    log.write_text(LOCK_LOG)
    url = f"sqlite:///{tmp_path / 's.db'}"
    tfpulse("replay", str(log), "--store", url, "--top", "0")
    done = tfpulse("report", "--store", url, "--repo", "loca")
    assert done.returncode == Exit.USAGE
    assert "no occurrences with repo 'loca'" in done.stderr and "did you mean local?" in done.stderr


def test_kb_lint_bad_regex_is_one_clean_line(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "kb" / "aws", tmp_path / "aws")
    entry = tmp_path / "aws" / "expired-token.yaml"
    entry.write_text(entry.read_text().replace("patterns:\n- regex: ",
                                               "patterns:\n- regex: '(unbalanced'\n- regex: ", 1))
    done = tfpulse("kb", "lint", "--kb", str(tmp_path))
    assert done.returncode == Exit.PROBLEMS
    problem = [ln for ln in done.stdout.splitlines() if "expired-token.yaml" in ln]
    assert len(problem) == 1 and problem[0].endswith(
        "patterns[0].regex: does not compile in RE2: missing ): (unbalanced"), problem
    assert "absl" not in done.stderr and "re2.cc" not in done.stderr and "b'" not in done.stdout


def test_an_unreachable_postgres_store_is_said_at_once() -> None:
    done = tfpulse("stats", "--store", "postgresql://nobody@127.0.0.1:1/none")
    assert done.returncode == Exit.USAGE
    assert done.stderr.startswith("tfpulse stats: cannot reach the store postgresql://nobody@")
    assert "Connection refused" in done.stderr
    assert "sqlalche.me" not in done.stderr and "retrying" not in done.stderr


def test_jsonl_with_only_invalid_events_is_not_no_failure(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"repo": "a/b", "run_id": "1", "job": "plan", "line": null}\n')
    done = tfpulse("classify", str(events))
    assert done.returncode == Exit.USAGE and "No Terraform failures" not in done.stdout
    assert done.stderr.startswith(f"tfpulse classify: {events}: 1 invalid event line(s) skipped "
                                  "(first: line 1: ")


def test_produce_checks_its_files_before_connecting(tmp_path: Path) -> None:
    done = tfpulse("produce", str(tmp_path / "none.jsonl"), "--bootstrap-servers", "127.0.0.1:1")
    assert done.returncode == Exit.USAGE
    assert done.stderr == f"tfpulse produce: {tmp_path / 'none.jsonl'}: no such file\n"

"""`tfpulse classify` on real logs prints a fix that carries the log's own ARN."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
SAMPLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/my-terraform-lock-table"


def real_text(path: Path, case_id: str) -> str:
    for line in path.read_text().splitlines():
        row = json.loads(line)
        if row["id"] == case_id:
            return str(row["text"])
    raise AssertionError(f"{case_id} not in {path}")


def classify(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "worker.cli", "classify", *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, check=False)


def test_the_printed_policy_names_the_logs_table(tmp_path: Path) -> None:
    # ministryofjustice/modernisation-platform#6789: a real lock-table denial
    log = tmp_path / "apply.log"
    log.write_text(real_text(ROOT / "tests/data/realworld/fit.jsonl", "c2-204"))
    done = classify(str(log))
    assert done.returncode == 1, done.stderr
    arn = "arn:aws:dynamodb:eu-west-2::table/modernisation-platform-terraform-state-lock"
    policy = next(ln for ln in done.stdout.splitlines() if '"Resource"' in ln or arn in ln)
    assert arn in done.stdout and SAMPLE_ARN not in done.stdout, policy
    assert "(filled from the log: resource, action)" in done.stdout
    row = json.loads(classify("--format", "json", str(log)).stdout.splitlines()[0])
    assert row["file"] == str(log)
    assert arn in row["workarounds"][0]["action"] and row["workarounds"][0]["missing"] == []


def test_a_log_without_the_resource_says_so(tmp_path: Path) -> None:
    # cds-snc/scan-websites#283: the resource line is cut off
    log = tmp_path / "plan.log"
    log.write_text(real_text(ROOT / "tests/data/terraform-errors-public.jsonl", "h002"))
    done = classify(str(log))
    assert done.returncode == 1, done.stderr
    assert SAMPLE_ARN not in done.stdout and "123456789012" not in done.stdout
    assert "the log does not say <dynamodb table ARN>" in done.stdout
    row = json.loads(classify("--format", "json", str(log)).stdout.splitlines()[0])
    assert '"Resource": "<dynamodb table ARN>"' in row["workarounds"][0]["action"]
    assert row["workarounds"][0]["missing"] == ["<dynamodb table ARN>"]


def test_the_printed_fix_names_the_logs_table_region_and_bucket(tmp_path: Path) -> None:
    # nozaq/terraform-aws-remote-state-s3-backend#114: DescribeTable denied on the lock table
    log = tmp_path / "init.log"
    log.write_text(real_text(ROOT / "tests/data/realworld/fit.jsonl", "c1-007"))
    row = json.loads(classify("--format", "json", str(log)).stdout.splitlines()[0])
    how = row["workarounds"][0]["how"]
    assert "arn:aws:dynamodb:eu-north-1:<account>:table/company-shared-terraform-locks" in how
    assert {"table", "region"} <= set(row["workarounds"][0]["from_log"])
    assert row["workarounds"][0]["missing"] == ["<account>"]  # the log masks its account id
    done = classify(str(log))
    assert "table/company-shared-terraform-locks" in done.stdout
    assert "the log does not say <account>" in done.stdout
    # ministryofjustice/modernisation-platform#9380: GetObject denied on the state key
    log.write_text(real_text(ROOT / "tests/data/realworld/fit.jsonl", "c1-123"))
    done = classify(str(log))
    assert '"arn:aws:s3:::modernisation-platform-terraform-state"' in done.stdout
    assert "(filled from the log: bucket, key)" in done.stdout
    assert "<bucket>" not in done.stdout.split("Workarounds")[1]

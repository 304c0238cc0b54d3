"""Versions from a job's own output (core/versions.py), onto its outcome and into classify."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from worker.cli.main import main
from worker.core.pipeline import Pipeline
from worker.core.versions import JobVersions, entry_ranges, fixed_advice, version_key
from worker.knowledge.loader import load_kb
from worker.model import Event

ROOT = Path(__file__).parent.parent
LOCK = "policy/terraform-state-lock-dynamodb-permission-denied"
ERROR = [
    "╷",
    "│ Error: Error acquiring the state lock",
    "│",
    "│ Error message: operation error DynamoDB: PutItem, https response error StatusCode: 400, "
    "RequestID: X, api error AccessDeniedException: User: arn:aws:sts::123456789012:"
    "assumed-role/ci/gh is not authorized to perform: dynamodb:PutItem on resource: "
    "arn:aws:dynamodb:us-east-1:123456789012:table/tf-lock because no identity-based policy "
    "allows the dynamodb:PutItem action",
    "╵",
]


@pytest.mark.parametrize(("lines", "tool", "version", "providers"), [
    (["2024-03-15T10:00:00.1234567Z Terraform v1.5.7", "on linux_amd64"], "terraform", "1.5.7",
     {}),
    (["\x1b[1mOpenTofu v1.8.2\x1b[0m"], "opentofu", "1.8.2", {}),
    (["- Installed hashicorp/aws v5.31.0 (signed by HashiCorp)",
      "- Using previously-installed registry.terraform.io/hashicorp/random v3.6.3",
      "- Installed hashicorp/aws v5.99.0 (signed by HashiCorp)"], "", "",
     {"hashicorp/aws": "5.31.0", "hashicorp/random": "3.6.3"}),
    # an error that names another version is not the job's version
    (["│ Error: state snapshot was created by Terraform v1.9.0, which is newer than current "
      "v1.5.7", "Error while installing hashicorp/aws v5.31.0: checksum mismatch"], "", "", {}),
    (["Terraform v1.5.7", "Terraform v1.9.8"], "terraform", "1.5.7", {}),  # the first stands
])
def test_versions_from_the_jobs_own_lines(lines, tool, version, providers) -> None:
    v = JobVersions()
    for line in lines:
        v.see(line)
    assert (v.tool, v.version, v.providers) == (tool, version, providers)


def test_entry_ranges_and_the_advice() -> None:
    ranges = entry_ranges([{"version": "terraform >=1.5,<2.0"}, {"version": "aws >=2.0"},
                           {"version": "Terraform v1.5.0", "removed": "1.6"}])
    assert [(r.subject, r.lower, r.upper, r.fixed_in) for r in ranges] == [
        ("terraform", "1.5", "2.0", ""), ("aws", "2.0", "", ""), ("terraform", "1.5.0", "", "1.6")]
    assert fixed_advice(ranges, "terraform", "1.5.7") == "fixed in 1.6: upgrade"
    assert fixed_advice(ranges, "terraform", "1.6.0") is None
    assert fixed_advice(ranges, "opentofu", "1.5.7") is None  # the fix is Terraform's
    assert fixed_advice(ranges, "terraform", "") is None
    assert fixed_advice(entry_ranges([{"version": "terraform >=1.5,<2.0"}]), "terraform",
                        "1.5.7") is None  # a range's end is no fix
    assert version_key("1.10.0") > version_key("1.9.8")


def _events(job: str, lines: list[str], chunked: bool) -> list[Event]:
    base = dict(repo="acme/x", run_id="7", job=job, pipeline="ci", provider="gitlab")
    if chunked:  # Atlantis ships a piece of the log as one event
        events = [Event("\n".join(lines), 100.0, line_number=1, **base)]
    else:
        events = [Event(ln, 100.0 + i, line_number=i + 1, **base) for i, ln in enumerate(lines)]
    return events + [Event("", 200.0, kind="job_end", status="Failure", **base)]


@pytest.mark.parametrize("chunked", [False, True])
def test_a_jobs_outcome_carries_its_versions(chunked: bool) -> None:
    kb = load_kb(None)
    pipeline = Pipeline(kb)
    lines = ["$ terraform version", "Terraform v1.5.7", "on linux_amd64",
             "- Installed hashicorp/aws v5.31.0 (signed by HashiCorp)", *ERROR]
    for i, event in enumerate(_events("plan", lines, chunked)):
        pipeline.process(event, ("p", i))
    batch = pipeline.take()
    assert [o.kb_id for o in batch.occurrences] == [LOCK]
    (outcome,) = batch.outcomes
    assert (outcome.status, outcome.timestamp, outcome.info.pipeline) == ("failure", 200.0, "ci")
    assert (outcome.tool, outcome.version, outcome.providers) == (
        "terraform", "1.5.7", "hashicorp/aws=5.31.0")


def test_classify_says_fixed_in_and_upgrade(tmp_path: Path, capsys) -> None:
    kb_dir = tmp_path / "kb"
    shutil.copytree(ROOT / "kb", kb_dir)
    path = kb_dir / (LOCK + ".yaml")
    doc = yaml.safe_load(path.read_text())
    doc["versions"] = [{"version": "Terraform v1.5.0", "removed": "1.6"}]
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    log = tmp_path / "build.log"
    log.write_text("\n".join(["Terraform v1.5.7", "on linux_amd64", *ERROR]) + "\n")
    assert main(["classify", "--kb", str(kb_dir), str(log)]) == 1
    assert "Version: Terraform 1.5.7 (fixed in 1.6: upgrade)" in capsys.readouterr().out
    assert main(["classify", "--kb", str(kb_dir), "--format", "json", str(log)]) == 1
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert row["versions"] == {"tool": "terraform", "version": "1.5.7", "providers": {}}
    assert row["version_advice"] == "fixed in 1.6: upgrade"
    log.write_text("\n".join(["Terraform v1.6.2", *ERROR]) + "\n")
    assert main(["classify", "--kb", str(kb_dir), "--format", "json", str(log)]) == 1
    assert json.loads(capsys.readouterr().out.splitlines()[0])["version_advice"] is None


@pytest.mark.parametrize(("said", "stored"), [
    ("success", "success"), ("Passed", "success"), ("FAILED", "failure"),
    ("canceled", "cancelled"), ("timed-out", "timed_out"), (None, "unknown"), ("", "unknown"),
    ("ghp_notastatus", "other"),  # the event's own words are never stored
])
def test_job_status_is_one_of_a_few_words(said, stored) -> None:
    from worker.core.aggregate import job_status

    assert job_status(said) == stored

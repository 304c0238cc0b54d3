"""Shadow entries: matched and stored, marked in reports, a metric label of their own, never
ahead of a live entry; `kb promote` makes one live; `kb lint` checks the status."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
from prometheus_client import CollectorRegistry

from tests.kb_entries import write_entries
from worker.cli.main import main
from worker.core.classify import Classifier
from worker.kbtools.lint import lint
from worker.kbtools.test import test as kb_test
from worker.knowledge.entry import KbError
from worker.knowledge.loader import load_kb
from worker.metrics.counters import Metrics
from worker.model import Block, JobInfo, JobKey, Occurrence
from worker.report.build import compute_report
from worker.report.read import OCC_COLUMNS, TEMPLATE_COLUMNS, Frames
from worker.report.write import kb_info

JOB = JobKey("acme/infra", "1", 1, "plan")
def block(*lines: str) -> Block:
    return Block(JOB, tuple(lines), 1, 0.0)


def test_a_live_match_beats_any_shadow_one_and_a_shadow_one_classifies_alone(
        tmp_path: Path) -> None:
    kb = load_kb(write_entries(tmp_path, [
        {"id": "aws/live-generic", "sig": "AccessDenied", "priority": 10,
         "regex": "AccessDenied"},
        {"id": "aws/shadow-specific", "sig": "AccessDenied on s3 x", "priority": 90,
         "status": "shadow", "regex": "AccessDenied on (?P<service>s3) x"},
        {"id": "aws/shadow-other", "sig": "Throttled y", "priority": 20, "status": "shadow",
         "regex": "Throttled"},
        {"id": "aws/shadow-third", "sig": "Throttled y z", "priority": 80, "status": "shadow",
         "regex": "Throttled y"},
    ]))
    c = Classifier(kb)
    # The shadow entry is longer and of higher priority, yet the live one takes the block.
    m = c.classify(block("Error: AccessDenied on s3 x"))
    assert m is not None and m.kb_id == "aws/live-generic"
    assert m.also_matched == ("aws/shadow-specific",)
    # No live entry matches: the shadow entries rank among themselves as usual.
    m = c.classify(block("Error: Throttled y"))
    assert m is not None and m.kb_id == "aws/shadow-third"
    assert m.also_matched == ("aws/shadow-other",)
    assert [e.id for e in c.candidates("Error: AccessDenied on s3 x")] == [
        "aws/live-generic", "aws/shadow-specific"]


def test_a_shadow_entry_earns_a_live_match_no_tag(tmp_path: Path) -> None:
    """Tag rules with `also`: a shadow state-lock entry beside a live denial must not make
    the denial a lock error (that would alert through the live entry)."""
    root = write_entries(tmp_path, [
        {"id": "aws/denied", "sig": "AccessDenied", "regex": "AccessDenied"},
        {"id": "terraform/lock-draft", "sig": "AccessDenied lock", "family": "state-lock",
         "tags": "state-lock", "status": "shadow", "regex": "AccessDenied lock"},
        {"id": "terraform/lock-live", "sig": "lock held", "family": "state-lock",
         "tags": "state-lock", "regex": "lock held"},
    ])
    (root / "_tag-rules.yaml").write_text("- also: state-lock\n  tags: [state-lock]\n")
    c = Classifier(load_kb(root))
    m = c.classify(block("Error: AccessDenied lock"))
    assert m is not None and m.kb_id == "aws/denied" and m.tags == ("permission",)
    assert m.also_matched == ("terraform/lock-draft",)
    m = c.classify(block("Error: AccessDenied lock held"))  # a live lock entry does earn it
    assert m is not None and m.kb_id == "aws/denied" and m.tags == ("permission", "state-lock")


def test_kb_test_says_when_a_live_entry_takes_a_shadow_entrys_example(tmp_path: Path) -> None:
    kb = load_kb(write_entries(tmp_path, [
        {"id": "aws/live", "sig": "AccessDenied", "regex": "AccessDenied"},
        {"id": "aws/shadow", "sig": "AccessDenied z", "status": "shadow",
         "regex": "AccessDenied z"},
    ]))
    problems = kb_test(kb).problems
    assert len(problems) == 2 and all("aws/shadow.yaml" in p for p in problems)
    assert "taken by the live entry aws/live" in problems[0]


def test_lint_checks_the_status_and_explains_draft(tmp_path: Path) -> None:
    write_entries(tmp_path, [{"id": "aws/x", "sig": "X", "regex": "X", "status": "draft"},
                        {"id": "aws/y", "sig": "Y", "regex": "Y", "status": "Shadow"}])
    try:
        load_kb(tmp_path)
    except KbError as exc:
        problems = exc.problems
    else:
        raise AssertionError("a bad status loaded")
    assert len(problems) == 2
    x, y = sorted(problems)
    assert "aws/x.yaml:11: status: unknown status 'draft'" in x and "written as `status: shadow`" in x
    assert "aws/y.yaml:11: status: unknown status 'Shadow'; one of ['live', 'shadow']" in y


def occurrence(kb_id: str, run: str = "1") -> Occurrence:
    return Occurrence(JobKey("acme/infra", run, 1, "plan"), kb_id, 1_700_000_000.0,
                      JobInfo(team="platform"), "auth_error", ("permission",))


def test_metrics_carry_the_shadow_label(tmp_path: Path) -> None:
    kb = load_kb(write_entries(tmp_path, [
        {"id": "aws/live", "sig": "A", "regex": "A"},
        {"id": "aws/trial", "sig": "B", "regex": "B", "status": "shadow"}]))
    m = Metrics(kb, CollectorRegistry())
    m.counted([occurrence("aws/live"), occurrence("aws/trial"), occurrence("aws/trial", "2")])
    series = {(s.labels["kb_id"], s.labels["shadow"]): s.value
              for metric in m.registry.collect() for s in metric.samples
              if s.name == "tfpulse_failures_total"}
    assert series == {("aws/live", "false"): 1, ("aws/trial", "true"): 2}
    info = {s.labels["kb_id"]: s.labels["shadow"] for metric in m.registry.collect()
            for s in metric.samples if s.name == "tfpulse_knowledge_base_entry_info"}
    assert info == {"aws/live": "false", "aws/trial": "true"}


def test_the_report_marks_shadow_entries_from_the_kb(tmp_path: Path) -> None:
    kb = load_kb(write_entries(tmp_path, [
        {"id": "aws/live", "sig": "A", "regex": "A"},
        {"id": "aws/trial", "sig": "B", "regex": "B", "status": "shadow"}]))
    seen = datetime(2026, 11, 18, tzinfo=UTC)
    rows = [{**dict.fromkeys(OCC_COLUMNS, ""), "repo": "acme/infra", "run_id": str(i),
             "run_attempt": 1, "job": "plan", "kb_id": kb_id, "category": "auth_error",
             "tags": ",permission,", "fields": "{}", "first_seen": seen}
            for i, kb_id in enumerate(["aws/live", "aws/trial", "aws/trial"])]
    frames = Frames(pd.DataFrame(rows, columns=list(OCC_COLUMNS)),
                    pd.DataFrame(columns=list(TEMPLATE_COLUMNS)),
                    pd.DataFrame(columns=["repo", "run_id", "run_attempt", "job", "kb_id",
                                          "signal", "seen_at"]))
    report = compute_report(frames, kb_info(kb), weeks=2, as_of=date(2026, 11, 22))
    entries = report.tables["entries"]
    assert list(entries["kb_id"]) == ["aws/trial (shadow)", "aws/live"]
    assert list(report.tables["by_repo"]["top_entry"]) == ["aws/trial (shadow)"]


def test_promote_edits_the_status_line_in_place_and_lint_is_clean(tmp_path: Path,
                                                                  capsys) -> None:
    root = write_entries(tmp_path, [{"id": "aws/live", "sig": "A", "regex": "A"},
                               {"id": "aws/trial", "sig": "B", "regex": "B",
                                "status": "shadow"}])
    path = root / "aws" / "trial.yaml"
    before = path.read_text()
    assert main(["kb", "promote", "aws/trial", "--kb", str(root)]) == 0
    out = capsys.readouterr().out
    assert "promoted aws/trial" in out and "kb lint after the edit: 0 problem(s)" in out
    # One line changed, its comment kept.
    assert path.read_text() == before.replace("status: shadow  # on trial",
                                              "status: live # on trial")
    kb, report = lint(root)
    assert kb is not None and report.problems == [] and not kb.get("aws/trial").shadow
    # Refusals: already live, unknown id, still a draft.
    assert main(["kb", "promote", "aws/trial", "--kb", str(root)]) == 4
    assert "aws/trial: already live" in capsys.readouterr().err
    assert main(["kb", "promote", "aws/nope", "--kb", str(root)]) == 4
    assert "aws/nope: no such entry" in capsys.readouterr().err


def test_promote_refuses_an_entry_that_still_holds_draft_text(tmp_path: Path, capsys) -> None:
    root = write_entries(tmp_path, [{"id": "aws/trial", "sig": "B", "regex": "B",
                                "status": "shadow"}])
    path = root / "aws" / "trial.yaml"
    path.write_text(path.read_text().replace("root_cause: test",
                                             "root_cause: 'DRAFT: unknown'"))
    before = path.read_text()
    assert main(["kb", "promote", "aws/trial", "--kb", str(root)]) == 4
    assert "still holds draft text in root_cause" in capsys.readouterr().err
    assert path.read_text() == before
    assert main(["kb", "promote", "aws/trial", "--kb", str(root), "--force"]) == 0
    assert "status: live" in path.read_text()

"""`tfpulse kb export | import`: ErrorCanon JSON out and in (worker/cli/kb_io.py,
worker/kbtools/canon.py, worker/kbtools/importer.py)."""

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from worker.cli.main import main
from worker.kbtools import lint as kb_lint
from worker.kbtools import test as kb_test
from worker.kbtools.canon import (
    CANON_FIELDS,
    CATEGORY_MAP,
    EXT,
    TFPULSE_FIELDS,
    UNREVIEWED,
    derive_tags,
    to_canon,
)
from worker.kbtools.importer import check_written, plan_import
from worker.knowledge.loader import load_kb

KB = Path(__file__).parent.parent / "kb"
# One deadends.dev canon per category they use (CC BY 4.0, see the NOTICE.md there).
CANONS = Path(__file__).parent / "data" / "deadends-canons"
SEED_KEYS = set(CANON_FIELDS)  # the keys of /work/shared/errorcanon-entry.json, minus _note
SEED_ID = "policy/terraform-state-lock-dynamodb-permission-denied"
SEED_EXT = to_canon(load_kb(KB).entries[SEED_ID].data)[EXT]

FLAT: dict[str, Any] = {
    "id": "policy/example-kms-decrypt-denied",
    "signature": "Error: error reading S3 Bucket: AccessDenied: kms:Decrypt is not allowed",
    "signature_zh": None,
    "regex": r"AccessDenied: kms:Decrypt is not allowed",
    "domain": "policy",
    "category": "auth_error",
    "subcategory": None,
    "root_cause": "The role may not use the bucket's KMS key.",
    "root_cause_type": "permission",
    "versions": [{"version": "Terraform v1.5.0", "status": "active"}],
    "os_specific": {},
    "dead_ends": [{"action": "Retry", "why_fails": "Nothing changed", "fail_rate": 0.9,
                   "condition": "", "sources": []}],
    "workarounds": [{"action": "Grant kms:Decrypt", "success_rate": 0.9, "how": "IAM",
                     "condition": "", "sources": []}],
    "fix_rate": 0.9, "confidence": 0.8, "evidence_count": 1, "first_seen": "2024-03-15",
    "verification": "ai_generated", "official_docs": [],
    "_note": "underscore keys are comments",
}
NESTED: dict[str, Any] = {
    "schema_version": "1.0.0",
    "id": "terraform/state-lock-error/tf115-linux",
    "url": "https://example.invalid/terraform/state-lock-error/tf115-linux",
    "error": {"signature": "Error: Error acquiring the state lock",
              "regex": r"Error acquiring the state lock", "domain": "terraform",
              "category": "state", "first_seen": "2023-01-01"},
    "environment": {"runtime": {"name": "terraform", "version_range": ">=1.5"}, "os": "linux"},
    "verdict": {"fix_success_rate": 0.9, "confidence": 0.9, "summary": "Another run holds it."},
    "dead_ends": [{"action": "Delete the lock", "why_fails": "Corrupts state", "fail_rate": 0.8,
                   "sources": [], "condition": ""}],
    "workarounds": [{"action": "Wait", "success_rate": 0.9, "how": "-lock-timeout=5m",
                     "sources": [], "condition": ""}],
    "transition_graph": {"leads_to": []},
    "metadata": {"review_status": "auto_generated", "evidence_count": 50},
}


def put(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def test_round_trip_export_then_import_gives_equal_entries(tmp_path: Path) -> None:
    assert main(["kb", "export", "--kb", str(KB), "--out", str(tmp_path / "json")]) == 0
    assert main(["kb", "import", str(tmp_path / "json"), "--into", str(tmp_path / "kb"),
                 "--no-check"]) == 0
    before, after = load_kb(KB), load_kb(tmp_path / "kb")
    assert set(before.entries) == set(after.entries)
    for kb_id, old in before.entries.items():
        new = after.entries[kb_id]
        assert to_canon(new.data) == to_canon(old.data), kb_id
        for key in CANON_FIELDS:
            assert to_canon(new.data)[key] == to_canon(old.data)[key]
        for key in TFPULSE_FIELDS:
            assert new.data.get(key) == old.data.get(key), (kb_id, key)
        assert (new.tags, new.priority, new.patterns, new.dead_end_signals) == \
            (old.tags, old.priority, old.patterns, old.dead_end_signals)
        for mine, theirs in ((new.examples, old.examples),
                             (new.counter_examples, old.counter_examples)):
            assert [(e.text, e.fields, e.source) for e in mine] == \
                [(e.text, e.fields, e.source) for e in theirs]


def test_export_lines_have_the_seed_fields_plus_the_extension(capsys) -> None:
    kb_id = SEED_ID
    assert main(["kb", "export", "--kb", str(KB), "--id", kb_id]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    canon = json.loads(line)
    assert list(canon) == [*CANON_FIELDS, EXT] and set(canon) - {EXT} == SEED_KEYS
    assert canon["id"] == kb_id and canon["category"] == "auth_error"
    assert set(canon[EXT]) >= {"tags", "patterns", "examples", "counter_examples"}
    assert main(["kb", "export", "--kb", str(KB), "--id", "no/such-entry"]) == 2


def test_import_both_shapes_gives_an_honest_starting_point(tmp_path: Path) -> None:
    src = tmp_path / "canons"
    put(src / "flat.json", FLAT)
    put(src / "terraform" / "state-lock-error" / "tf115-linux.json", NESTED)
    wrap = copy.deepcopy(NESTED)
    wrap["id"] = "terraform/tf-wrapped/tf1.7-linux"
    wrap["error"].update(signature="Error: Provider produced inconsistent final plan",
                         regex=r"inconsistent\s+final plan", category="provider_error")
    put(src / "terraform" / "tf-wrapped_tf1.7-linux.json", wrap)
    kb_dir = tmp_path / "kb"
    assert main(["kb", "import", str(src), "--into", str(kb_dir)]) == 0
    kb = load_kb(kb_dir)
    assert sorted(kb.entries) == ["policy/example-kms-decrypt-denied",
                                  "terraform/state-lock-error-tf115-linux",
                                  "terraform/tf-wrapped-tf1-7-linux"]
    lock = kb.entries["terraform/state-lock-error-tf115-linux"]
    assert lock.data["verification"] == UNREVIEWED and lock.data["domain"] == "terraform"
    assert lock.category == "state_error" and lock.data["subcategory"] == "state"
    assert lock.tags == ("backend", "state-lock")
    assert lock.patterns[0].regex == NESTED["error"]["regex"]  # the published regex is safe
    assert lock.data["regex"] == NESTED["error"]["regex"]  # and kept as metadata
    assert lock.data["root_cause"] == "Another run holds it." and lock.data["fix_rate"] == 0.9
    assert lock.data["versions"] == [{"version": "terraform >=1.5"}]
    assert lock.examples[0].text == NESTED["error"]["signature"]
    assert lock.examples[0].source == NESTED["url"]
    assert lock.counter_examples[0].text in (FLAT["signature"], wrap["error"]["signature"])
    wrapped = kb.entries["terraform/tf-wrapped-tf1-7-linux"]
    assert wrapped.patterns[0].regex == r"Error: Provider produced inconsistent final plan"
    flat = kb.entries["policy/example-kms-decrypt-denied"]
    assert flat.tags == ("permission",) and flat.data["root_cause_type"] == "permission"
    assert flat.data["versions"] == FLAT["versions"]
    lint_ok, test_ok = check_written(kb_dir, [e.path for e in kb])
    assert (lint_ok, test_ok) == (3, 3)
    assert kb_lint.lint(kb_dir)[1].ok and kb_test.test(kb).ok


def test_unsafe_published_regex_falls_back_to_the_escaped_signature(tmp_path: Path) -> None:
    doc = dict(FLAT, regex=r"AccessDenied(?=: kms)", signature="Error: kms (Decrypt) denied\nmore")
    plan = plan_import([put(tmp_path / "a.json", doc)], tmp_path / "kb")
    (_, data), = plan.writes
    assert data["patterns"] == [{"regex": r"Error: kms \(Decrypt\) denied"}]


@pytest.mark.parametrize("doc,where,reason", [
    ("{not json", "$", "not valid JSON"),
    ([FLAT], "$", "must be a JSON object"),
    (dict(FLAT, category="quantum_error"), "$.category", "nor in CATEGORY_MAP"),
    (dict(FLAT, id=""), "$.id", "non-empty id"),
    (dict(FLAT, dead_ends=[{"action": "x", "fail_rate": "high"}]), "$.dead_ends[0].fail_rate",
     "between 0 and 1"),
    (dict(FLAT, **{EXT: {"priority": 50}}), "$.x_tfpulse.tags", "required"),
    (dict(FLAT, **{EXT: dict(SEED_EXT, priority=500)}), "$.x_tfpulse.priority", "0 and 100"),
    (dict(NESTED, verdict={"confidence": 0.5}), "$.verdict.summary", "required"),
    (dict(NESTED, error=["x"]), "$.error", "must be an object"),
    (dict(NESTED, workarounds=[{"action": "x", "success_rate": 0.5, "colour": "red"}]),
     "$.workarounds[0].colour", "unknown key"),
])
def test_invalid_input_is_refused_with_file_path_and_reason(tmp_path: Path, capsys, doc, where,
                                                            reason) -> None:
    bad = put(tmp_path / "in" / "bad.json", doc)
    assert main(["kb", "import", str(tmp_path / "in"), "--into", str(tmp_path / "kb")]) == 4
    err = capsys.readouterr().err
    assert f"refused: {bad}: {where}: " in err and reason in err
    assert not (tmp_path / "kb").exists()


def test_duplicate_ids_in_one_import_are_refused(tmp_path: Path) -> None:
    put(tmp_path / "in" / "a.json", FLAT)
    put(tmp_path / "in" / "b.json", FLAT)
    plan = plan_import([tmp_path / "in"], tmp_path / "kb")
    assert len(plan.writes) == 1 and "also imported from" in str(plan.refused[0])


def test_dry_run_writes_nothing_and_existing_files_need_overwrite(tmp_path: Path,
                                                                  capsys) -> None:
    src = put(tmp_path / "flat.json", FLAT)
    kb_dir = tmp_path / "kb"
    assert main(["kb", "import", str(src), "--into", str(kb_dir), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would write" in out and f"id: {FLAT['id']}" in out and not kb_dir.exists()
    assert main(["kb", "import", str(src), "--into", str(kb_dir)]) == 0
    target = kb_dir / f"{FLAT['id']}.yaml"
    target.write_text(target.read_text() + "# reviewed\n")
    assert main(["kb", "import", str(src), "--into", str(kb_dir)]) == 4
    assert "--overwrite" in capsys.readouterr().err
    assert target.read_text().endswith("# reviewed\n")
    assert main(["kb", "import", str(src), "--into", str(kb_dir), "--overwrite"]) == 0
    assert not target.read_text().endswith("# reviewed\n")


def test_tags_come_from_category_words_and_domain() -> None:
    auth = {"id": "aws/expired-token", "category": "auth_error", "domain": "aws",
            "signature": "ExpiredToken: The security token included in the request is expired"}
    assert derive_tags(auth) == ["permission", "credentials", "aws"]
    throttle = {"id": "aws/x", "category": "quota_error", "domain": "aws",
                "signature": "ThrottlingException: Rate exceeded"}
    assert derive_tags(throttle) == ["quota", "throttling", "aws"]
    assert derive_tags({"id": "aws/y", "category": "resource_error", "domain": "aws",
                        "signature": "Something broke"}) == ["provider", "aws"]


def test_every_deadends_category_is_mapped_and_kept_as_subcategory(tmp_path: Path) -> None:
    files = sorted(CANONS.rglob("*.json"))
    plan = plan_import([CANONS], tmp_path / "kb")
    assert plan.read == len(files) > 50 and not plan.refused
    for target, data in plan.writes:
        original = json.loads(next(f for f in files if _same_canon(f, data)).read_text())
        category = original["error"]["category"]
        assert data["category"] == CATEGORY_MAP.get(category, category), target
        if category in CATEGORY_MAP:
            assert data["subcategory"] == category
        assert original["url"] in data["official_docs"]  # the source of every imported entry


def _same_canon(file: Path, data: dict[str, Any]) -> bool:
    return bool(json.loads(file.read_text())["url"] in data["official_docs"])


def test_family_survives_export_and_import(tmp_path: Path) -> None:
    entry = copy.deepcopy(load_kb(KB).entries[SEED_ID].data)
    entry["family"] = "state-lock"
    canon = to_canon(entry)
    assert canon[EXT]["family"] == "state-lock"
    (_, data), = plan_import([put(tmp_path / "c.json", canon)], tmp_path / "kb").writes
    assert data["family"] == "state-lock"

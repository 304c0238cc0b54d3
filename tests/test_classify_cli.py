import json
from pathlib import Path

from worker.cli.main import main

LOG = """\
2024-03-15T10:00:00.0000000Z Acquiring state lock. This may take a few moments...
2024-03-15T10:00:01.0000000Z ╷
2024-03-15T10:00:01.0000000Z │ Error: Error acquiring the state lock
2024-03-15T10:00:01.0000000Z │
2024-03-15T10:00:01.0000000Z │ Error message: operation error DynamoDB: PutItem, https response error StatusCode: 400, RequestID: X, api error AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/ci/gh is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/tf-lock because no identity-based policy allows the dynamodb:PutItem action
2024-03-15T10:00:01.0000000Z ╵
2024-03-15T10:00:02.0000000Z Error: Something tfpulse has never seen AKIAIOSFODNN7EXAMPLE
"""


def test_json_output_is_the_design_shape(tmp_path: Path, capsys) -> None:
    log = tmp_path / "build.log"
    log.write_text(LOG)
    assert main(["classify", "--format", "json", str(log)]) == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    design = {"kb_id", "tags", "category", "fields", "line", "text"}
    extra = {"file", "family", "title", "status", "root_cause", "workarounds", "dead_ends",
             "versions", "version_advice"}
    assert [set(r) for r in rows] == [design | extra] * 2
    assert {r["file"] for r in rows} == {str(log)}
    known, unknown = rows
    assert known["kb_id"] == "policy/terraform-state-lock-dynamodb-permission-denied"
    assert known["fields"]["action"] == "dynamodb:PutItem"
    assert known["fields"]["principal"] == "arn:aws:sts::123456789012:assumed-role/ci/gh"
    assert known["line"] == 2 and "state-lock" in known["tags"]
    assert unknown["kb_id"] is None and unknown["line"] == 7
    assert "AKIAIOSFODNN7EXAMPLE" not in unknown["text"]


def test_text_output_explains_and_exit_codes(tmp_path: Path, capsys) -> None:
    log = tmp_path / "build.log"
    log.write_text(LOG)
    assert main(["classify", str(log)]) == 1
    out = capsys.readouterr().out
    assert "Root cause:" in out and "Workarounds, best first:" in out and "Dead ends" in out
    assert "[95% success]" in out
    clean = tmp_path / "ok.log"
    clean.write_text("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.\n")
    assert main(["classify", str(clean)]) == 0
    assert main(["classify", str(tmp_path / "missing.log")]) == 2


def test_chinese_texts(tmp_path: Path, capsys) -> None:
    log = tmp_path / "build.log"
    log.write_text(LOG)
    main(["classify", "--lang", "zh", str(log)])
    assert "CI/CD IAM 角色缺少" in capsys.readouterr().out


def test_broken_kb_exits_3(tmp_path: Path, capsys) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "y.yaml").write_text("id: x/y\n")
    log = tmp_path / "build.log"
    log.write_text(LOG)
    assert main(["classify", "--kb", str(tmp_path), str(log)]) == 3
    assert "x/y.yaml:1: signature: required field is missing" in capsys.readouterr().err

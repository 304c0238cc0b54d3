from pathlib import Path

import pytest

from worker.kbtools.lint import can_match_newline, lint
from worker.knowledge.loader import KbError, load_kb

GOOD = (Path(__file__).parent.parent / "kb" / "policy" /
        "terraform-state-lock-dynamodb-permission-denied.yaml").read_text()


def write(tmp_path: Path, rel: str, text: str) -> Path:
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_seed_entry_loads_with_everything(tmp_path: Path) -> None:
    write(tmp_path, "policy/terraform-state-lock-dynamodb-permission-denied.yaml", GOOD)
    kb = load_kb(tmp_path)
    e = kb.get("policy/terraform-state-lock-dynamodb-permission-denied")
    assert e is not None and e.has_tag("state-lock") and e.has_tag("permission")
    assert e.data["signature_zh"] and e.data["fix_rate"] == 0.95
    assert e.workarounds()[0]["success_rate"] == 0.95


@pytest.mark.parametrize("change,field,line_has", [
    (("tags:\n- permission", "tags:\n- permision"), "tags[0]", "- permision"),
    (("category: auth_error", "category: auth"), "category", "category: auth"),
    (("priority: 90", "priority: 900"), "priority", "priority: 900"),
    (("domain: policy", "domain: policy\ncolour: red"), "colour", "colour: red"),
    (("fail_rate: 0.95", "fail_rate: high"), "dead_ends[0].fail_rate", "fail_rate: high"),
])
def test_bad_entry_names_file_line_and_field(tmp_path: Path, change, field, line_has) -> None:
    path = write(tmp_path, "policy/terraform-state-lock-dynamodb-permission-denied.yaml",
                 GOOD.replace(*change, 1))
    with pytest.raises(KbError) as err:
        load_kb(tmp_path)
    problem = err.value.problems[0]
    where, _, rest = problem.partition(": ")
    file, line = where.rsplit(":", 1)
    assert file == str(path)
    assert line_has in path.read_text().splitlines()[int(line) - 1]
    assert rest.startswith(field + ":")


def test_pattern_that_does_not_compile_in_re2(tmp_path: Path) -> None:
    bad = GOOD.replace("- regex: 'operation error DynamoDB", "- regex: '(?=x)operation error DynamoDB")
    write(tmp_path, "policy/terraform-state-lock-dynamodb-permission-denied.yaml", bad)
    with pytest.raises(KbError, match=r"patterns\[2\]\.regex: does not compile in RE2: .*"
                                      r"\(RE2 has no backreferences or lookaround"):
        load_kb(tmp_path)


def test_id_must_match_path_and_be_unique(tmp_path: Path) -> None:
    write(tmp_path, "policy/other-name.yaml", GOOD)
    with pytest.raises(KbError, match="must equal the file's path"):
        load_kb(tmp_path)


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    path = write(tmp_path, "policy/x.yaml", "id: a\n  bad: : indent\n")
    with pytest.raises(KbError, match=rf"{path}:2: \(yaml\)"):
        load_kb(tmp_path)


@pytest.mark.parametrize("regex,crosses", [
    (r"Error acquiring the state lock", False),
    (r"[^\n]*AccessDenied", False),
    (r"User: \S+ is not", False),
    (r"is not\s+authorized", True),
    (r"[^,]*", True),
    (r"(?s)a.b", True),
    (r"a\nb", True),
    (r"(?:x|[\s\S])", True),
])
def test_newline_crossing_is_detected(regex: str, crosses: bool) -> None:
    assert can_match_newline(regex) is crosses


def test_lint_flags_undeclared_multiline(tmp_path: Path) -> None:
    bad = GOOD.replace("  multiline: true\n", "", 1)
    write(tmp_path, "policy/terraform-state-lock-dynamodb-permission-denied.yaml", bad)
    kb, report = lint(tmp_path)
    assert kb is not None
    assert any("patterns[0].regex: can match across a newline" in p for p in report.problems)


def test_lint_refuses_a_dead_end_signal_that_matches_ordinary_runs(tmp_path: Path) -> None:
    bad = GOOD.replace("- regex: aws dynamodb delete-item", "- regex: terraform apply|aws dynamodb delete-item")
    write(tmp_path, "policy/terraform-state-lock-dynamodb-permission-denied.yaml", bad)
    _, report = lint(tmp_path)
    assert any("dead_end_signals[1].regex: matches an ordinary CI line" in p
               for p in report.problems)

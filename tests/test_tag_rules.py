"""Tag rules (kb/_tag-rules.yaml): tags earned from extracted fields or from another family's
failure in the same block, tested both ways, on a small KB and on the bundled one; a bad
rule is refused naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kb_entries import write_entries
from worker.core.classify import Classifier
from worker.core.pipeline import Pipeline
from worker.kbtools.test import run_text
from worker.knowledge.entry import KbError
from worker.knowledge.loader import default_kb_dir, load_kb
from worker.model import Block, JobKey

JOB = JobKey("acme/infra", "1", 1, "plan")
RULES = """\
- family: aws-access-denied
  field: resource
  regex: ':table/[^/ ]*lock'
  tags: [state-lock]
- also: state-lock
  tags: [state-lock]
"""


def small_kb(tmp_path: Path, rules: str = RULES) -> Path:
    entries = [
        dict(id="policy/denied", sig="a", family="aws-access-denied", tags="permission, aws",
             priority=20, regex=r"not authorized to perform: (?P<action>\S+) on resource: "
                                r"(?P<resource>\S+)"),
        dict(id="terraform/lock-generic", sig="b", family="state-lock", tags="state-lock",
             priority=5, regex="Error acquiring the state lock"),
    ]
    write_entries(tmp_path, entries)
    (tmp_path / "_tag-rules.yaml").write_text(rules)
    return tmp_path


def tags_of(classifier: Classifier, text: str) -> tuple[str, ...]:
    match = classifier.classify(Block(JOB, tuple(text.split("\n")), 1, 0.0, certain=True))
    assert match is not None and match.kb_id is not None
    return match.tags


def test_a_field_rule_adds_its_tag_only_when_the_value_matches(tmp_path: Path) -> None:
    c = Classifier(load_kb(small_kb(tmp_path)))
    denied = "User: arn:aws:sts::1:assumed-role/ci/x is not authorized to perform: {} on resource: {}"
    lock = denied.format("dynamodb:DescribeTable", "arn:aws:dynamodb:eu-west-1:1:table/tf-locks")
    other = denied.format("dynamodb:DescribeTable", "arn:aws:dynamodb:eu-west-1:1:table/orders")
    assert tags_of(c, lock) == ("permission", "aws", "state-lock")
    assert tags_of(c, other) == ("permission", "aws")


def test_an_also_rule_adds_the_other_familys_tag(tmp_path: Path) -> None:
    c = Classifier(load_kb(small_kb(tmp_path)))
    text = ("Error: Error acquiring the state lock: AccessDeniedException: User: arn:x is not "
            "authorized to perform: dynamodb:Query on resource: arn:aws:dynamodb:r:1:table/x")
    assert "state-lock" in tags_of(c, text)
    assert tags_of(c, "Error: Error acquiring the state lock") == ("state-lock",)


def test_without_rules_only_the_entrys_tags(tmp_path: Path) -> None:
    root = small_kb(tmp_path)
    (root / "_tag-rules.yaml").unlink()
    c = Classifier(load_kb(root))
    text = ("User: arn:x is not authorized to perform: dynamodb:GetItem on resource: "
            "arn:aws:dynamodb:r:1:table/tf-locks")
    assert tags_of(c, text) == ("permission", "aws")


@pytest.mark.parametrize("rule, line, field", [
    ("- tags: [state-lock]\n  field: resource\n", 1, "regex"),
    ("- tags: [nope]\n  also: state-lock\n", 1, "tags"),
    ("- tags: [state-lock]\n  also: state-lock\n- tags: [permission]\n  also: no-such\n", 4, "also"),
    ("- tags: [state-lock]\n  field: resource\n  regex: '(?<=x)y'\n", 3, "regex"),
    ("- tags: [state-lock]\n", 1, "(rule)"),
    ("- tags: [state-lock]\n  also: state-lock\n  colour: red\n", 3, "colour"),
])
def test_a_bad_rule_names_file_line_and_field(tmp_path: Path, rule: str, line: int,
                                              field: str) -> None:
    root = small_kb(tmp_path, rule)
    with pytest.raises(KbError) as err:
        load_kb(root)
    problem = err.value.problems[0]
    assert problem.startswith(f"{root / '_tag-rules.yaml'}:{line}: "), problem
    assert f".{field}:" in problem, problem


BUNDLED = load_kb(default_kb_dir())
PIPE = Pipeline(BUNDLED)


def found_tags(text: str) -> set[str]:
    return {t for m in run_text(PIPE, text) for t in m.tags}


@pytest.mark.parametrize("text", [
    # DescribeTable on a lock table (no entry for that action on a lock table)
    "ERRO[0001] AccessDeniedException: User: arn:aws:sts::111111111111:assumed-role/state/x is not "
    "authorized to perform: dynamodb:DescribeTable on resource: "
    "arn:aws:dynamodb:eu-north-1:111111111111:table/company-terraform-locks",
    # the kubernetes backend's lease
    'leases.coordination.k8s.io "lock-tfstate-default-app" is forbidden:\nUser '
    '"system:serviceaccount:app:tf-runner" cannot get resource "leases"\nin API group '
    '"coordination.k8s.io" in the namespace "app"',
    # a lock error whose cause no entry knows
    "Error: Error locking state: Error acquiring the state lock: open terraform.tfstate: "
    "Access is denied.",
])
def test_bundled_rules_tag_lock_failures(text: str) -> None:
    assert "state-lock" in found_tags(text)


@pytest.mark.parametrize("text", [
    # DescribeTable on an application table: a permission error, not a lock error
    "AccessDeniedException: User: arn:aws:sts::111111111111:assumed-role/app/x is not "
    "authorized to perform: dynamodb:DescribeTable on resource: "
    "arn:aws:dynamodb:eu-north-1:111111111111:table/orders",
    # an operator's own leader-election lease
    'Error: leases.coordination.k8s.io "cert-manager-controller" is forbidden: User '
    '"system:serviceaccount:cert-manager:cm" cannot get resource "leases" in API group '
    '"coordination.k8s.io" in the namespace "kube-system"',
])
def test_bundled_rules_leave_other_denials_alone(text: str) -> None:
    tags = found_tags(text)
    assert "permission" in tags and "state-lock" not in tags


def test_specific_beats_the_fallback_and_the_fallback_catches_the_rest() -> None:
    put = ("AccessDeniedException: User: arn:aws:sts::1:assumed-role/ci/x is not authorized to "
           "perform: dynamodb:PutItem on resource: arn:aws:dynamodb:r:1:table/tf-lock")
    (m,) = run_text(PIPE, put)
    assert m.kb_id == "policy/terraform-state-lock-dynamodb-permission-denied"
    assert "policy/aws-access-denied-generic" in m.also_matched
    (m,) = run_text(PIPE, "Error: AccessDenied: Access Denied\n\tstatus code: 403")
    assert m.kb_id == "policy/aws-access-denied-generic" and m.block.certain


def test_an_uncertain_block_that_a_fallback_matches_is_kept() -> None:
    # A code no specific entry knows (DependencyViolation, once caught here, has one now).
    (m,) = run_text(PIPE, "aws_lambda_function.fn: CodeStorageExceededException: Code storage "
                          "limit exceeded.")
    assert not m.block.certain and m.kb_id == "terraform/cloud-api-generic"
    assert run_text(PIPE, "checking: nothing failed to match here, violation of nothing") == []


def test_every_family_has_exactly_one_fallback() -> None:
    from worker.knowledge.schema import FAMILIES
    fallbacks = sorted(e.family for e in BUNDLED if e.fallback and e.family)
    assert fallbacks == sorted(FAMILIES)
    # below every reviewed entry and below unreviewed imports (priority 10)
    assert max(e.priority for e in BUNDLED if e.fallback) < 10


def test_a_denial_from_an_api_without_a_permission_family_is_a_permission_error() -> None:
    text = ("Error: Error creating workspace ws for organization acme: unprocessable entity\n"
            "Project not found, or you are not authorized to use it.")
    assert "permission" in found_tags(text)
    assert "permission" not in found_tags("Error: Error creating workspace ws for organization "
                                          "acme: unprocessable entity\nName has already been taken")

"""Workarounds are filled from the log's fields, never left with the KB's sample values."""

from worker.core.fill import fill

POLICY = ('Add the required IAM policy to the CI role: {"Effect": "Allow", "Action": '
          '["dynamodb:PutItem", "dynamodb:GetItem"], '
          '"Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/my-terraform-lock-table"}')
LOCKS = "arn:aws:dynamodb:us-east-1:210987654321:table/acme-terraform-locks"
ROLE = "arn:aws:sts::111122223333:assumed-role/ci/gh"


def test_the_logs_arn_replaces_the_sample() -> None:
    got = fill(POLICY, {"action": "dynamodb:PutItem", "resource": LOCKS, "principal": ROLE})
    assert LOCKS in got.text and "123456789012" not in got.text
    assert "my-terraform-lock-table" not in got.text
    assert got.from_log == ("resource", "action") and got.missing == ()


def test_nothing_extracted_gives_a_placeholder_not_a_sample() -> None:
    got = fill(POLICY, {"action": "dynamodb:PutItem", "principal": ROLE})
    assert '"Resource": "<dynamodb table ARN>"' in got.text
    assert got.missing == ("<dynamodb table ARN>",)
    assert "123456789012" not in fill("account 123456789012", {}).text


def test_a_plain_table_name_becomes_an_arn_with_the_principals_account() -> None:
    got = fill(POLICY, {"action": "dynamodb:PutItem", "resource": "acme-locks", "principal": ROLE})
    assert "arn:aws:dynamodb:<region>:111122223333:table/acme-locks" in got.text
    assert got.missing == ("<region>",)


def test_the_denied_action_is_added_to_the_action_list() -> None:
    got = fill(POLICY, {"action": "dynamodb:DeleteItem", "resource": LOCKS})
    assert '"Action": ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:GetItem"]' in got.text


def test_a_filled_arn_keeps_its_own_account() -> None:
    got = fill(POLICY, {"resource": LOCKS, "principal": ROLE})
    assert "210987654321" in got.text and "111122223333" not in got.text


def test_lock_ids() -> None:
    assert fill("terraform force-unlock <ID>", {"lock_id": "9db590f1"}).text \
        == "terraform force-unlock 9db590f1"
    assert fill("terraform force-unlock <ID>", {}).missing == ("<ID>",)

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


# One test per field of the SLOTS table: the KB's sample and its own placeholder are
# filled from the log, or left as a placeholder naming the field.

def test_table() -> None:
    got = fill("aws dynamodb create-table --table-name <name> for my-terraform-lock-table",
               {"table": "acme-locks"})
    assert got.text == "aws dynamodb create-table --table-name acme-locks for acme-locks"
    assert got.from_log == ("table",)
    assert fill("table/my-terraform-lock-table", {}).text == "table/<lock table>"
    assert fill("table/<lock-table>", {"resource": LOCKS}).text == "table/acme-terraform-locks"


def test_bucket() -> None:
    assert fill("aws s3api list-object-versions --bucket my-tf-state", {"bucket": "acme-tf"}).text \
        == "aws s3api list-object-versions --bucket acme-tf"
    assert fill("gsutil cat gs://<bucket>/x", {"lock_path": "gs://acme-gcs/env/default.tflock"}
                ).text == "gsutil cat gs://acme-gcs/x"
    got = fill("s3://my-terraform-state-bucket/env", {})
    assert got.text == "s3://<bucket>/env" and got.missing == ("<bucket>",)


def test_key() -> None:
    got = fill('"Resource": "arn:aws:s3:::<bucket>/<key>.tflock"',
               {"resource": "arn:aws:s3:::acme-st/prod/terraform.tfstate.tflock"})
    assert got.text == '"Resource": "arn:aws:s3:::acme-st/prod/terraform.tfstate.tflock"'
    assert got.from_log == ("bucket", "key")
    assert fill("--key terraform.tfstate", {}).text == "--key <state key>"
    # the lock file's key is the state key plus .tflock, which the KB writes itself
    assert fill("s3://<bucket>/<key>.tflock", {"bucket": "b", "key": "env/tf.tfstate.tflock"}
                ).text == "s3://b/env/tf.tfstate.tflock"


def test_region() -> None:
    assert fill("aws ec2 describe-images --region us-east-1", {"region": "eu-north-1"}).text \
        == "aws ec2 describe-images --region eu-north-1"
    assert fill("arn:aws:dynamodb:<region>:x", {"resource": LOCKS}).text \
        == "arn:aws:dynamodb:us-east-1:x"
    assert fill("--region us-east-1", {}).text == "--region <region>"
    # a bare sample in prose is an example, not a slot
    assert fill("a valid name such as eu-west-1", {"region": "eu-north-1"}).text \
        == "a valid name such as eu-west-1"


def test_a_region_the_log_names_as_wrong_is_not_the_fix() -> None:
    text = "-backend-config=region=<region>"
    # the entry captures the region the bucket is not in as wrong_region (kb/terraform/
    # state-s3-bucket-region-mismatch.yaml): no slot takes it
    assert fill(text, {"wrong_region": "us-east-2"}).missing == ("<region>",)
    assert fill(text, {"region": "us-east-2"}).text == "-backend-config=region=us-east-2"


def test_namespace() -> None:
    got = fill("kubectl auth can-i list pods -n <ns>; kubectl -n my-namespace get rolebinding",
               {"namespace": "monitoring"})
    assert got.text == ("kubectl auth can-i list pods -n monitoring; "
                        "kubectl -n monitoring get rolebinding")
    assert fill("kubectl -n my-namespace get sa", {}).text == "kubectl -n <namespace> get sa"


def test_role() -> None:
    assert fill("aws iam update-role --role-name terraform-ci", {"principal": ROLE}).text \
        == "aws iam update-role --role-name ci"
    got = fill('"Resource":"arn:aws:iam::<target-account>:role/<role>"',
               {"role_arn": "arn:aws:iam::444455556666:role/deploy/TerraformDeploy"})
    assert got.text == '"Resource":"arn:aws:iam::<target-account>:role/TerraformDeploy"'
    assert fill("aws iam get-role --role-name my-ci-role", {}).text \
        == "aws iam get-role --role-name <role name>"


def test_principal() -> None:
    sa = "ci@acme.iam.gserviceaccount.com"
    assert fill("--member=serviceAccount:<sa> --role=roles/storage.objectUser",
                {"principal": sa}).text \
        == f"--member=serviceAccount:{sa} --role=roles/storage.objectUser"
    assert fill("--member=serviceAccount:<ci-sa>", {}).missing == ("<ci-sa>",)


def test_account() -> None:
    got = fill("arn:aws:kms:<region>:<account>:key/<id>", {"principal": ROLE})
    assert got.text == "arn:aws:kms:<region>:111122223333:key/<id>"
    assert got.missing == ("<region>",)
    assert fill("arn:aws:iam::123456789012:role/<role>", {"principal": ROLE}).text \
        == "arn:aws:iam::111122223333:role/ci"


def test_a_passrole_fix_names_the_passed_role_not_the_caller() -> None:
    passed = "arn:aws:iam::111122223333:role/ecs-task"
    got = fill('"Resource":"arn:aws:iam::123456789012:role/app-*"',
               {"principal": ROLE, "action": "iam:PassRole", "resource": passed})
    assert got.text == f'"Resource":"{passed}"' and got.from_log == ("resource",)

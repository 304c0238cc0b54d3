"""Least-privilege grants are valid by construction, in each platform's own form."""

from __future__ import annotations

import json

import jsonschema
import pandas as pd
import yaml

from worker.report.grants import aws_policy, cloud_of, kubernetes_role
from worker.report.permissions import least_privilege, permission_errors

# The shape of an IAM identity policy (the subset tfpulse writes).
IAM_POLICY = {
    "type": "object", "required": ["Version", "Statement"], "additionalProperties": False,
    "properties": {
        "Version": {"const": "2012-10-17"},
        "Statement": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["Effect", "Action", "Resource"],
            "additionalProperties": False, "properties": {
                "Sid": {"type": "string", "pattern": "^[A-Za-z0-9]+$"},
                "Effect": {"const": "Allow"},
                "Action": {"type": "array", "minItems": 1,
                           "items": {"type": "string", "pattern": "^[a-z0-9-]+:[A-Za-z0-9*]+$"}},
                "Resource": {"type": "array", "minItems": 1, "items": {"type": "string"}}}}}}}
# The fields of a Role/ClusterRole and its binding that kubectl validates.
K8S_RULE = {"type": "object", "required": ["apiGroups", "resources", "verbs"], "properties": {
    "apiGroups": {"type": "array", "items": {"type": "string"}},
    "resources": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
    "verbs": {"type": "array", "minItems": 1, "items": {"enum": [
        "get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]}}}}
K8S_ROLE = {"type": "object", "required": ["apiVersion", "kind", "metadata", "rules"],
            "properties": {"apiVersion": {"const": "rbac.authorization.k8s.io/v1"},
                           "kind": {"enum": ["Role", "ClusterRole"]},
                           "metadata": {"type": "object", "required": ["name"]},
                           "rules": {"type": "array", "minItems": 1, "items": K8S_RULE}}}
K8S_BINDING = {"type": "object", "required": ["apiVersion", "kind", "roleRef", "subjects"],
               "properties": {"kind": {"enum": ["RoleBinding", "ClusterRoleBinding"]},
                              "roleRef": {"type": "object", "required": ["apiGroup", "kind", "name"]},
                              "subjects": {"type": "array", "minItems": 1, "items": {
                                  "type": "object", "required": ["kind", "name"]}}}}
SA = "system:serviceaccount:ci:terraform"
ROLE = "arn:aws:sts::210987654321:assumed-role/ci/gh"
LOCKS = "arn:aws:dynamodb:eu-west-1:210987654321:table/acme-terraform-locks"


def occurrences(*rows: tuple[str, str, str, str, str]) -> pd.DataFrame:
    return pd.DataFrame([{"kb_id": kb, "tags": tags, "principal": p, "action": a, "resource": r,
                          "fields": json.dumps({"namespace": "ci"} if "kubernetes" in tags else {}),
                          "repo": "acme/infra", "age": 0, "day": "2024-06-10"}
                         for kb, tags, p, a, r in rows])


def test_aws_policy_is_an_iam_policy_with_only_what_was_denied() -> None:
    policy = json.loads(aws_policy(["dynamodb:PutItem", "s3:GetObject"],
                                   [LOCKS, "arn:aws:s3:::acme-state/prod.tfstate"]))
    jsonschema.validate(policy, IAM_POLICY)
    assert [(s["Action"], s["Resource"]) for s in policy["Statement"]] == [
        (["dynamodb:PutItem"], [LOCKS]), (["s3:GetObject"], ["arn:aws:s3:::acme-state/prod.tfstate"])]
    unknown = json.loads(aws_policy(["kms:Decrypt"], []))
    jsonschema.validate(unknown, IAM_POLICY)
    assert unknown["Statement"][0]["Resource"] == ["<kms resource ARN>"]  # never "*", never a sample


def test_kubernetes_denials_become_a_role_not_an_iam_policy() -> None:
    occ = occurrences(("kubernetes/rbac-forbidden", ",permission,kubernetes,", SA, "create", "secrets"),
                      ("kubernetes/rbac-forbidden", ",permission,kubernetes,", SA, "get", "secrets"),
                      ("policy/x", ",permission,aws,", ROLE, "dynamodb:PutItem", LOCKS))
    lp = least_privilege(occ)
    assert list(lp["cloud"]) == ["aws", "kubernetes"]
    role, binding = yaml.safe_load_all(lp["suggestion"][1])
    jsonschema.validate(role, K8S_ROLE)
    jsonschema.validate(binding, K8S_BINDING)
    assert role["kind"] == "Role" and role["metadata"]["namespace"] == "ci"
    assert role["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "get"]}]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "terraform", "namespace": "ci"}]
    assert '["create"]' not in lp["suggestion"][0]


def test_a_bare_verb_without_a_platform_gets_no_grant() -> None:
    assert cloud_of("create") == "other" and cloud_of("create", kubernetes=True) == "kubernetes"
    assert least_privilege(occurrences(("x/y", ",permission,", "someone", "create", "thing"))).empty
    cluster = kubernetes_role("alice", ["list"], ["nodes"])
    assert yaml.safe_load_all(cluster).__next__()["kind"] == "ClusterRole"


def test_errors_that_name_nothing_are_grouped_by_entry() -> None:
    occ = occurrences(("aws/expired-token", ",permission,", "", "", ""),
                      ("aws/expired-token", ",permission,", "", "", ""),
                      ("azure/aadsts-invalid-client-secret", ",permission,", "", "", ""),
                      ("policy/x", ",permission,aws,", ROLE, "dynamodb:PutItem", LOCKS))
    rows = [tuple(r) for r in permission_errors(occ, 10)[["principal", "occurrences", "entries"]]
            .itertuples(index=False)]
    assert rows == [("(not in the log)", 2, "aws/expired-token"),
                    ("(not in the log)", 1, "azure/aadsts-invalid-client-secret"),
                    (ROLE, 1, "policy/x")]

"""Least-privilege grants in each platform's own form, built only from what was denied.

AWS: an IAM policy document (one statement per service, its actions on the resources of
that service seen in the errors). GCP: a custom role holding exactly the denied
permissions and its `gcloud projects add-iam-policy-binding`. Azure: a custom role
definition with the denied actions and its `az role assignment create`. Kubernetes: a
Role and RoleBinding with the denied verbs on the denied resources. A value the errors
did not give is a named placeholder (`<project id>`), never a sample. Anything else
(a bare verb with no platform) gets no grant: it is not an IAM permission.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

AWS_ACTION = re.compile(r"^[a-z0-9][a-z0-9-]*:[A-Za-z0-9*]+$")
GCP_PERMISSION = re.compile(r"^[a-z][a-zA-Z0-9]*(\.[a-zA-Z0-9]+){2,}$")
AZURE_ACTION = re.compile(r"^Microsoft\.[A-Za-z0-9.]+/\S+$", re.IGNORECASE)
K8S_VERBS = frozenset({"get", "list", "watch", "create", "update", "patch", "delete",
                       "deletecollection", "impersonate", "bind", "escalate", "use"})
K8S_SERVICE_ACCOUNT = re.compile(r"^system:serviceaccount:([a-z0-9.-]+):([a-z0-9.-]+)$")
ARN_SERVICE = re.compile(r"^arn:aws[a-z-]*:([a-z0-9-]+):")
GCP_PROJECT = re.compile(r"projects/([a-z][a-z0-9-]{4,28}[a-z0-9])(?:/|$)")
CLOUDS = ("aws", "gcp", "azure", "kubernetes")


def cloud_of(action: str, kubernetes: bool = False) -> str:
    """aws, gcp, azure, kubernetes or other, from the shape of the denied action
    (`kubernetes`: the entry is tagged so, and a bare verb is an RBAC verb)."""
    if AZURE_ACTION.match(action):
        return "azure"
    if AWS_ACTION.match(action):
        return "aws"
    if GCP_PERMISSION.match(action):
        return "gcp"
    if kubernetes and action in K8S_VERBS:
        return "kubernetes"
    return "other"


def aws_policy(actions: Sequence[str], resources: Sequence[str]) -> str:
    """An IAM policy document: per service, its denied actions on its resources."""
    statements = []
    for service in sorted({a.split(":", 1)[0] for a in actions}):
        own = sorted(a for a in actions if a.split(":", 1)[0] == service)
        arns = sorted(r for r in resources if _arn_service(r) == service)
        statements.append({"Sid": _sid(service), "Effect": "Allow", "Action": own,
                           "Resource": arns or [f"<{service} resource ARN>"]})
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2)


def _arn_service(arn: str) -> str:
    m = ARN_SERVICE.match(arn)
    return m.group(1) if m else ""


def _sid(service: str) -> str:
    return "TfpulseAllow" + "".join(part.capitalize() for part in re.split(r"[^a-z0-9]", service))


def gcp_binding(principal: str, permissions: Sequence[str], resources: Sequence[str]) -> str:
    """A custom role with exactly the denied permissions, and its binding."""
    project = next((m.group(1) for r in resources if (m := GCP_PROJECT.search(r))
                    and m.group(1) != "_"), "<project id>")
    kind = "serviceAccount" if principal.endswith(".gserviceaccount.com") else "user"
    return "\n".join([
        f"gcloud iam roles create tfpulseCi --project={project} \\",
        f"  --title='tfpulse CI' --permissions={','.join(sorted(permissions))}",
        f"gcloud projects add-iam-policy-binding {project} \\",
        f"  --member={kind}:{principal} --role=projects/{project}/roles/tfpulseCi"])


def azure_assignment(principal: str, actions: Sequence[str], resources: Sequence[str]) -> str:
    """A custom role definition with the denied actions, assigned at the narrowest scope."""
    scope = min(resources, key=len) if resources else "<scope>"
    role = {"Name": "tfpulse CI", "IsCustom": True, "Actions": sorted(actions),
            "AssignableScopes": [scope]}
    return "\n".join([
        f"az role definition create --role-definition '{json.dumps(role, ensure_ascii=False)}'",
        f"az role assignment create --assignee {principal} --role 'tfpulse CI' --scope {scope}"])


def kubernetes_role(principal: str, verbs: Sequence[str], resources: Sequence[str],
                    api_group: str = "", namespace: str = "") -> str:
    """A Role (or ClusterRole without a namespace) and its binding, as YAML."""
    sa = K8S_SERVICE_ACCOUNT.match(principal)
    namespace = namespace or (sa.group(1) if sa else "")
    kind = "Role" if namespace else "ClusterRole"
    meta = f"  name: tfpulse-ci\n  namespace: {namespace}\n" if namespace else \
        "  name: tfpulse-ci\n"
    subject = (f"- kind: ServiceAccount\n  name: {sa.group(2)}\n  namespace: {sa.group(1)}"
               if sa else f"- kind: User\n  name: {json.dumps(principal)}\n"
                          "  apiGroup: rbac.authorization.k8s.io")
    return (f"apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata:\n{meta}"
            f"rules:\n- apiGroups: [{json.dumps(api_group)}]\n"
            f"  resources: {json.dumps(sorted(resources) or ['<resource>'])}\n"
            f"  verbs: {json.dumps(sorted(verbs))}\n---\n"
            f"apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}Binding\nmetadata:\n{meta}"
            f"roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: {kind}\n"
            f"  name: tfpulse-ci\nsubjects:\n{subject}\n")

"""Permission and state-lock sections of the report (pure functions over DataFrames).

A permission error is an occurrence whose tags hold `permission`. Its principal, action
and resource come from the entry's named groups. The least-privilege suggestion lists,
per principal, exactly the actions that were denied and the resources they were denied
on: an AWS IAM policy statement when the actions look like `service:Action`, the
permission names for GCP (`storage.objects.get`) and the role action names for Azure
(`Microsoft.Storage/storageAccounts/listKeys/action`).
"""

from __future__ import annotations

import json
import re

import pandas as pd

AWS_ACTION = re.compile(r"^[a-z0-9][a-z0-9-]*:[A-Za-z0-9*]+$")
GCP_PERMISSION = re.compile(r"^[a-z][a-zA-Z0-9]*(\.[a-zA-Z0-9]+){2,}$")
AZURE_ACTION = re.compile(r"^Microsoft\.[A-Za-z0-9.]+/\S+$", re.IGNORECASE)


def has_tag(tags: pd.Series, tag: str) -> pd.Series:
    """Rows whose comma-joined tags (",permission,aws,") hold `tag`."""
    return tags.fillna("").map(lambda value: tag in value.strip(",").split(",")).astype(bool)


def cloud_of(action: str) -> str:
    """aws, gcp, azure or other, from the shape of a permission/action name."""
    if AZURE_ACTION.match(action):
        return "azure"
    if AWS_ACTION.match(action):
        return "aws"
    if GCP_PERMISSION.match(action):
        return "gcp"
    return "other"


def _text(series: pd.Series) -> pd.Series:
    return series.fillna("").astype(str).str.strip()


def permission_errors(occ: pd.DataFrame, top: int) -> pd.DataFrame:
    """The most frequent (principal, action, resource) triples of permission errors."""
    cols = ["principal", "action", "resource", "occurrences", "repos", "entries", "last_seen"]
    perm = occ[has_tag(occ["tags"], "permission")].copy()
    for column in ("principal", "action", "resource"):
        perm[column] = _text(perm[column])
    if perm.empty:
        return pd.DataFrame(columns=cols)
    grouped = perm.groupby(["principal", "action", "resource"], sort=True).agg(
        occurrences=("age", "size"),
        repos=("repo", "nunique"),
        entries=("kb_id", lambda ids: ", ".join(sorted(set(ids.dropna())))),
        last_seen=("day", "max"),
    ).reset_index()
    grouped = grouped.sort_values(["occurrences", "principal", "action", "resource"],
                                  ascending=[False, True, True, True], kind="mergesort")
    return grouped[cols].head(top).reset_index(drop=True)


def suggestion(cloud: str, actions: list[str], resources: list[str]) -> str:
    """The least-privilege grant as compact JSON (a policy statement for AWS, else a list)."""
    if cloud == "aws":
        statement = {"Effect": "Allow", "Action": actions, "Resource": resources or ["*"]}
        return json.dumps(statement)
    return json.dumps(actions)


def least_privilege(occ: pd.DataFrame) -> pd.DataFrame:
    """Per principal and cloud: the denied actions, the resources seen and the grant."""
    cols = ["principal", "cloud", "actions", "resources", "occurrences", "suggestion"]
    perm = occ[has_tag(occ["tags"], "permission")].copy()
    for column in ("principal", "action", "resource"):
        perm[column] = _text(perm[column])
    perm = perm[(perm["principal"] != "") & (perm["action"] != "")]
    if perm.empty:
        return pd.DataFrame(columns=cols)
    perm["cloud"] = perm["action"].map(cloud_of)
    rows = []
    for (principal, cloud), group in perm.groupby(["principal", "cloud"], sort=True):
        actions = sorted(set(group["action"]))
        resources = sorted(set(group["resource"]) - {""})
        rows.append((principal, cloud, ", ".join(actions), ", ".join(resources), len(group),
                     suggestion(str(cloud), actions, resources)))
    return pd.DataFrame(rows, columns=cols)


def state_locks(occ: pd.DataFrame) -> pd.DataFrame:
    """Per repo: lock contention (state-lock, no permission) and lock permission errors."""
    cols = ["repo", "contention", "permission", "total"]
    lock = occ[has_tag(occ["tags"], "state-lock")].copy()
    if lock.empty:
        return pd.DataFrame(columns=cols)
    lock["permission"] = has_tag(lock["tags"], "permission").astype(int)
    lock["contention"] = 1 - lock["permission"]
    out = lock.groupby("repo", sort=True)[["contention", "permission"]].sum().reset_index()
    out["total"] = out["contention"] + out["permission"]
    out = out.sort_values(["total", "repo"], ascending=[False, True], kind="mergesort")
    return out[cols].astype({c: int for c in cols[1:]}).reset_index(drop=True)

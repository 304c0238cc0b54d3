"""Permission and state-lock sections of the report (pure functions over DataFrames).

A permission error is an occurrence whose tags hold `permission`. Its principal, action
and resource come from the entry's named groups. Errors that name none of them (expired
tokens, failed logins) are grouped per entry, never lumped into one blank row. The
least-privilege suggestion grants, per principal, exactly the actions that were denied on
the resources they were denied on, in the platform's own form (worker/report/grants.py).
"""

from __future__ import annotations

import json

import pandas as pd

from worker.report import grants
from worker.report.grants import cloud_of

NOT_IN_LOG = "(not in the log)"

def has_tag(tags: pd.Series, tag: str) -> pd.Series:
    """Rows whose comma-joined tags (",permission,aws,") hold `tag`."""
    return tags.fillna("").map(lambda value: tag in value.strip(",").split(",")).astype(bool)


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
    # Rows that name nothing are grouped by their entry, not lumped together.
    blank = (perm["principal"] == "") & (perm["action"] == "") & (perm["resource"] == "")
    perm["entry_key"] = perm["kb_id"].where(blank, "").fillna("")
    perm.loc[blank, "principal"] = NOT_IN_LOG
    grouped = perm.groupby(["principal", "action", "resource", "entry_key"], sort=True).agg(
        occurrences=("age", "size"),
        repos=("repo", "nunique"),
        entries=("kb_id", lambda ids: ", ".join(sorted(set(ids.dropna())))),
        last_seen=("day", "max"),
    ).reset_index()
    grouped = grouped.sort_values(["occurrences", "principal", "action", "resource"],
                                  ascending=[False, True, True, True], kind="mergesort")
    return grouped[cols].head(top).reset_index(drop=True)


def suggestion(cloud: str, principal: str, actions: list[str], resources: list[str],
               fields: list[dict[str, str]] | None = None) -> str:
    """The least-privilege grant in the platform's own form ("" when there is none)."""
    if cloud == "aws":
        return grants.aws_policy(actions, resources)
    if cloud == "gcp":
        return grants.gcp_binding(principal, actions, resources)
    if cloud == "azure":
        return grants.azure_assignment(principal, actions, resources)
    if cloud == "kubernetes":
        seen = fields or []
        api_group = next((f["api_group"] for f in seen if f.get("api_group")), "")
        namespace = next((f["namespace"] for f in seen if f.get("namespace")), "")
        return grants.kubernetes_role(principal, actions, resources, api_group, namespace)
    return ""


def _fields(value: object) -> dict[str, str]:
    try:
        parsed = json.loads(str(value or "{}"))
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in parsed.items()} if isinstance(parsed, dict) else {}


def least_privilege(occ: pd.DataFrame) -> pd.DataFrame:
    """Per principal and platform: the denied actions, the resources seen and the grant.
    Actions that are no platform's permission (cloud "other") get no row."""
    cols = ["principal", "cloud", "actions", "resources", "occurrences", "suggestion"]
    perm = occ[has_tag(occ["tags"], "permission")].copy()
    for column in ("principal", "action", "resource"):
        perm[column] = _text(perm[column])
    perm = perm[(perm["principal"] != "") & (perm["action"] != "")]
    if perm.empty:
        return pd.DataFrame(columns=cols)
    k8s = has_tag(perm["tags"], "kubernetes")
    perm["cloud"] = [cloud_of(a, bool(k)) for a, k in zip(perm["action"], k8s, strict=True)]
    perm = perm[perm["cloud"] != "other"]
    rows = []
    for (principal, cloud), group in perm.groupby(["principal", "cloud"], sort=True):
        actions = sorted(set(group["action"]))
        resources = sorted(set(group["resource"]) - {""})
        fields = [_fields(v) for v in group["fields"]] if "fields" in group else []
        rows.append((principal, cloud, ", ".join(actions), ", ".join(resources), len(group),
                     suggestion(str(cloud), str(principal), actions, resources, fields)))
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

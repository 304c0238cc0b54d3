"""Breakdown tables of the report: by family, by repo, by team, unclassified templates,
dead ends, the entry catalogue and the summary (pure functions over DataFrames)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from worker.report.calc import pct_change, pct_share
from worker.report.permissions import has_tag

NO_TEAM = "(none)"


def kb_field(kb: Mapping[str, Any], kb_id: str, name: str) -> str:
    """One field of the KB info the caller passed (object attributes or mapping keys).

    Accepts `title` or `signature`, and `workaround` or `best_workaround` or the first of
    `workarounds`; list values (tags) are joined with ", ".
    """
    info = kb.get(kb_id)
    if info is None:
        return ""
    aliases = {"title": ("title", "signature"),
               "workaround": ("workaround", "best_workaround", "workarounds")}
    for key in aliases.get(name, (name,)):
        value = info.get(key) if isinstance(info, Mapping) else getattr(info, key, None)
        if value:
            break
    else:
        return ""
    if isinstance(value, (list, tuple)):
        if key == "workarounds":
            value = value[0]
        else:
            return ", ".join(str(v) for v in value)
    if isinstance(value, Mapping):
        value = value.get("action", "")
    elif not isinstance(value, str):
        value = getattr(value, "action", value)
    return " ".join(str(value).split())


def breakdown(occ: pd.DataFrame, key: str, prev_known: bool = True) -> pd.DataFrame:
    """Per repo or team: occurrences, classified/unclassified, entries, week change, top entry."""
    cols = [key, "occurrences", "classified", "unclassified", "unclassified_pct", "entries",
            "this_week", "prev_week", "change", "change_pct", "top_entry"]
    frame = occ.copy()
    frame[key] = frame[key].fillna("").replace("", NO_TEAM)
    rows = []
    for value, group in frame.groupby(key, sort=True):
        window = group[group["in_window"]]
        if window.empty:
            continue
        unclassified = int(window["kb_id"].isna().sum())
        now, prev = int((group["age"] == 0).sum()), int((group["age"] == 1).sum())
        counts = window["kb_id"].dropna().value_counts()
        top = min(counts[counts == counts.max()].index) if len(counts) else ""
        rows.append((value, len(window), len(window) - unclassified, unclassified,
                     pct_share(unclassified, len(window)), int(window["kb_id"].nunique()),
                     now, prev, now - prev if prev_known else math.nan,
                     pct_change(now - prev, prev) if prev_known else math.nan, top))
    out = pd.DataFrame(rows, columns=cols)
    out = out.sort_values(["occurrences", key], ascending=[False, True], kind="mergesort")
    return out.reset_index(drop=True)


def _is_fallback(kb: Mapping[str, Any], kb_id: str) -> bool:
    info = kb.get(kb_id)
    value = info.get("fallback") if isinstance(info, Mapping) else getattr(info, "fallback", False)
    return bool(value)


def by_family(occ: pd.DataFrame, kb: Mapping[str, Any]) -> pd.DataFrame:
    """Per family of the classified occurrences: occurrences, entries, how many only the
    family's fallback caught (a specific entry is missing for those), week change."""
    cols = ["family", "occurrences", "entries", "generic", "generic_pct", "this_week",
            "prev_week", "change"]
    frame = occ[occ["kb_id"].notna()].copy()
    frame["family"] = frame["kb_id"].map(lambda k: kb_field(kb, k, "family") or NO_TEAM)
    frame["generic"] = frame["kb_id"].map(lambda k: _is_fallback(kb, k))
    rows = []
    for family, group in frame.groupby("family", sort=True):
        window = group[group["in_window"]]
        if window.empty:
            continue
        now, prev = int((group["age"] == 0).sum()), int((group["age"] == 1).sum())
        generic = int(window["generic"].sum())
        rows.append((family, len(window), int(window["kb_id"].nunique()), generic,
                     pct_share(generic, len(window)), now, prev, now - prev))
    out = pd.DataFrame(rows, columns=cols)
    out = out.sort_values(["occurrences", "family"], ascending=[False, True], kind="mergesort")
    return out.reset_index(drop=True)


def unclassified_templates(window_occ: pd.DataFrame, templates: pd.DataFrame,
                           top: int) -> pd.DataFrame:
    """The most frequent templates of unclassified errors in the window."""
    cols = ["template_id", "occurrences", "repos", "first_seen", "last_seen", "template"]
    unc = window_occ[window_occ["kb_id"].isna()]
    if unc.empty:
        return pd.DataFrame(columns=cols)
    out = unc.groupby("template_id", sort=True).agg(
        occurrences=("age", "size"), repos=("repo", "nunique"),
        first_seen=("day", "min"), last_seen=("day", "max")).reset_index()
    text = dict(zip(templates["template_id"], templates["template"], strict=True))
    out["template"] = out["template_id"].map(lambda t: " ".join(str(text.get(t, "")).split()))
    out = out.sort_values(["occurrences", "template_id"], ascending=[False, True], kind="mergesort")
    return out[cols].head(top).reset_index(drop=True)


def dead_ends(window_dead: pd.DataFrame, titles: Mapping[str, str]) -> pd.DataFrame:
    """Known dead ends tried in the window, per entry and signal."""
    cols = ["kb_id", "title", "signal", "attempts", "repos", "last_seen"]
    if window_dead.empty:
        return pd.DataFrame(columns=cols)
    out = window_dead.groupby(["kb_id", "signal"], sort=True).agg(
        attempts=("age", "size"), repos=("repo", "nunique"), last_seen=("day", "max")).reset_index()
    out["title"] = out["kb_id"].map(lambda k: titles.get(k, k))
    out = out.sort_values(["attempts", "kb_id", "signal"], ascending=[False, True, True],
                          kind="mergesort")
    return out[cols].reset_index(drop=True)


def entries(window_occ: pd.DataFrame, kb: Mapping[str, Any], titles: Mapping[str, str]) -> pd.DataFrame:
    """The KB entries seen in the window with their root cause and best workaround."""
    cols = ["kb_id", "title", "category", "family", "tags", "occurrences", "root_cause",
            "workaround"]
    seen = window_occ.dropna(subset=["kb_id"])
    rows = []
    for kb_id, group in seen.groupby("kb_id", sort=True):
        category = kb_field(kb, kb_id, "category") or str(group["category"].dropna().min() or "")
        tags = kb_field(kb, kb_id, "tags") or ", ".join(
            sorted({t for value in group["tags"].fillna("") for t in value.split(",") if t}))
        rows.append((kb_id, titles.get(kb_id, kb_id), category, kb_field(kb, kb_id, "family"),
                     tags, len(group),
                     kb_field(kb, kb_id, "root_cause"), kb_field(kb, kb_id, "workaround")))
    out = pd.DataFrame(rows, columns=cols)
    out = out.sort_values(["occurrences", "kb_id"], ascending=[False, True], kind="mergesort")
    return out.reset_index(drop=True)


def summary(window_occ: pd.DataFrame, window_dead: pd.DataFrame) -> dict[str, int | float]:
    """Headline numbers of the window."""
    unclassified = int(window_occ["kb_id"].isna().sum())
    lock = has_tag(window_occ["tags"], "state-lock")
    perm = has_tag(window_occ["tags"], "permission")
    return {
        "occurrences": len(window_occ),
        "classified": len(window_occ) - unclassified,
        "unclassified": unclassified,
        "unclassified_pct": pct_share(unclassified, len(window_occ)),
        "entries": int(window_occ["kb_id"].nunique()),
        "repos": int(window_occ["repo"].nunique()),
        "permission_errors": int(perm.sum()),
        "lock_contention": int((lock & ~perm).sum()),
        "lock_permission": int((lock & perm).sum()),
        "dead_end_attempts": len(window_dead),
    }

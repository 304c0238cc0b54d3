"""Report tables of what happened next, observed dead-end fail rates and versions (pure).

Frames in, frames out, through the plain-row functions of report/history.py (the one
place of the definitions, docs/design.md "What happened next").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from worker.report import history as h
from worker.report.calc import to_utc

OUTCOME_COLUMNS = ("repo", "run_id", "run_attempt", "job", "pipeline", "status", "ended_at",
                   "terraform_version", "providers")


def _epochs(values: pd.Series) -> list[float]:
    return [t.timestamp() for t in to_utc(values)] if len(values) else []


def occurrence_rows(occ: pd.DataFrame) -> list[h.OccurrenceRow]:
    """Classified rows of an occurrences frame."""
    occ = occ[occ["kb_id"].notna()]
    return [h.OccurrenceRow(r, str(run), int(a), j, k, t) for r, run, a, j, k, t in zip(
        occ["repo"], occ["run_id"], occ["run_attempt"], occ["job"], occ["kb_id"],
        _epochs(occ["first_seen"]), strict=True)]


def outcome_rows(frame: pd.DataFrame, until: float) -> list[h.OutcomeRow]:
    """Outcomes that ended up to `until` (the report's end: a later rebuild is the same)."""
    rows = [h.OutcomeRow(r, str(run), int(a), j, p or "", s, t, v or "", prov or "")
            for r, run, a, j, p, s, t, v, prov in zip(
                frame["repo"], frame["run_id"], frame["run_attempt"], frame["job"],
                frame["pipeline"], frame["status"], _epochs(frame["ended_at"]),
                frame["terraform_version"], frame["providers"], strict=True)]
    return [r for r in rows if r.ended_at <= until]


def dead_end_rows(dead: pd.DataFrame) -> list[h.DeadEndRow]:
    return [h.DeadEndRow(r, k, s, t) for r, k, s, t in zip(
        dead["repo"], dead["kb_id"], dead["signal"], _epochs(dead["seen_at"]), strict=True)]


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 1)


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


def what_next(facts: list[h.NextFact], kb: Mapping[str, Any], titles: Mapping[str, str],
              top: int) -> pd.DataFrame:
    """Per entry: occurrences of the window, what followed them, beside the KB's claim."""
    cols = ["kb_id", "title", "occurrences", "green_next_pct", "claimed_success_pct",
            "retry_pct", "recurred_7d_pct", "ttg_median_h", "ttg_p90_h"]
    rows = []
    for kb_id, s in h.per_entry(facts).items():
        claimed = (kb.get(kb_id) or {}).get("success_rate")
        rows.append((kb_id, titles.get(kb_id, kb_id), s.occurrences, _pct(s.green_share),
                     _pct(claimed), _pct(s.retry_share), _pct(s.recurred_share),
                     _hours(s.ttg_median), _hours(s.ttg_p90)))
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["occurrences", "kb_id"], ascending=[False, True],
                           kind="mergesort").reset_index(drop=True)


def what_next_by_family(facts: list[h.NextFact], kb: Mapping[str, Any]) -> pd.DataFrame:
    cols = ["family", "occurrences", "green_next_pct", "retry_pct", "recurred_7d_pct",
            "ttg_median_h", "ttg_p90_h"]
    family = {k: (v or {}).get("family") or None for k, v in kb.items()}
    rows = [(name, s.occurrences, _pct(s.green_share), _pct(s.retry_share),
             _pct(s.recurred_share), _hours(s.ttg_median), _hours(s.ttg_p90))
            for name, s in h.per_family(facts, family).items()]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["occurrences", "family"], ascending=[False, True],
                           kind="mergesort").reset_index(drop=True)


def dead_ends_observed(dead: list[h.DeadEndRow], occurrences: list[h.OccurrenceRow],
                       kb: Mapping[str, Any]) -> pd.DataFrame:
    """Per entry and dead end: tries, and how often the error came back (observed
    fail_rate), beside the KB's claimed fail_rate."""
    cols = ["kb_id", "dead_end", "tries", "came_back", "observed_fail_pct", "claimed_fail_pct"]
    rows = [(d.kb_id, d.signal, d.attempts, d.came_back, _pct(d.fail_rate),
             _pct(((kb.get(d.kb_id) or {}).get("dead_end_rates") or {}).get(d.signal)))
            for d in h.dead_ends_observed(dead, occurrences)]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["tries", "kb_id", "dead_end"], ascending=[False, True, True],
                           kind="mergesort").reset_index(drop=True)


def per_version(per: Mapping[str, Any]) -> pd.DataFrame:
    """Failures (classified occurrences of the window) per Terraform version of their job."""
    total = h.failures_per_version(per)
    rows = sorted(total.items(), key=lambda kv: (kv[0] == "unknown", h.version_key(kv[0])
                                                 if kv[0] != "unknown" else (), kv[0]))
    out = pd.DataFrame(rows, columns=["terraform_version", "occurrences"])
    out["entries"] = [sum(1 for c in per.values() if c.get(v)) for v, _ in rows]
    return out


def old_versions_only(per: Mapping[str, Any], titles: Mapping[str, str]) -> pd.DataFrame:
    """Entries seen only on versions older than the newest seen: the upgrade may fix them."""
    rows = [(k, titles.get(k, k), sum(per[k].values()),
             ", ".join(sorted((v for v in per[k] if v != "unknown"), key=h.version_key)))
            for k in h.only_old_versions(per)]
    return pd.DataFrame(rows, columns=["kb_id", "title", "occurrences", "versions"])


def next_tables(win: pd.DataFrame, outcomes: pd.DataFrame, win_dead: pd.DataFrame,
                kb: Mapping[str, Any], titles: Mapping[str, str], until: float, top: int
                ) -> dict[str, pd.DataFrame]:
    occ = occurrence_rows(win)
    done = outcome_rows(outcomes, until)
    facts = h.next_facts(occ, done)
    per = h.versions_of(occ, done)
    return {
        "what_next": what_next(facts, kb, titles, top),
        "what_next_family": what_next_by_family(facts, kb),
        "dead_ends_observed": dead_ends_observed(dead_end_rows(win_dead), occ, kb),
        "versions": per_version(per),
        "old_versions": old_versions_only(per, titles),
    }

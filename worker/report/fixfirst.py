"""The top of the report: the few entries that cost the most runs lately, each with its fix
filled from their own logs, and the notices a reader needs before trusting the numbers
(stale data, a partial current week, data that starts inside the window). Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pandas as pd

from worker.core.fill import fill
from worker.report.calc import Window

FIX_FIRST = 3
STALE_DAYS = 7  # data that ends more than a week before --as-of is stale


def last_data_week(win: pd.DataFrame) -> int | None:
    """The age of the most recent window week with any occurrence (0 = current week)."""
    return int(win["age"].min()) if len(win) else None


def fix_first(win: pd.DataFrame, window: Window, titles: dict[str, str],
              workaround: Callable[[str], str], n: int = FIX_FIRST) -> pd.DataFrame:
    """The n entries with the most occurrences in the last week with data, with their
    best workaround filled from the most frequent principal/action/resource they named."""
    cols = ["kb_id", "title", "week", "occurrences", "repos", "fix", "missing"]
    classified = win[win["kb_id"].notna()]
    age = last_data_week(classified)
    if age is None:
        return pd.DataFrame(columns=cols)
    week = classified[classified["age"] == age]
    counts = week.groupby("kb_id").agg(occurrences=("age", "size"), repos=("repo", "nunique"))
    counts = counts.reset_index().sort_values(["occurrences", "kb_id"],
                                              ascending=[False, True], kind="mergesort")
    rows = []
    for row in counts.head(n).itertuples(index=False):
        own = week[week["kb_id"] == row.kb_id]
        filled = fill(workaround(str(row.kb_id)), _common_fields(own))
        rows.append((row.kb_id, titles.get(str(row.kb_id), str(row.kb_id)), window.label(age),
                     int(row.occurrences), int(row.repos), filled.text,
                     ", ".join(filled.missing)))
    return pd.DataFrame(rows, columns=cols)


def _common_fields(rows: pd.DataFrame) -> dict[str, str]:
    """The most frequent value of each field among an entry's occurrences."""
    out = {}
    for column in ("principal", "action", "resource"):
        values = rows[column].dropna().astype(str).str.strip()
        values = values[values != ""]
        if len(values):
            out[column] = str(values.value_counts().sort_index().idxmax())
    return out


def notices(occ: pd.DataFrame, window: Window) -> tuple[str, ...]:
    """What the reader must know before reading the weeks: stale data, partial week."""
    found = []
    days = occ["day"] if len(occ) else pd.Series(dtype=object)
    if not len(days):
        found.append("**No data**: the store has no occurrence up to "
                     f"{window.as_of.isoformat()} for this selection.")
    else:
        first, last = date.fromisoformat(str(days.min())), date.fromisoformat(str(days.max()))
        gap = (window.as_of - last).days
        if gap > STALE_DAYS:
            empty = (window.current_monday - (last - timedelta(days=last.weekday()))).days // 7
            found.append(
                f"**Stale data**: the last occurrence is on {last.isoformat()}, {gap} days "
                f"before {window.as_of.isoformat()}; the last {empty} week(s) have no data "
                "(not no failures), so recent entries look \"gone quiet\". "
                f"Report on the data's own weeks with `--as-of {last.isoformat()}`.")
        if first > window.start:
            found.append(f"Data starts on {first.isoformat()}: the weeks before have no data, "
                         "and their changes are shown as —.")
    if window.as_of.weekday() < 6:
        found.append(f"The current week {window.labels[-1]} is partial: "
                     f"{window.as_of.weekday() + 1} of 7 days "
                     f"({window.current_monday.isoformat()} to {window.as_of.isoformat()}).")
    return tuple(found)

"""Pure report computations: the time window, weekly trends and entry lifecycles.

Every function takes and returns pandas DataFrames; nothing here reads a store or a
clock, so the same frames and the same `as_of` always give the same numbers.

Weeks are ISO weeks (Monday to Sunday, UTC). "age" is a week's distance from the week
that holds `as_of`: 0 is the current (possibly partial) week, 1 the week before, …
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd

from worker.core.lifecycle import lifecycle_status

STATUS_ORDER = ("new", "regressed", "chronic", "gone quiet")


@dataclass(frozen=True, slots=True)
class Window:
    """The N ISO weeks ending with the week that holds `as_of` (that week ends at as_of)."""

    as_of: date
    weeks: int

    def __post_init__(self) -> None:
        if self.weeks < 1:
            raise ValueError(f"weeks must be >= 1, got {self.weeks}")

    @property
    def current_monday(self) -> date:
        return self.as_of - timedelta(days=self.as_of.weekday())

    @property
    def start(self) -> date:
        return self.current_monday - timedelta(weeks=self.weeks - 1)

    @property
    def end(self) -> datetime:
        """Exclusive end: midnight UTC after as_of."""
        return datetime.combine(self.as_of + timedelta(days=1), time(), UTC)

    def monday(self, age: int) -> date:
        return self.current_monday - timedelta(weeks=age)

    def label(self, age: int) -> str:
        year, week, _ = self.monday(age).isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def labels(self) -> list[str]:
        """Week labels, oldest first."""
        return [self.label(age) for age in range(self.weeks - 1, -1, -1)]


def default_chronic_weeks(weeks: int) -> int:
    """K in "seen in at least K of the last N weeks": ceil(N / 2)."""
    return math.ceil(weeks / 2)


def to_utc(values: pd.Series) -> pd.Series:
    """Datetimes (aware, naive-as-UTC, ISO text or epoch seconds) as aware UTC."""
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_datetime(values, unit="s", utc=True)
    return pd.to_datetime(values, utc=True, format="ISO8601")


def add_age(frame: pd.DataFrame, column: str, window: Window) -> pd.DataFrame:
    """Keep rows up to the window's end, with `age` (weeks back) and `day` columns."""
    out = frame.copy()
    out[column] = to_utc(out[column])
    out = out[out[column] < pd.Timestamp(window.end)]
    days = out[column].dt.tz_convert("UTC").dt.date
    monday = pd.Timestamp(window.current_monday)
    out["age"] = ((monday - pd.to_datetime(days)).dt.days + 6) // 7
    out["age"] = out["age"].astype(int)
    out["day"] = days.astype(str)
    return out


def in_window(frame: pd.DataFrame, window: Window) -> pd.DataFrame:
    return frame[frame["age"] < window.weeks]


def has_data(window: Window, age: int, first_day: date | None) -> bool:
    """Whether the week at `age` ends after the first day with data: a change against a
    week with no data at all is no change (the report shows a dash, not +70)."""
    return first_day is not None and window.monday(age) + timedelta(days=7) > first_day


def first_day_of(frame: pd.DataFrame) -> date | None:
    """The first day of the frame's rows (its `day` column), or None."""
    return date.fromisoformat(str(frame["day"].min())) if len(frame) else None


def pct_change(change: int, previous: int) -> float:
    """Week-over-week change in percent, one decimal; NaN when the previous week is 0."""
    return round(change * 100.0 / previous, 1) if previous else math.nan


def _counts_by_age(frame: pd.DataFrame, key: str, ages: range) -> pd.DataFrame:
    """Rows key, columns ages (ints), values occurrence counts (zeros filled)."""
    if frame.empty:
        return pd.DataFrame(0, index=pd.Index([], dtype=object), columns=list(ages))
    table = frame.groupby([key, "age"]).size().unstack(fill_value=0)
    return table.reindex(columns=list(ages), fill_value=0).astype(int)


def _change(now: int, prev: int, known: bool) -> tuple[float, float]:
    """(change, change in percent); NaN both when the week before has no data."""
    if not known:
        return math.nan, math.nan
    return now - prev, pct_change(now - prev, prev)


def weekly_long(classified: pd.DataFrame, window: Window, titles: dict[str, str],
                first_day: date | None = None) -> pd.DataFrame:
    """One row per KB entry seen in the window and per week, with the change on the week before."""
    cols = ["kb_id", "title", "week", "week_start", "occurrences", "change", "change_pct"]
    ids = sorted(in_window(classified, window)["kb_id"].unique())
    counts = _counts_by_age(classified[classified["kb_id"].isin(ids)], "kb_id", range(window.weeks + 1))
    rows = []
    for kb_id in ids:
        for age in range(window.weeks - 1, -1, -1):
            now, prev = int(counts.at[kb_id, age]), int(counts.at[kb_id, age + 1])
            rows.append((kb_id, titles.get(kb_id, kb_id), window.label(age),
                         window.monday(age).isoformat(), now,
                         *_change(now, prev, has_data(window, age + 1, first_day))))
    return pd.DataFrame(rows, columns=cols)


def trend_wide(classified: pd.DataFrame, window: Window, titles: dict[str, str],
               first_day: date | None = None) -> pd.DataFrame:
    """KB entries × weeks (oldest first), total, this/previous week and the change."""
    labels = window.labels
    ids = sorted(in_window(classified, window)["kb_id"].unique())
    counts = _counts_by_age(classified[classified["kb_id"].isin(ids)], "kb_id", range(window.weeks + 1))
    rows = []
    for kb_id in ids:
        weekly = [int(counts.at[kb_id, age]) for age in range(window.weeks - 1, -1, -1)]
        now, prev = int(counts.at[kb_id, 0]), int(counts.at[kb_id, 1])
        rows.append([kb_id, titles.get(kb_id, kb_id), *weekly, sum(weekly), now, prev,
                     *_change(now, prev, has_data(window, 1, first_day))])
    cols = ["kb_id", "title", *labels, "total", "this_week", "prev_week", "change", "change_pct"]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["total", "kb_id"], ascending=[False, True], kind="mergesort").reset_index(drop=True)


def weekly_totals(occ: pd.DataFrame, window: Window) -> pd.DataFrame:
    """Per week: all, classified and unclassified occurrences, unclassified share, change."""
    first_day = first_day_of(occ)
    rows = []
    for age in range(window.weeks - 1, -1, -1):
        week, prev = occ[occ["age"] == age], occ[occ["age"] == age + 1]
        unclassified = int(week["kb_id"].isna().sum())
        total = len(week)
        rows.append((window.label(age), window.monday(age).isoformat(), total, total - unclassified,
                     unclassified, pct_share(unclassified, total),
                     *_change(total, len(prev), has_data(window, age + 1, first_day))))
    cols = ["week", "week_start", "occurrences", "classified", "unclassified",
            "unclassified_pct", "change", "change_pct"]
    return pd.DataFrame(rows, columns=cols)


def pct_share(part: int, whole: int) -> float:
    return round(part * 100.0 / whole, 1) if whole else 0.0


def lifecycle(classified: pd.DataFrame, window: Window, chronic_weeks: int,
              titles: dict[str, str]) -> pd.DataFrame:
    """Entries that are new, regressed, chronic or gone quiet, with their history."""
    cols = ["status", "kb_id", "title", "weeks_seen", "occurrences", "this_week",
            "quiet_weeks", "first_seen", "last_seen"]
    rows = []
    for kb_id, group in classified.groupby("kb_id", sort=True):
        ages = set(group["age"].tolist())
        status = lifecycle_status(ages, window.weeks, chronic_weeks)
        if status is None:
            continue
        recent = group[group["age"] < window.weeks]
        rows.append((status, kb_id, titles.get(kb_id, kb_id),
                     int(recent["age"].nunique()), len(recent), int((group["age"] == 0).sum()),
                     min(ages), group["day"].min(), group["day"].max()))
    out = pd.DataFrame(rows, columns=cols)
    out["_order"] = out["status"].map({s: i for i, s in enumerate(STATUS_ORDER)})
    out = out.sort_values(["_order", "kb_id"], kind="mergesort").drop(columns="_order")
    return out.reset_index(drop=True)

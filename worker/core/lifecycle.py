"""The lifecycle of a KB entry: new, regressed, chronic, gone quiet / dormant. Pure.

One rule for the weekly report (ISO weeks, `worker/report/calc.py`) and the store-backed
gauge `tfpulse_entry_lifecycle` (7-day weeks ending at the scrape): both take the ages, in
weeks, of the weeks an entry was seen (0 = the current week). docs/design.md, "Lifecycle
of an entry", and docs/reports.md say the same in words.
"""

from __future__ import annotations

from collections.abc import Iterable

WEEK_SECONDS = 7 * 86_400.0
GAUGE_WEEKS = 8  # N of the gauge: the last 8 weeks, of which K = 4 make an entry chronic
GAUGE_CHRONIC_WEEKS = 4
GAUGE_STATES = ("new", "regressed", "chronic", "dormant")


def lifecycle_status(ages: set[int], weeks: int, chronic_weeks: int) -> str | None:
    """new, regressed, chronic, gone quiet or None, from the ages of the weeks an entry was seen.

    new: first seen ever in the current week. regressed: seen this week after >= 2 quiet
    weeks that followed earlier occurrences. chronic: seen in >= K of the N window weeks and
    in the current or previous week. gone quiet: not seen for >= 2 weeks (but seen inside the
    window), and chronic in the N weeks that ended with its last week seen.
    """
    first, last = max(ages), min(ages)
    if first == 0:
        return "new"
    if last == 0:
        gap = next(age for age in range(1, first + 1) if age in ages) - 1
        if gap >= 2:
            return "regressed"
    if last < 2:
        seen = sum(1 for age in ages if age < weeks)
        return "chronic" if seen >= chronic_weeks else None
    if last < weeks:
        seen = sum(1 for age in ages if age < weeks)
        return "gone quiet" if seen >= chronic_weeks else None
    return None


def gauge_state(ages: set[int], weeks: int = GAUGE_WEEKS,
                chronic_weeks: int = GAUGE_CHRONIC_WEEKS) -> str | None:
    """The gauge's state: the report's new, regressed or chronic; dormant when not seen in
    the current or the previous week (whatever came before: the report's "gone quiet" is
    a dormant entry that was chronic); None for an entry seen lately but not often enough
    to be chronic."""
    if not ages:
        return None
    status = lifecycle_status(ages, weeks, chronic_weeks)
    if status in ("new", "regressed", "chronic"):
        return status
    return "dormant" if min(ages) >= 2 else None


def ages_of(times: Iterable[float], now: float) -> set[int]:
    """Week ages (0 = the 7 days up to now) of event times up to now."""
    return {int((now - t) // WEEK_SECONDS) for t in times if t <= now}

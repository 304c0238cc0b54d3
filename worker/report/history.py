"""What happened next, observed dead-end fail rates and versions: pure, over plain rows.

The definitions are docs/design.md's "What happened next"; the store hands the rows
(worker/store/history.py), the report, `kb stats --observed` and the tests read the
results. Times are epoch seconds.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from worker.core.lifecycle import WEEK_SECONDS
from worker.core.versions import version_key

GREEN = "success"  # the stored status of a green job (core/aggregate.py job_status)


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    """One job_outcomes row."""

    repo: str
    run_id: str
    run_attempt: int
    job: str
    pipeline: str
    status: str
    ended_at: float
    version: str = ""  # Terraform / OpenTofu version the job printed
    providers: str = ""

    @property
    def green(self) -> bool:
        return self.status == GREEN


@dataclass(frozen=True, slots=True)
class OccurrenceRow:
    """One classified occurrence: its job key, entry and event time."""

    repo: str
    run_id: str
    run_attempt: int
    job: str
    kb_id: str
    at: float


@dataclass(frozen=True, slots=True)
class DeadEndRow:
    repo: str
    kb_id: str
    signal: str
    at: float


@dataclass(frozen=True, slots=True)
class NextFact:
    """What followed one occurrence. next_green / after are None without a next job."""

    occurrence: OccurrenceRow
    next_green: bool | None
    after: float | None  # seconds from the occurrence's job end to the next job's end
    retry: bool  # the next job is the same run's next attempt, and green
    to_green: float | None  # seconds to the end of the next green job
    recurred: bool  # the entry again in the same repo, another run, within a week


@dataclass(frozen=True, slots=True)
class Summary:
    occurrences: int
    with_next: int
    next_green: int
    retry_resolved: int
    recurred_7d: int
    reached_green: int
    ttg_median: float | None
    ttg_p90: float | None

    @property
    def retry_share(self) -> float:
        return self.retry_resolved / self.occurrences if self.occurrences else 0.0

    @property
    def recurred_share(self) -> float:
        return self.recurred_7d / self.occurrences if self.occurrences else 0.0

    @property
    def green_share(self) -> float | None:
        """Observed success: of the occurrences with a next job, the share it was green."""
        return self.next_green / self.with_next if self.with_next else None


@dataclass(frozen=True, slots=True)
class DeadEndObserved:
    kb_id: str
    signal: str
    attempts: int
    came_back: int

    @property
    def fail_rate(self) -> float:
        return self.came_back / self.attempts if self.attempts else 0.0


def median(values: list[float]) -> float | None:
    if not values:
        return None
    s, mid = sorted(values), len(values) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def p90(values: list[float]) -> float | None:
    """Nearest rank: the smallest value with at least 90% of the values at or below it."""
    if not values:
        return None
    s = sorted(values)
    return s[max(0, -(-9 * len(s) // 10) - 1)]


def next_facts(occurrences: Iterable[OccurrenceRow], outcomes: Iterable[OutcomeRow]
               ) -> list[NextFact]:
    """For each occurrence whose job has an outcome: what the next job of the same repo,
    pipeline and job did, how long after, and whether the entry recurred within a week."""
    by_key: dict[tuple[str, str, int, str], OutcomeRow] = {}
    groups: dict[tuple[str, str, str], list[OutcomeRow]] = defaultdict(list)
    for o in outcomes:
        by_key[(o.repo, o.run_id, o.run_attempt, o.job)] = o
        groups[(o.repo, o.pipeline, o.job)].append(o)
    ends: dict[tuple[str, str, str], list[float]] = {}
    next_green: dict[tuple[str, str, str], list[int]] = {}
    for key, group in groups.items():
        group.sort(key=lambda o: (o.ended_at, o.run_id, o.run_attempt))
        ends[key] = [o.ended_at for o in group]
        first, found = len(group), [0] * len(group)
        for i in range(len(group) - 1, -1, -1):  # index of the first green at or after i
            first = i if group[i].green else first
            found[i] = first
        next_green[key] = found
    occs = sorted(occurrences, key=lambda o: (o.repo, o.run_id, o.run_attempt, o.job, o.kb_id))
    runs: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
    for occ in occs:
        runs[(occ.kb_id, occ.repo)].append((occ.at, occ.run_id))
    for seen in runs.values():
        seen.sort()
    out = []
    for occ in occs:
        own = by_key.get((occ.repo, occ.run_id, occ.run_attempt, occ.job))
        if own is None:
            continue
        gkey = (own.repo, own.pipeline, own.job)
        group, i = groups[gkey], bisect_right(ends[gkey], own.ended_at)
        nxt = group[i] if i < len(group) else None
        g = next_green[gkey][i] if i < len(group) else len(group)
        seen = runs[(occ.kb_id, occ.repo)]
        lo = bisect_right(seen, (occ.at, "\uffff"))
        hi = bisect_right(seen, (occ.at + WEEK_SECONDS, "\uffff"))
        recurred = any(run != occ.run_id and t > occ.at for t, run in seen[lo:hi])
        out.append(NextFact(
            occ,
            None if nxt is None else nxt.green,
            None if nxt is None else nxt.ended_at - own.ended_at,
            nxt is not None and nxt.green and (nxt.run_id, nxt.run_attempt) == (
                own.run_id, own.run_attempt + 1),
            group[g].ended_at - own.ended_at if g < len(group) else None,
            recurred,
        ))
    return out


def summarize(facts: Iterable[NextFact]) -> Summary:
    rows = list(facts)
    ttg = [f.to_green for f in rows if f.to_green is not None]
    return Summary(len(rows), sum(f.next_green is not None for f in rows),
                   sum(bool(f.next_green) for f in rows), sum(f.retry for f in rows),
                   sum(f.recurred for f in rows), len(ttg), median(ttg), p90(ttg))


def per_entry(facts: Iterable[NextFact]) -> dict[str, Summary]:
    groups: dict[str, list[NextFact]] = defaultdict(list)
    for f in facts:
        groups[f.occurrence.kb_id].append(f)
    return {k: summarize(v) for k, v in sorted(groups.items())}


def per_family(facts: Iterable[NextFact], family: Mapping[str, str | None]) -> dict[str, Summary]:
    groups: dict[str, list[NextFact]] = defaultdict(list)
    for f in facts:
        name = family.get(f.occurrence.kb_id)
        if name:
            groups[name].append(f)
    return {k: summarize(v) for k, v in sorted(groups.items())}


def dead_ends_observed(dead_ends: Iterable[DeadEndRow], occurrences: Iterable[OccurrenceRow]
                       ) -> list[DeadEndObserved]:
    """Per entry and signal: attempts, and those the entry came back after (same repo, at
    or after the attempt, within a week): the KB's fail_rate, measured."""
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    for occ in occurrences:
        times[(occ.kb_id, occ.repo)].append(occ.at)
    for t in times.values():
        t.sort()
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for d in dead_ends:
        seen = times[(d.kb_id, d.repo)]
        back = bisect_left(seen, d.at) < bisect_right(seen, d.at + WEEK_SECONDS)
        c = counts[(d.kb_id, d.signal)]
        c[0], c[1] = c[0] + 1, c[1] + int(back)
    return [DeadEndObserved(k, s, n, b) for (k, s), (n, b) in sorted(counts.items())]


# -- versions -------------------------------------------------------------------------------


def versions_of(occurrences: Iterable[OccurrenceRow], outcomes: Iterable[OutcomeRow]
                ) -> dict[str, Counter[str]]:
    """Per entry: occurrences per Terraform version of their job ("unknown": none printed,
    or no outcome)."""
    version = {(o.repo, o.run_id, o.run_attempt, o.job): o.version for o in outcomes}
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for occ in occurrences:
        v = version.get((occ.repo, occ.run_id, occ.run_attempt, occ.job)) or "unknown"
        out[occ.kb_id][v] += 1
    return dict(sorted(out.items()))


def failures_per_version(per: Mapping[str, Counter[str]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for c in per.values():
        total.update(c)
    return total


def newest(per: Mapping[str, Counter[str]]) -> str | None:
    known = {v for c in per.values() for v in c if v != "unknown"}
    return max(known, key=version_key) if known else None


def only_old_versions(per: Mapping[str, Counter[str]]) -> list[str]:
    """Entries seen on a known version but never on the newest one seen: the upgrade may
    have fixed them."""
    top = newest(per)
    if top is None:
        return []
    return sorted(k for k, c in per.items()
                  if any(v != "unknown" for v in c) and not any(
                      v != "unknown" and version_key(v) >= version_key(top) for v in c))


# -- the KB's claims beside what was observed ------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryClaim:
    """An entry's claimed best-workaround success_rate beside what followed its failures."""

    kb_id: str
    family: str | None
    observed: Summary
    claimed_success: float | None


@dataclass(frozen=True, slots=True)
class DeadEndClaim:
    kb_id: str
    dead_end: str  # the signal as stored: its dead end's action (or the regex)
    claimed_fail_rate: float | None
    observed: DeadEndObserved


def claimed_fail_rates(kb: Any) -> dict[tuple[str, str], float | None]:
    """(kb_id, stored signal) -> the KB's fail_rate of the dead end that signal names."""
    out: dict[tuple[str, str], float | None] = {}
    for entry in kb:
        items = list(entry.data.get("dead_ends") or [])
        for sig in entry.dead_end_signals:
            rate = items[sig.dead_end].get("fail_rate") if sig.dead_end < len(items) else None
            out[(entry.id, sig.action or sig.regex)] = None if rate is None else float(rate)
    return out


def entry_claims(kb: Any, summaries: Mapping[str, Summary]) -> list[EntryClaim]:
    rows = []
    for kb_id, summary in summaries.items():
        entry = kb.get(kb_id)
        best = entry.workarounds()[0].get("success_rate") if entry and entry.workarounds() \
            else None
        rows.append(EntryClaim(kb_id, entry.family if entry else None, summary,
                               None if best is None else float(best)))
    return sorted(rows, key=lambda r: (-r.observed.occurrences, r.kb_id))


def dead_end_claims(kb: Any, observed: Iterable[DeadEndObserved]) -> list[DeadEndClaim]:
    claims = claimed_fail_rates(kb)
    rows = [DeadEndClaim(d.kb_id, d.signal, claims.get((d.kb_id, d.signal)), d)
            for d in observed]
    return sorted(rows, key=lambda r: (-r.observed.attempts, r.kb_id, r.dead_end))

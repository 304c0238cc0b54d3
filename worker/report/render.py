"""Render a Report as Markdown or CSV files (HTML lives in worker.report.html).

Output depends only on the Report: no clock, no host name, rows already sorted, so the
same store and `as_of` give byte-identical files.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from worker.report.build import Report
from worker.report.incidents import STORM_RULE

SECTIONS: tuple[tuple[str, str, str], ...] = (
    # (table, heading, one-line explanation)
    ("fix_first", "Fix these first", "The entries that cost the most runs in the last week with data, each with its best workaround filled from its own logs (a `<placeholder>` is what the logs did not say)."),
    ("incidents", "Incidents", f"Storms: one entry failing in {STORM_RULE.describe()} (the FailureStorm alert's rule; overlapping windows are one incident), newest first. Event times, UTC."),
    ("weekly_totals", "Occurrences per week", "All stored occurrences per ISO week, change on the week before."),
    ("trend", "Trend per KB entry", "Occurrences per entry per week; change = this week minus the week before."),
    ("lifecycle", "New, regressed, chronic and gone quiet", ""),
    ("permissions", "Top recurring permission errors", "Occurrences tagged `permission`, per principal, action and resource."),
    ("least_privilege", "Least-privilege suggestions", "Per principal: grant exactly the denied actions on the resources seen. Review before applying."),
    ("state_locks", "State-lock errors per repo", "contention = lock held by another run (`state-lock` without `permission`); permission = no right to take or release the lock."),
    ("unclassified", "Top unclassified templates", ""),
    ("by_family", "By family", "Occurrences per family (what failed, whatever the cause); generic = caught only by the family's fallback entry, a sign that a specific entry is missing."),
    ("by_repo", "By repo", ""),
    ("by_team", "By team", ""),
    ("dead_ends", "Dead-end attempts", "Known dead ends (e.g. `-lock=false`, `force-unlock`) tried in CI, per entry."),
    ("what_next", "What happened next", "Per entry: did the next job of the same repo, pipeline and job pass (green), beside the best workaround's claimed success; retry = a plain retry of the same run passed (a flake, not a fix); recurred = back in the same repo, in another run, within 7 days; time to green (hours) to the next passing job, median and p90."),
    ("what_next_family", "What happened next, by family", "The same per family."),
    ("dead_ends_observed", "Dead ends: claimed and observed fail rate", "How often the error came back (same repo, within 7 days) after a dead end was tried, beside the fail_rate the KB claims."),
    ("versions", "Failures per Terraform version", "Classified occurrences of the window per Terraform / OpenTofu version their job printed (`unknown`: it printed none)."),
    ("old_versions", "Entries seen only on old versions", "Seen on a known version, never on the newest one seen: the upgrade may have fixed them."),
    ("entries", "Entries seen: root cause and best workaround", ""),
)
STATUS_TEXT = {
    "new": "first seen ever this week",
    "regressed": "back this week after 2 or more quiet weeks",
    "chronic": "seen in at least K of the N weeks, and this week or the week before",
    "gone quiet": "seen in at least K of the N weeks, but not this week or the week before",
}
HIDDEN = {"trend": {"title", "this_week", "prev_week"}, "lifecycle": {"title"}, "dead_ends": {"title"},
          "what_next": {"title"}, "old_versions": {"title"},
          "least_privilege": {"suggestion"}, "fix_first": {"fix", "missing"}}
GRANT_LANG = {"aws": "json", "gcp": "sh", "azure": "sh", "kubernetes": "yaml"}


def more_rows(shown: int, total: int) -> str:
    """The line under a capped table ("" when nothing was left out)."""
    return (f"… and {total - shown} more (every row: `tfpulse report --format csv`)"
            if total > shown else "")


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_cell(column: str, value: Any) -> str:
    """One table cell as text: signed changes, percentages, dashes for missing values."""
    if is_missing(value):
        return "—"
    if column == "change":
        return f"{int(value):+d}" if value else "0"
    if column == "change_pct":
        return f"{float(value):+.1f}%" if value else "0.0%"
    if column.endswith("_pct"):
        return f"{float(value):.1f}%"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def header(column: str) -> str:
    return column.replace("_pct", " %").replace("_", " ")


def visible_columns(name: str, frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in HIDDEN.get(name, set())]


def subtitle(report: Report) -> str:
    filters = [f"{k}={v}" for k, v in (("repo", report.repo), ("team", report.team)) if v]
    return (f"{report.weeks} ISO weeks {report.week_labels[0]} – {report.week_labels[-1]} "
            f"({report.window_start.isoformat()} to {report.as_of.isoformat()}, UTC, Monday start)"
            + (f"; filter {', '.join(filters)}" if filters else "; all repos and teams"))


def summary_rows(report: Report) -> list[tuple[str, str]]:
    s = report.summary
    return [
        ("Occurrences", str(s["occurrences"])),
        ("Classified", str(s["classified"])),
        ("Unclassified", f"{s['unclassified']} ({s['unclassified_pct']:.1f}%)"),
        ("KB entries seen", str(s["entries"])),
        ("Repos", str(s["repos"])),
        ("Permission errors", str(s["permission_errors"])),
        ("State-lock contention", str(s["lock_contention"])),
        ("State-lock permission", str(s["lock_permission"])),
        ("Dead-end attempts", str(s["dead_end_attempts"])),
    ]


def note(report: Report, name: str, explanation: str) -> str:
    if name == "lifecycle":
        return (f"K = {report.chronic_weeks} of N = {report.weeks} weeks. "
                + "; ".join(f"**{k}**: {v}" for k, v in STATUS_TEXT.items()) + ".")
    if name == "unclassified":
        s = report.summary
        return (f"Unclassified share: {s['unclassified']} of {s['occurrences']} occurrences "
                f"({s['unclassified_pct']:.1f}%). Top {report.top} templates in the window.")
    return explanation


def pretty_suggestion(raw: str) -> str:
    """A grant as printed: already in its platform's form (JSON, gcloud/az, YAML)."""
    return raw.strip("\n")


def toc(report: Report) -> list[tuple[str, str]]:
    """(anchor, heading) of every section, in order."""
    return [("summary", "Summary")] + [(name, heading) for name, heading, _ in SECTIONS]


def _md_anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lowercase, spaces to dashes, punctuation dropped."""
    return "".join(c for c in heading.lower().replace(" ", "-") if c.isalnum() or c in "-_")


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|")


def md_table(name: str, frame: pd.DataFrame, limit: int = 0) -> list[str]:
    if frame.empty:
        return ["_None._"]
    total = len(frame)
    frame = frame.head(limit) if limit else frame
    cols = visible_columns(name, frame)
    lines = ["| " + " | ".join(header(c) for c in cols) + " |",
             "|" + "|".join("---:" if pd.api.types.is_numeric_dtype(frame[c]) else "---"
                            for c in cols) + "|"]
    for row in frame[cols].itertuples(index=False):
        cells = (_md_escape(fmt_cell(c, v)) for c, v in zip(cols, row, strict=True))
        lines.append("| " + " | ".join(cells) + " |")
    more = more_rows(len(frame), total)
    return lines + (["", more] if more else [])


def _md_section(report: Report, name: str, heading: str, explanation: str) -> list[str]:
    frame = report.tables[name]
    lines = [f"## {heading}", ""]
    text = note(report, name, explanation)
    lines += [text, ""] if text else []
    lines += md_table(name, frame, report.top)
    if name == "least_privilege":
        for row in frame.head(report.top).itertuples(index=False):
            lines += ["", f"`{row.principal}` ({row.cloud}):", "",
                      f"```{GRANT_LANG.get(row.cloud, '')}",
                      pretty_suggestion(row.suggestion), "```"]
    if name == "fix_first":
        for i, row in enumerate(frame.itertuples(index=False), start=1):
            lines += ["", f"{i}. **{row.kb_id}** ({row.occurrences} in {row.week}):", "",
                      "   ```", *(f"   {ln}" for ln in str(row.fix).splitlines()), "   ```"]
    return lines + [""]


def render_markdown(report: Report) -> str:
    """The whole report as GitHub-flavoured Markdown."""
    lines = [f"# tfpulse weekly report — {report.week_labels[-1]}", "", subtitle(report), ""]
    if report.notices:
        lines += ["\n>\n".join(f"> {text}" for text in report.notices), ""]
    lines += ["Contents: " + " · ".join(f"[{h}](#{_md_anchor(h)})" for _, h in toc(report)), ""]
    lines += ["## Summary", "", "| metric | value |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in summary_rows(report)] + [""]
    for name, heading, explanation in SECTIONS:
        lines += _md_section(report, name, heading, explanation)
    return "\n".join(lines).rstrip("\n") + "\n"


def write_csv(report: Report, out_dir: str | Path) -> list[Path]:
    """One CSV per table (plus summary.csv) in out_dir, created if needed; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    summary = pd.DataFrame(list(report.summary.items()), columns=["metric", "value"],
                           dtype=object)
    for name, frame in [("summary", summary), *report.tables.items()]:
        path = out / f"{name}.csv"
        frame.to_csv(path, index=False, lineterminator="\n")
        paths.append(path)
    return paths

"""Render a Report as one self-contained HTML file.

Charts are embedded PNG data URIs, the CSS is inline, there is no JavaScript and no
reference to anything outside the file, so it can be mailed, archived or printed. The
print stylesheet keeps tables and charts from splitting across pages.
"""

from __future__ import annotations

import re
from html import escape

import pandas as pd

from worker.report.build import Report
from worker.report.charts import charts
from worker.report.render import (
    SECTIONS,
    fmt_cell,
    header,
    more_rows,
    note,
    pretty_suggestion,
    subtitle,
    summary_rows,
    toc,
    visible_columns,
)

CSS = """
:root { --ink:#1d2430; --muted:#5b6472; --line:#d9dee5; --zebra:#f5f7fa; --accent:#44618f; }
* { box-sizing: border-box; }
body { margin:0; color:var(--ink); background:#fff;
  font: 14px/1.45 "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 6px; padding-bottom: 4px; border-bottom: 2px solid var(--accent); }
h3 { font-size: 15px; margin: 18px 0 6px; }
p.sub, p.note { color: var(--muted); margin: 0 0 10px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr));
  gap: 10px; margin: 18px 0 6px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.card b { display: block; font-size: 22px; }
.card span { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left;
  vertical-align: top; overflow-wrap: break-word; word-break: normal; }
th { background: #eef2f7; font-weight: 600; }
td.long { overflow-wrap: anywhere; min-width: 6em; }
td.text { overflow-wrap: anywhere; min-width: 10em; }
th.num { white-space: normal; }
p.more { color: var(--muted); font-size: 12px; margin: -4px 0 10px; }
.notice { border-left: 4px solid #c77700; background: #fff6e5; padding: 6px 10px; margin: 8px 0; }
nav.toc { margin: 10px 0; font-size: 13px; } nav.toc a { color: var(--accent); margin-right: 12px;
  white-space: nowrap; text-decoration: none; }
.fix { margin: 10px 0 14px; } .fix h3 { margin-bottom: 4px; }
tbody tr:nth-child(even) { background: var(--zebra); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.key { white-space: nowrap; }
td.up { color: #b3261e; } td.down { color: #1e7b34; }
figure { margin: 8px 0 12px; } figure img { display: block; max-width: 100%; height: auto; }
pre { background: var(--zebra); border: 1px solid var(--line); border-radius: 4px;
  padding: 8px 10px; font-size: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }
code { font-size: 12px; }
.empty { color: var(--muted); font-style: italic; }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { font-size: 10pt; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table, figure, pre, .cards { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  table { font-size: 8.5pt; }
}
"""


KEY_COLUMNS = {"week", "week_start", "status", "first_seen", "last_seen", "cloud", "template_id",
               "repo", "team", "signal"}
LONG_COLUMNS = {"principal", "action", "resource", "actions", "resources", "template", "entries",
                "kb_id", "top_entry", "signal"}
TEXT_COLUMNS = {"title", "root_cause", "workaround"}
# Soft line breaks after the separators of ARNs, paths and ids, so a long token wraps at
# `:` or `/` (arn:aws:dynamodb:…:table/name) and never in the middle of a name.
BREAK_AFTER = re.compile(r"([/:,=&|])(?=[^\s])")


def _cell_class(column: str, value: object, numeric: bool) -> str:
    classes = ["num"] if numeric else ["key"] if column in KEY_COLUMNS else []
    classes += ["long"] if column in LONG_COLUMNS else ["text"] if column in TEXT_COLUMNS else []
    if column in ("change", "change_pct") and isinstance(value, (int, float)) and value == value:
        classes += ["up"] if value > 0 else ["down"] if value < 0 else []
    return f' class="{" ".join(classes)}"' if classes else ""


def short_week(label: str) -> str:
    """2024-W19 -> W19 in table headers (the page title and the chart carry the year)."""
    return label[5:] if len(label) == 8 and label[4:6] == "-W" else label


def breakable(text: str) -> str:
    """Escaped text with soft breaks (<wbr>) after ARN and path separators."""
    return BREAK_AFTER.sub(r"\1<wbr>", escape(text))


def html_table(name: str, frame: pd.DataFrame, limit: int = 0) -> str:
    if frame.empty:
        return '<p class="empty">None.</p>'
    total = len(frame)
    frame = frame.head(limit) if limit else frame
    cols = visible_columns(name, frame)
    numeric = {c: pd.api.types.is_numeric_dtype(frame[c]) for c in cols}
    head = "".join(f"<th{_cell_class(c, None, numeric[c])}>{escape(short_week(header(c)))}</th>"
                   for c in cols)
    body = []
    for row in frame[cols].itertuples(index=False):
        cells = "".join(f"<td{_cell_class(c, v, numeric[c])}>{breakable(fmt_cell(c, v))}</td>"
                        for c, v in zip(cols, row, strict=True))
        body.append(f"<tr>{cells}</tr>")
    more = more_rows(len(frame), total)
    return (f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            + (f'<p class="more">{_inline_md(more)}</p>' if more else ""))


def _inline_md(text: str) -> str:
    """The notes use `code` and **bold** only."""
    parts = escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else _bold(p) for i, p in enumerate(parts))


def _bold(text: str) -> str:
    parts = text.split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))


def _section(report: Report, name: str, heading: str, explanation: str,
             images: dict[str, str | None]) -> str:
    frame = report.tables[name]
    parts = [f'<section id="{name}"><h2>{escape(heading)}</h2>']
    text = note(report, name, explanation)
    if text:
        parts.append(f'<p class="note">{_inline_md(text)}</p>')
    if images.get(name):
        parts.append(f'<figure><img src="{images[name]}" alt="{escape(heading)} chart"></figure>')
    parts.append(html_table(name, frame, report.top))
    if name == "least_privilege":
        for row in frame.head(report.top).itertuples(index=False):
            parts.append(f"<h3><code>{breakable(row.principal)}</code> ({escape(row.cloud)})</h3>"
                         f"<pre>{escape(pretty_suggestion(row.suggestion))}</pre>")
    if name == "fix_first":
        for i, row in enumerate(frame.itertuples(index=False), start=1):
            parts.append(f'<div class="fix"><h3>{i}. {breakable(row.kb_id)} — '
                         f"{row.occurrences} in {escape(row.week)}</h3>"
                         f"<pre>{escape(row.fix)}</pre></div>")
    parts.append("</section>")
    return "\n".join(parts)


def render_html(report: Report) -> str:
    """The whole report as one self-contained HTML page."""
    title = f"tfpulse weekly report — {report.week_labels[-1]}"
    cards = "".join(f"<div class=\"card\"><b>{escape(v)}</b><span>{escape(k)}</span></div>"
                    for k, v in summary_rows(report))
    images = charts(report)
    sections = [_section(report, name, heading, explanation, images)
                for name, heading, explanation in SECTIONS]
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>",
        f"<header><h1>{escape(title)}</h1><p class=\"sub\">{escape(subtitle(report))}</p>",
        *(f'<p class="notice">{_inline_md(text)}</p>' for text in report.notices),
        '<nav class="toc">' + " ".join(f'<a href="#{anchor}">{escape(heading)}</a>'
                                       for anchor, heading in toc(report)) + "</nav></header>",
        f'<section id="summary" class="cards">{cards}</section>',
        *sections, "</main></body></html>", ""])

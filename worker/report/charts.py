"""Charts of the HTML report: matplotlib figures rendered to base64 PNG data URIs.

Figures are built with matplotlib.figure.Figure (no pyplot global state) and saved
without the Software metadata, so the same Report gives the same bytes.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable
from typing import Any

import matplotlib
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from worker.report.build import Report

CLASSIFIED = "#2f6fb0"
UNCLASSIFIED = "#e08a1e"
CONTENTION = "#6a4fa8"
LOCK_PERMISSION = "#c8403a"
STYLE: Any = {"font.family": "DejaVu Sans", "font.size": 9, "axes.spines.top": False,
         "axes.spines.right": False}
MAX_HEATMAP_ROWS = 12


def to_data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=144, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def weekly_chart(report: Report) -> str:
    """Stacked bars: classified and unclassified occurrences per week."""
    totals = report.tables["weekly_totals"]
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(10, 2.8), layout="constrained")
        ax = fig.add_subplot()
        x = range(len(totals))
        ax.bar(x, totals["classified"], color=CLASSIFIED, label="classified")
        ax.bar(x, totals["unclassified"], bottom=totals["classified"], color=UNCLASSIFIED,
               label="unclassified")
        for i, total in enumerate(totals["occurrences"]):
            ax.annotate(str(total), (i, total), ha="center", va="bottom",
                        xytext=(0, 2), textcoords="offset points")
        ax.set_xticks(list(x), tick_labels(totals["week"], totals["week_start"]))
        ax.set_ylabel("occurrences")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(0, max(1, int(totals["occurrences"].max())) * 1.18)
        ax.legend(frameon=False, loc="upper left", ncols=2)
        return to_data_uri(fig)


def heatmap_chart(report: Report) -> str | None:
    """KB entries (most frequent first) × weeks, counts written in the cells."""
    trend = report.tables["trend"].head(MAX_HEATMAP_ROWS)
    if trend.empty:
        return None
    labels = list(report.week_labels)
    values = trend[labels].to_numpy(dtype=float)
    mondays = report.tables["weekly_totals"]["week_start"]
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(10, 0.9 + 0.32 * len(trend)), layout="constrained")
        ax = fig.add_subplot()
        ax.imshow(values, cmap="YlOrRd", aspect="auto", vmin=0,
                          vmax=max(1.0, values.max()))
        peak = max(1.0, values.max())
        for (row, col), value in pd.DataFrame(values).stack().items():
            colour = "white" if value > peak * 0.6 else "black"
            ax.text(col, row, f"{int(value)}", ha="center", va="center", color=colour)
        ax.set_xticks(range(len(labels)), tick_labels(labels, mondays))
        ax.xaxis.tick_top()
        ax.set_yticks(range(len(trend)), [_short(k) for k in trend["kb_id"]])
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        return to_data_uri(fig)


def lock_chart(report: Report) -> str | None:
    """Horizontal stacked bars per repo: lock contention and lock permission errors."""
    locks = report.tables["state_locks"].head(MAX_HEATMAP_ROWS).iloc[::-1]
    if locks.empty:
        return None
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(10, 0.9 + 0.34 * len(locks)), layout="constrained")
        ax = fig.add_subplot()
        y = range(len(locks))
        ax.barh(y, locks["contention"], color=CONTENTION, label="contention")
        ax.barh(y, locks["permission"], left=locks["contention"], color=LOCK_PERMISSION,
                label="permission")
        ax.set_yticks(list(y), locks["repo"])
        ax.set_xlabel("occurrences")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(0, max(1, int(locks["total"].max())) * 1.1)
        ax.legend(frameon=False, loc="lower right")
        return to_data_uri(fig)


def tick_labels(weeks: Iterable[str], mondays: Iterable[str]) -> list[str]:
    """ "W19" over the Monday's month-day: short enough for 12+ weeks side by side."""
    return [f"{w.split('-')[-1]}\n{m[5:]}" for w, m in zip(weeks, mondays, strict=True)]


def _short(kb_id: str, width: int = 48) -> str:
    """An entry id that fits the chart's axis, cut after a `-` or `/`, never mid-word."""
    if len(kb_id) <= width:
        return kb_id
    cut = max(kb_id.rfind("-", 0, width - 1), kb_id.rfind("/", 0, width - 1))
    return kb_id[: cut if cut > 0 else width - 1] + "…"


def charts(report: Report) -> dict[str, str | None]:
    """Data URIs by section name (None when the section has nothing to draw)."""
    return {"weekly_totals": weekly_chart(report), "trend": heatmap_chart(report),
            "state_locks": lock_chart(report)}

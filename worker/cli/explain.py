"""Render matches for people (text) and for programs (JSON), as `tfpulse classify` prints."""

from __future__ import annotations

import textwrap
from typing import Any

import orjson

from worker.core.redact import redact
from worker.knowledge.entry import KnowledgeBase
from worker.model import Match

WIDTH = 100


def match_json(match: Match) -> dict[str, Any]:
    """The DESIGN.md shape: kb_id, tags, category, fields, line, text."""
    return {
        "kb_id": match.kb_id,
        "tags": list(match.tags),
        "category": match.category,
        "fields": {k: redact(v) for k, v in match.fields.items()},
        "line": match.block.line,
        "text": redact(match.block.text),
    }


def render_json(matches: list[Match]) -> str:
    return "".join(orjson.dumps(match_json(m)).decode() + "\n" for m in matches)


def render_text(matches: list[Match], kb: KnowledgeBase, lang: str = "en",
                source: str = "") -> str:
    if not matches:
        return f"No Terraform failures found{' in ' + source if source else ''}.\n"
    out = []
    for m in matches:
        out.append(_one(m, kb, lang, source))
    known = sum(1 for m in matches if m.kb_id)
    out.append(f"{len(matches)} failure(s): {known} known, {len(matches) - known} unclassified.\n")
    return "\n".join(out)


def _one(m: Match, kb: KnowledgeBase, lang: str, source: str) -> str:
    where = f"{source}:{m.block.line}" if source else f"line {m.block.line}"
    entry = kb.get(m.kb_id)
    lines = []
    if entry is None:
        lines.append(f"✖ {where}  UNCLASSIFIED (no KB entry matches)")
    else:
        lines.append(f"✖ {where}  {entry.id}  [{', '.join(entry.tags)}]")
    summary = redact(m.block.lines[0])
    lines.append("  " + textwrap.shorten(summary, WIDTH, placeholder=" …"))
    for key, value in sorted(m.fields.items()):
        lines.append(f"    {key:<11} {redact(value)}")
    if entry is None:
        lines.append("  Add an entry: see docs/kb-format.md; `tfpulse kb test` proves it.")
        return "\n".join(lines) + "\n"
    lines.append("  Root cause:")
    lines += _wrap(str(entry.text("root_cause", lang) or ""), "    ")
    lines.append("  Workarounds, best first:")
    zh = entry.data.get("workarounds_zh") if lang == "zh" else None
    for i, w in enumerate(entry.workarounds(), start=1):
        rate = _pct(w.get("success_rate"))
        action = str(w.get("action", ""))
        if zh:
            original = list(entry.data.get("workarounds") or [])
            pos = next((j for j, o in enumerate(original) if o is w), None)
            if pos is not None and pos < len(zh):
                action = str(zh[pos])
        lines += _wrap(f"{i}. [{rate} success] {action}", "    ", "       ")
    dead = entry.dead_ends()
    if dead:
        lines.append("  Dead ends, avoid:")
        for d in dead:
            lines += _wrap(f"- [{_pct(d.get('fail_rate'))} fail] {d.get('action', '')}: "
                           f"{d.get('why_fails', '')}", "    ", "      ")
    if m.also_matched:
        lines.append(f"  Also matched: {', '.join(m.also_matched)}")
    for url in entry.data.get("official_docs") or []:
        lines.append(f"  Docs: {url}")
    return "\n".join(lines) + "\n"


def _pct(value: Any) -> str:
    try:
        return f"{float(value) * 100:.0f}%"
    except (TypeError, ValueError):
        return "?"


def _wrap(text: str, first: str, rest: str | None = None) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=first,
                         subsequent_indent=rest if rest is not None else first) or [first]

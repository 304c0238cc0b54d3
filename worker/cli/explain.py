"""Render matches for people (text) and for programs (JSON), as `tfpulse classify` prints."""

from __future__ import annotations

import re
import textwrap
from typing import Any

import orjson

from worker.core.fill import Filled, fill
from worker.core.redact import redact
from worker.core.versions import JobVersions, entry_ranges, fixed_advice
from worker.knowledge.entry import Entry, KnowledgeBase
from worker.model import Match

WIDTH = 100
PLACEHOLDER = re.compile(r"<[^<>\n]{1,40}>")
NBSP = "\u00a0"  # textwrap breaks at ASCII whitespace only


def match_json(match: Match, kb: KnowledgeBase | None = None, source: str = "-",
               versions: JobVersions | None = None) -> dict[str, Any]:
    """The DESIGN.md shape (kb_id, tags, category, fields, line, text) plus the file and,
    for a known error, the entry's family, title, status (live or shadow), root cause,
    workarounds filled from the log (best first) and dead ends; the versions the job
    printed, and the advice the entry's `versions` ranges give for them ("fixed in 1.6:
    upgrade")."""
    doc: dict[str, Any] = {
        "kb_id": match.kb_id,
        "tags": list(match.tags),
        "category": match.category,
        "fields": {k: redact(v) for k, v in match.fields.items()},
        "line": match.block.line,
        "text": redact(match.block.text),
        "file": source,
    }
    entry = kb.get(match.kb_id) if kb is not None else None
    doc.update(family=entry.family if entry else None, title=entry.title if entry else None,
               status=entry.status if entry else None,
               root_cause=str(entry.text("root_cause") or "") if entry else None,
               workarounds=[], dead_ends=[])
    if entry is not None:
        for w in entry.workarounds():
            filled, how = _filled(str(w.get("action", "")), match), _how(w, match)
            doc["workarounds"].append({
                "action": filled.text, "how": how.text, "success_rate": w.get("success_rate"),
                "from_log": _both(filled.from_log, how.from_log),
                "missing": _both(filled.missing, how.missing)})
        doc["dead_ends"] = [{"action": d.get("action"), "why_fails": d.get("why_fails"),
                             "fail_rate": d.get("fail_rate")} for d in entry.dead_ends()]
    v = versions or JobVersions()
    doc["versions"] = {"tool": v.tool or None, "version": v.version or None,
                       "providers": dict(sorted(v.providers.items()))}
    doc["version_advice"] = advice(entry, v)
    return doc


def advice(entry: Entry | None, versions: JobVersions | None) -> str | None:
    """"fixed in 1.6: upgrade" when the job's version is older than the entry's fix."""
    if entry is None or versions is None:
        return None
    return fixed_advice(entry_ranges(entry.data.get("versions") or []), versions.tool,
                        versions.version)


def render_json(matches: list[Match], kb: KnowledgeBase | None = None, source: str = "-",
                versions: Any = None) -> str:
    """versions: a match's job -> the versions it printed (Pipeline.versions_of)."""
    get = versions or (lambda job: None)
    return "".join(orjson.dumps(match_json(m, kb, source, get(m.block.job))).decode() + "\n"
                   for m in matches)


def _filled(text: str, match: Match) -> Filled:
    """A workaround with the log's values in place of the KB's samples (redacted)."""
    filled = fill(text, match.fields)
    return Filled(redact(filled.text), filled.from_log, filled.missing)


def _how(workaround: Any, match: Match) -> Filled:
    """A workaround's `how` (the commands), filled like its action."""
    return _filled(str(workaround.get("how") or ""), match)


def _both(first: tuple[str, ...], second: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(first + second))


def render_text(matches: list[Match], kb: KnowledgeBase, lang: str = "en",
                source: str = "", versions: Any = None) -> str:
    if not matches:
        return f"No Terraform failures found{' in ' + source if source else ''}.\n"
    out = []
    get = versions or (lambda job: None)
    for m in matches:
        out.append(_one(m, kb, lang, source, get(m.block.job)))
    known = sum(1 for m in matches if m.kb_id)
    out.append(f"{len(matches)} failure(s): {known} known, {len(matches) - known} unclassified.\n")
    return "\n".join(out)


def _one(m: Match, kb: KnowledgeBase, lang: str, source: str,
         versions: JobVersions | None = None) -> str:
    where = f"{source}:{m.block.line}" if source else f"line {m.block.line}"
    entry = kb.get(m.kb_id)
    lines = []
    if entry is None:
        lines.append(f"✖ {where}  UNCLASSIFIED (no KB entry matches)")
    else:
        mark = "  (shadow: on trial, never alerts)" if entry.shadow else ""
        lines.append(f"✖ {where}  {entry.id}  [{', '.join(entry.tags)}]{mark}")
    summary = redact(m.block.lines[0])
    lines.append("  " + textwrap.shorten(summary, WIDTH, placeholder=" …"))
    for key, value in sorted(m.fields.items()):
        lines.append(f"    {key:<11} {redact(value)}")
    if entry is None:
        lines.append("  Add an entry: see docs/kb-format.md; `tfpulse kb test` proves it.")
        return "\n".join(lines) + "\n"
    if versions is not None and versions.version:
        tool = "OpenTofu" if versions.tool == "opentofu" else "Terraform"
        tip = advice(entry, versions)
        lines.append(f"  Version: {tool} {versions.version}" + (f" ({tip})" if tip else ""))
    lines.append("  Root cause:")
    lines += _wrap(str(entry.text("root_cause", lang) or ""), "    ")
    lines.append("  Workarounds, best first:")
    for i, w in enumerate(entry.workarounds(), start=1):
        filled, how = _filled(_action(entry, w, lang), m), _how(w, m)
        lines += _wrap(f"{i}. [{_pct(w.get('success_rate'))} success] {filled.text}",
                       "    ", "       ")
        if how.text and how.text != filled.text:
            lines += _how_lines(how.text)
        missing, from_log = _both(filled.missing, how.missing), _both(filled.from_log,
                                                                       how.from_log)
        if missing:
            lines += _wrap(f"(the log does not say {', '.join(missing)}: put yours in "
                           "before you paste this)", "       ")
        elif from_log:
            lines.append(f"       (filled from the log: {', '.join(from_log)})")
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


def _action(entry: Entry, workaround: Any, lang: str) -> str:
    """A workaround's action, in Chinese when asked for and the entry has it."""
    action = str(workaround.get("action", ""))
    zh = entry.data.get("workarounds_zh") if lang == "zh" else None
    if zh:
        original = list(entry.data.get("workarounds") or [])
        pos = next((j for j, o in enumerate(original) if o is workaround), None)
        if pos is not None and pos < len(zh):
            action = str(zh[pos])
    return action


def _how_lines(text: str) -> list[str]:
    """`How:` and the commands; a multi-line `how` is code, kept line for line."""
    if "\n" not in text.strip():
        return _wrap(f"How: {text.strip()}", "       ", "         ")
    return ["       How:"] + [f"         {line}".rstrip() for line in text.strip().splitlines()]


def _pct(value: Any) -> str:
    try:
        return f"{float(value) * 100:.0f}%"
    except (TypeError, ValueError):
        return "?"


def _wrap(text: str, first: str, rest: str | None = None) -> list[str]:
    """Wrapped lines; a `<placeholder with spaces>` and an ARN are never split."""
    text = PLACEHOLDER.sub(lambda m: m.group(0).replace(" ", NBSP), text)
    lines = textwrap.wrap(text, WIDTH, initial_indent=first, break_long_words=False,
                          break_on_hyphens=False,
                          subsequent_indent=rest if rest is not None else first) or [first]
    return [line.replace(NBSP, " ") for line in lines]

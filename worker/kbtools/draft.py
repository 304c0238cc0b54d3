"""`tfpulse kb draft`: draft KB entries from the store's most frequent unclassified templates.

Plain functions over plain data (the CLI reads the store and writes the files):

1. generalise: each template's commonest stored text becomes an RE2 pattern: its summary
   line is masked with the KB's masks (worker/data/masks.yaml, as the store's templates
   are) and every placeholder becomes the regex of what it replaced (PLACEHOLDERS);
2. merge: templates with the same pattern are one draft, and so is a template whose every
   stored text an earlier (more frequent) draft's pattern already matches; each merge
   says why;
3. propose: family, category, domain and tags from the entries nearest in wording (the
   family's fallback gives the tags), plus the tags the KB's field tag rules earn from
   what the pattern extracts; examples are stored texts (redacted when stored),
   counter-examples the nearest other unclassified templates the pattern does not match.

Drafts are `status: shadow` (docs/kb-format.md "Status"); gate.py decides which are
written.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import re2

from worker.core.template import mask
from worker.knowledge.entry import KnowledgeBase
from worker.knowledge.schema import PLATFORMS

DRAFT = "DRAFT:"  # marks text a person must still write; `kb promote` refuses it
VERIFICATION = "tfpulse-draft"
PRIORITY = 60  # ranks among shadow entries only: any live entry beats a draft
MAX_SUMMARY = 300
MAX_EXAMPLES = 3
MAX_COUNTERS = 2
MIN_OVERLAP = 0.1  # share of words in common below which an entry is no evidence of family

# What each mask's placeholder (masks.yaml `repl`) stands for, as RE2. The first ARN and
# the first parenthesized name become the `resource` field.
PLACEHOLDERS: dict[str, tuple[str, str | None]] = {
    "<arn>": (r"""arn:aws[a-z-]*:[^\s,"']+""", "resource"),
    "<url>": (r"""https?://[^\s"']+""", None),
    "<uuid>": (r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
               None),
    "<id>": (r"[A-Za-z0-9-]{8,}", None),
    "<account>": (r"\d{12}", None),
    "<ip>": (r"\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?", None),
    "<hex>": (r"[0-9a-f]{16,}", None),
    '"<str>"': (r'"[^"\n]+"', None),
    "'<str>'": (r"'[^'\n]+'", None),
    "(<name>)": (r"\((?P<resource>[\w.:/@-]+)\)", "resource"),
    "<path>": (r"(?:\.{0,2}/)?(?:[\w.-]+/){2,}[\w.-]+", None),
    "<n>": (r"\d+(?:\.\d+)*", None),
}
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in
                                   sorted(PLACEHOLDERS, key=len, reverse=True)))
_RE2_SPECIAL = re.compile(r"([\\.^$|?*+()\[\]{}])")
_WORD = re.compile(r"[a-z][a-z0-9]+")
_STOP = frozenset({"error", "the", "for", "and", "with", "from", "that", "this", "was", "has",
                   "not", "str", "name", "arn", "url", "uuid", "account", "hex", "path"})


@dataclass(frozen=True)
class Template:
    """One unclassified template as stored, with the texts of its occurrences."""

    template_id: str
    template: str
    occurrences: int
    texts: tuple[str, ...]  # distinct stored (redacted, normalized) texts, commonest first
    first_seen: str = ""  # YYYY-MM-DD


@dataclass
class Draft:
    """A proposed entry: its YAML mapping, where it came from and why it looks so."""

    kb_id: str
    data: dict[str, Any]
    templates: list[Template]
    merges: list[str] = field(default_factory=list)  # one line per template merged in
    why: list[str] = field(default_factory=list)  # how family and tags were proposed

    @property
    def occurrences(self) -> int:
        return sum(t.occurrences for t in self.templates)


def summary_of(text: str) -> tuple[str, ...]:
    """The block's summary as template.template_of takes it: the first line, and the next
    non-empty one when the first says little (under 40 characters)."""
    lines = text.split("\n")
    first = lines[0].strip()
    if len(first) < 40:
        more = next((ln.strip() for ln in lines[1:] if ln.strip()), "")
        if more:
            return first, more
    return (first,)


def generalise(text: str, masks: Any) -> tuple[str, bool]:
    """(RE2 pattern, multiline) for a stored text: its masked summary, placeholders opened."""
    parts: list[str] = []
    used: set[str] = set()
    for line in summary_of(text):
        masked = mask(line, masks)
        if len(masked) > MAX_SUMMARY:  # a prefix is as specific; cut between words
            masked = masked[:MAX_SUMMARY].rsplit(" ", 1)[0]
        parts.append(_open(masked, used))
    return r"\n+".join(parts), len(parts) > 1


def _open(masked: str, used: set[str]) -> str:
    out, at = [], 0
    for found in _PLACEHOLDER.finditer(masked):
        out.append(_RE2_SPECIAL.sub(r"\\\1", masked[at:found.start()]))
        regex, group = PLACEHOLDERS[found.group()]
        if group and group in used:
            regex = regex.replace(f"?P<{group}>", "?:")
        elif group:
            if "?P<" not in regex:
                regex = f"(?P<{group}>{regex})"
            used.add(group)
        out.append(regex)
        at = found.end()
    out.append(_RE2_SPECIAL.sub(r"\\\1", masked[at:]))
    return "".join(out)


def search_text(text: str) -> str:
    """A stored or example text as patterns see it: frame characters gone, lines stripped."""
    lines = (re.sub(r"^\s*[╷│╵]\s?", "", ln).strip() for ln in text.split("\n"))
    return "\n".join(lines)


def group_templates(templates: Sequence[Template], masks: Any
                    ) -> list[tuple[str, bool, list[Template], list[str]]]:
    """(pattern, multiline, templates, merge reasons) per draft, commonest first."""
    groups: dict[str, tuple[bool, list[Template], list[str]]] = {}
    for t in sorted(templates, key=lambda t: (-t.occurrences, t.template_id)):
        pattern, multiline = generalise(t.texts[0] if t.texts else t.template, masks)
        if pattern in groups:
            first = groups[pattern][1][0]
            groups[pattern][1].append(t)
            groups[pattern][2].append(f"{t.template_id} merged into {first.template_id}: the "
                                      "same pattern once ids, ARNs, paths, numbers and quoted "
                                      "names are masked")
            continue
        groups[pattern] = (multiline, [t], [])
    merged: list[tuple[str, bool, list[Template], list[str]]] = []
    for pattern, (multiline, members, reasons) in sorted(
            groups.items(), key=lambda g: -sum(t.occurrences for t in g[1][1])):
        texts = [search_text(x) for t in members for x in (t.texts or (t.template,))]
        home = next((g for g in merged if all(re2.search(g[0], x) for x in texts)), None)
        if home is None:
            merged.append((pattern, multiline, list(members), list(reasons)))
            continue
        home[2].extend(members)
        home[3].extend(reasons + [f"{t.template_id} merged into {home[2][0].template_id}: its "
                                  "pattern already matches every stored text of this template"
                                  for t in members])
    return merged


def propose(texts: Sequence[str], kb: KnowledgeBase, fields: dict[str, str]
            ) -> tuple[dict[str, Any], list[str]]:
    """family, category, domain and tags for the draft, and why: the entries whose
    signature shares most words with the draft's summary vote (weighted by overlap)."""
    words = _words(" ".join(summary_of(texts[0])))
    scored = sorted(((len(words & w) / len(words | w), e) for e in kb
                     if not e.fallback and (w := _words(e.title + " " + e.id))),
                    key=lambda s: -s[0])
    near = [(score, e) for score, e in scored[:5] if score >= MIN_OVERLAP]
    votes: dict[str, float] = {}
    for score, e in near:
        votes[e.family or ""] = votes.get(e.family or "", 0.0) + score
    family = max(votes, key=lambda f: votes[f]) if votes else ""
    kin = [e for _, e in near if (e.family or "") == family]
    model = next((e for e in kb if e.fallback and e.family == family), None) if family else None
    model = model or (kin[0] if kin else None)  # the family's fallback has the family's tags
    tags = list(model.tags) if model else ["provider"]
    domain = kin[0].id.split("/")[0] if kin else "terraform"
    if domain in PLATFORMS and domain not in tags:
        tags.append(domain)
    earned = []
    for rule in kb.tag_rules:
        value = fields.get(rule.field or "")
        if rule.regex and value and rule.family in (None, family) and re2.search(rule.regex, value):
            earned += [t for t in rule.tags if t not in tags]
            tags += [t for t in rule.tags if t not in tags]
    why = [f"family {family or '(none)'}: nearest entries "
           + (", ".join(f"{e.id} ({score:.2f})" for score, e in near)
              or f"none shares {MIN_OVERLAP:.0%} of its words: a person picks the family")]
    if earned:
        why.append(f"tags {', '.join(earned)} earned by the KB's tag rules from {fields}")
    return {"family": family or None, "category": kin[0].category if kin else "provider_error",
            "domain": domain, "tags": tags}, why


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def slug_of(text: str, taken: set[str], domain: str) -> str:
    words = [w for w in re.findall(r"[a-z0-9]+", _PLACEHOLDER.sub(" ", text).lower())
             if w != "error"][:8]
    base = f"{domain}/{'-'.join(words) or 'unclassified'}"
    kb_id, n = base, 2
    while kb_id in taken:
        kb_id, n = f"{base}-{n}", n + 1
    return kb_id


def framed(text: str) -> str:
    """The text as Terraform ≥ 0.15 frames a diagnostic."""
    return "\n".join(["╷", *(("│ " + ln).rstrip() for ln in text.split("\n")), "╵"])


def counter_examples(regexes: Sequence[str], summary: str, others: Sequence[Template],
                     kb: KnowledgeBase) -> list[dict[str, str]]:
    """The nearest unclassified templates the draft must not match; when there are none,
    the nearest example of another entry (both are real near misses)."""
    def misses(text: str) -> bool:
        return not any(re2.search(r, search_text(text)) for r in regexes)

    def near(text: str) -> float:
        return difflib.SequenceMatcher(None, summary, text.split("\n")[0]).ratio()

    pool = [(t.texts[0], f"unclassified template {t.template_id} in the store")
            for t in others if t.texts and misses(t.texts[0])]
    found = sorted(pool, key=lambda p: -near(p[0]))[:MAX_COUNTERS]
    if not found:
        pool = [(e.examples[0].text, f"an example of {e.id}") for e in kb
                if e.examples and misses(e.examples[0].text)]
        found = sorted(pool, key=lambda p: -near(p[0]))[:1]
    return [{"text": text, "source": source} for text, source in found]


def build_drafts(templates: Sequence[Template], kb: KnowledgeBase, top: int) -> list[Draft]:
    """At most `top` drafts from the commonest templates (every template read can merge)."""
    taken = set(kb.entries)
    drafts = []
    for pattern, multiline, members, merges in group_templates(templates, kb.masks)[:top]:
        texts = list(dict.fromkeys(x for t in members for x in t.texts)) or [members[0].template]
        found = re2.search(pattern, search_text(texts[0]))
        fields = {k: v for k, v in (found.groupdict() if found else {}).items() if v}
        proposal, why = propose(texts, kb, fields)
        signature = mask(" ".join(summary_of(texts[0])), kb.masks)[:MAX_SUMMARY]
        kb_id = slug_of(signature, taken, proposal["domain"])
        taken.add(kb_id)
        examples = texts[:MAX_EXAMPLES] if len(texts) > 1 else [texts[0], framed(texts[0])]
        others = [t for t in templates if t not in members]
        total = sum(t.occurrences for t in members)
        data = entry_data(kb_id, signature, (pattern, multiline), examples, fields, proposal,
                          total, min((t.first_seen for t in members if t.first_seen), default=""))
        data["counter_examples"] = counter_examples(
            [pattern], texts[0].split("\n")[0], others, kb)
        drafts.append(Draft(kb_id, data, list(members), merges, why))
    return drafts


def entry_data(kb_id: str, signature: str, pattern: tuple[str, bool], examples: Sequence[str],
               fields: dict[str, str], proposal: dict[str, Any], occurrences: int,
               first_seen: str) -> dict[str, Any]:
    """The draft's YAML mapping: what the store showed, and DRAFT: where a person writes."""
    data: dict[str, Any] = {
        "id": kb_id, "signature": signature, "domain": proposal["domain"],
        "category": proposal["category"],
        "root_cause": f"{DRAFT} unknown. Drafted by `tfpulse kb draft` from {occurrences} "
                      "occurrence(s) of an unclassified error; write what causes it.",
        "dead_ends": [{"action": f"{DRAFT} a fix tried that does not work",
                       "why_fails": f"{DRAFT} replace with a dead end seen in practice",
                       "fail_rate": 0.5}],
        "workarounds": [{"action": f"{DRAFT} what fixes it", "success_rate": 0.5,
                         "how": f"{DRAFT} the steps"}],
        "evidence_count": occurrences, "verification": VERIFICATION,
    }
    if first_seen:
        data["first_seen"] = first_seen
    if proposal["family"]:
        data["family"] = proposal["family"]
    pattern_item: dict[str, Any] = {"regex": pattern[0]}
    if pattern[1]:
        pattern_item["multiline"] = True
    data.update(status="shadow", tags=proposal["tags"], priority=PRIORITY,
                patterns=[pattern_item],
                examples=[{"text": x, **({"fields": dict(fields)} if fields and i == 0 else {}),
                           "source": "tfpulse store (redacted)"} for i, x in enumerate(examples)])
    return data

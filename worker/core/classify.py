"""Classify a Terraform diagnostic block against the knowledge base.

All patterns of all entries are compiled once into one multi-pattern set (see engine.py);
a block costs one scan, then RE2 extracts the named groups of the entries that hit.
When several entries match, the highest `priority` wins, then the longest matching
pattern (the more specific signature); the others are kept in `also_matched`. A shadow
entry (status: shadow) ranks below every live entry whatever its priority: it classifies
a block only when no live entry matches, and otherwise is only listed in `also_matched`.
The KB's tag rules then add tags earned from the extracted fields or from the other
entries that matched (an access denial on a lock table is a state-lock error too); a
shadow entry earns a live match no tag, so it can never make a live failure alert.
"""

from __future__ import annotations

from dataclasses import dataclass

import re2

from worker.core import matcher
from worker.knowledge.entry import Entry, KnowledgeBase
from worker.model import Block, Match


@dataclass(frozen=True, slots=True)
class _Compiled:
    entry: Entry
    regex: re2._Regexp
    length: int


class Classifier:
    """Compiled once per KB; `classify` is the per-block hot path."""

    def __init__(self, kb: KnowledgeBase, engine_name: str = "auto"):
        self.kb = kb
        self._patterns: list[_Compiled] = []
        for entry in kb.entries.values():
            for pattern in entry.patterns:
                self._patterns.append(_Compiled(entry, re2.compile(pattern.regex),
                                                len(pattern.regex)))
        self._set = matcher.build([p.regex.pattern for p in self._patterns], engine_name)
        self.engine_name = self._set.name
        self._rules = [(rule, re2.compile(rule.regex) if rule.regex else None)
                       for rule in kb.tag_rules]

    def candidates(self, text: str) -> list[Entry]:
        """Entries with at least one pattern matching text, best first."""
        hits = self._hits(text)
        return [entry for entry, _ in hits]

    def classify(self, block: Block) -> Match | None:
        """The block's Match; None for a block that is not a Terraform error at all.

        A block that starts like a Terraform diagnostic (`block.certain`) is returned as
        unclassified (kb_id None) when no entry matches; a block opened on a weaker hint
        is dropped then, since it is most likely ordinary output.
        """
        text = block.text
        hits = self._hits(text)
        if not hits:
            return Match(block, None) if block.certain else None
        (best, fields), rest = hits[0], hits[1:]
        judges = rest if best.shadow else [hit for hit in rest if not hit[0].shadow]
        return Match(
            block=block,
            kb_id=best.id,
            category=best.category,
            tags=self._tags(best, fields, judges),
            fields=fields,
            also_matched=tuple(e.id for e, _ in rest),
        )

    def _tags(self, best: Entry, fields: dict[str, str],
              rest: list[tuple[Entry, dict[str, str]]]) -> tuple[str, ...]:
        """The entry's tags plus those its tag rules earn, in rule order."""
        tags = list(best.tags)
        for rule, regex in self._rules:
            if rule.family is not None and rule.family != best.family:
                continue
            if regex is not None:
                value = fields.get(rule.field or "")
                earned = value is not None and regex.search(value) is not None
            else:  # another family's failure shows in the block too; within one family the
                # specific entry's own tags are the judgement (its fallback may be broader)
                earned = best.family != rule.also and any(e.family == rule.also for e, _ in rest)
            if earned:
                tags += [t for t in rule.tags if t not in tags]
        return tuple(tags)

    def _hits(self, text: str) -> list[tuple[Entry, dict[str, str]]]:
        ids = self._set.candidates(text)  # each is confirmed by its own search below
        if not ids:
            return []
        by_entry: dict[str, tuple[Entry, int, dict[str, str]]] = {}
        for pid in sorted(ids):
            compiled = self._patterns[pid]
            found = compiled.regex.search(text)
            if found is None:
                continue
            entry = compiled.entry
            prev = by_entry.get(entry.id)
            fields = prev[2] if prev else {}
            for name, value in found.groupdict().items():
                if value and name not in fields:
                    fields[name] = value.strip()
            length = max(compiled.length, prev[1] if prev else 0)
            by_entry[entry.id] = (entry, length, fields)
        ranked = sorted(by_entry.values(),
                        key=lambda t: (t[0].shadow, -t[0].priority, -t[1], t[0].id))
        return [(entry, fields) for entry, _, fields in ranked]

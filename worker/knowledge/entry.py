"""The knowledge base as plain data: entries, their patterns, examples and dead ends.

Built by loader.py from kb/**/*.yaml; read by the core (classify, the pipeline), the
tools (kbtools) and the reports. No I/O here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from worker.knowledge.tagrules import TagRule

DEFAULT_PRIORITY = 50


class KbError(Exception):
    """The KB did not load. `problems` lists 'file:line: field: message' strings."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True, slots=True)
class Pattern:
    regex: str
    multiline: bool = False


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    fields: Mapping[str, str]
    source: str | None
    line: int


@dataclass(frozen=True, slots=True)
class DeadEndSignal:
    regex: str
    dead_end: int
    action: str


@dataclass(frozen=True)
class Entry:
    """One known error. `data` keeps the whole YAML mapping for export and display."""

    id: str
    path: Path
    category: str
    tags: tuple[str, ...]
    priority: int
    patterns: tuple[Pattern, ...]
    examples: tuple[Example, ...]
    counter_examples: tuple[Example, ...]
    dead_end_signals: tuple[DeadEndSignal, ...]
    data: Mapping[str, Any]
    family: str | None = None
    fallback: bool = False  # the family's generic entry: catches what no specific entry does
    status: str = "live"  # "shadow": matched and reported, never alerts, never beats a live entry

    @property
    def shadow(self) -> bool:
        return self.status == "shadow"

    @property
    def title(self) -> str:
        return str(self.data.get("signature", self.id)).splitlines()[0][:200]

    def text(self, field: str, lang: str = "en") -> Any:
        """A field in the wanted language, falling back to English."""
        if lang != "en":
            value = self.data.get(f"{field}_{lang}")
            if value:
                return value
        return self.data.get(field)

    def workarounds(self) -> list[Mapping[str, Any]]:
        items = list(self.data.get("workarounds") or [])
        return sorted(items, key=lambda w: -float(w.get("success_rate") or 0))

    def dead_ends(self) -> list[Mapping[str, Any]]:
        items = list(self.data.get("dead_ends") or [])
        return sorted(items, key=lambda d: -float(d.get("fail_rate") or 0))

    def has_tag(self, tag: str) -> bool:
        return tag in self.tags


@dataclass(frozen=True)
class KnowledgeBase:
    entries: Mapping[str, Entry]
    root: Path
    version: str  # digest of the files' content: changes whenever the KB does
    # How unclassified errors are templated (worker/data/masks.yaml): regex, replacement.
    masks: tuple[tuple[re.Pattern[str], str], ...] = ()
    tag_rules: tuple[TagRule, ...] = ()  # kb/_tag-rules.yaml

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries.values())

    def get(self, kb_id: str | None) -> Entry | None:
        return self.entries.get(kb_id) if kb_id else None

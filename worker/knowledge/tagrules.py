"""Tag rules: tags a match earns from what was extracted, not only from its entry.

An access denial on a lock table is a state-lock error as well as a permission error,
whichever entry classified it. The rules are data (kb/_tag-rules.yaml, see
docs/kb-format.md "Tag rules"); this module checks them. classify.py applies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import re2

from worker.knowledge.schema import FAMILIES, TAGS

RULES_FILE = "_tag-rules.yaml"
_KEYS = {"tags", "family", "field", "regex", "also", "why"}


@dataclass(frozen=True, slots=True)
class TagRule:
    """When a match is of `family` (any when None) and its `field` matches `regex`, or the
    block also matches an entry of the family `also`, the match gets `tags`."""

    tags: tuple[str, ...]
    family: str | None = None
    field: str | None = None
    regex: str | None = None
    also: str | None = None
    line: int = 0


def check_rule(item: Any) -> list[tuple[str, str]]:
    """Problems of one parsed rule as (field, message); empty when it is valid."""
    if not isinstance(item, dict):
        return [("(rule)", "must be a mapping {tags, family?, field?, regex?, also?, why?}")]
    errs = [(str(k), f"unknown key; allowed: {sorted(_KEYS)}") for k in item if k not in _KEYS]
    tags = item.get("tags")
    if not isinstance(tags, list) or not tags:
        errs.append(("tags", "a list of at least one tag is required"))
    else:
        errs += [("tags", f"{t!r} is not in the vocabulary {sorted(TAGS)}")
                 for t in tags if t not in TAGS]
    for key in ("family", "also"):
        if item.get(key) is not None and item[key] not in FAMILIES:
            errs.append((key, f"unknown family; one of {list(FAMILIES)}"))
    has_field, has_regex = item.get("field") is not None, item.get("regex") is not None
    if has_field != has_regex:
        errs.append(("regex" if has_field else "field", "field and regex go together"))
    if not has_field and item.get("also") is None:
        errs.append(("(rule)", "needs a condition: field + regex, or also"))
    if has_regex:
        try:
            if re2.compile(str(item["regex"])).search("") is not None:
                errs.append(("regex", "matches the empty string: it would match every value"))
        except re2.error as exc:
            errs.append(("regex", f"does not compile in RE2 ({exc})"))
    return errs


def build_rule(item: dict[str, Any], line: int) -> TagRule:
    return TagRule(tuple(item["tags"]), item.get("family"), item.get("field"),
                   item.get("regex"), item.get("also"), line)

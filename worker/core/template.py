"""Mask the variable parts of an unclassified error so that recurrences group together.

The masks are data (worker/data/masks.yaml): ARNs, account ids, request ids, lock ids,
quoted names, paths and numbers become placeholders. A template groups the same
unknown failure across repos and runs, which is what a person mining new KB entries
needs to see first.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import yaml

from worker import DATA_DIR

MASKS_FILE = DATA_DIR / "masks.yaml"
MAX_TEMPLATE = 300


@lru_cache(maxsize=1)
def _masks() -> tuple[tuple[re.Pattern[str], str], ...]:
    rules = yaml.safe_load(MASKS_FILE.read_text())
    return tuple((re.compile(r["regex"]), r["repl"]) for r in rules)


def mask(text: str) -> str:
    for pattern, repl in _masks():
        text = pattern.sub(repl, text)
    return text


def template_of(lines: tuple[str, ...]) -> tuple[str, str]:
    """(template, template_id) of a block: its masked summary line(s)."""
    summary = lines[0]
    if len(summary) < 40 and len(lines) > 1:  # "Error: Error loading state" says little
        summary = summary + " " + next((ln for ln in lines[1:] if ln), "")
    template = mask(summary[:2000])[:MAX_TEMPLATE]
    return template, hashlib.sha1(template.encode()).hexdigest()[:16]

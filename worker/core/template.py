"""Mask the variable parts of an unclassified error so that recurrences group together.

The masks are data (worker/data/masks.yaml, loaded with the KB): ARNs, account ids,
request ids, lock ids, quoted names, paths and numbers become placeholders. A template
groups the same unknown failure across repos and runs, which is what a person mining
new KB entries needs to see first.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

MAX_TEMPLATE = 300
Masks = Sequence[tuple[re.Pattern[str], str]]  # (regex, replacement), applied in order


def mask(text: str, masks: Masks) -> str:
    for pattern, repl in masks:
        text = pattern.sub(repl, text)
    return text


def template_of(lines: tuple[str, ...], masks: Masks) -> tuple[str, str]:
    """(template, template_id) of a block: its masked summary line(s)."""
    summary = lines[0]
    if len(summary) < 40 and len(lines) > 1:  # "Error: Error loading state" says little
        summary = summary + " " + next((ln for ln in lines[1:] if ln), "")
    template = mask(summary[:2000], masks)[:MAX_TEMPLATE]
    return template, hashlib.sha1(template.encode()).hexdigest()[:16]

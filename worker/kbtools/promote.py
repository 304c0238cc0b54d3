"""`tfpulse kb promote`: a shadow entry made live by editing its status line in place, and
the check that a draft's DRAFT: text was written first (plain functions over text)."""

from __future__ import annotations

import re

from worker.kbtools.draft import DRAFT
from worker.knowledge.entry import Entry


def draft_placeholders(entry: Entry) -> list[str]:
    """The fields of an entry that still hold the draft's DRAFT: text."""
    data = entry.data
    found = ["root_cause"] if str(data.get("root_cause", "")).startswith(DRAFT) else []
    for key in ("dead_ends", "workarounds"):
        for i, item in enumerate(data.get(key) or []):
            found += [f"{key}[{i}].{k}" for k, v in item.items()
                      if isinstance(v, str) and v.startswith(DRAFT)]
    return found


_STATUS_LINE = re.compile(r"^status:[ \t]*(?P<value>[\w-]+)[ \t]*(?P<rest>#.*)?$", re.M)


def promoted_text(text: str) -> str:
    """The entry file's text with its top-level `status: shadow` line made `status: live`;
    everything else (comments, order, quoting) is left as it is. ValueError says why not."""
    found = list(_STATUS_LINE.finditer(text))
    if len(found) != 1 or found[0].group("value") != "shadow":
        raise ValueError("the file has no single top-level `status: shadow` line to edit "
                         "(write `status: live` by hand)")
    line = found[0]
    rest = f" {line.group('rest')}" if line.group("rest") else ""
    return text[:line.start()] + "status: live" + rest + text[line.end():]

"""Small KB entries written for a test, in one YAML layout: an entry's `status` line, when
given, is its line 11 (tests/test_shadow.py names it in a lint message).

    write_entries(tmp_path, [{"id": "policy/x", "sig": "X", "regex": "XYZ", "priority": 20}])

Each dict needs id, sig and regex; family (default null), tags (default `permission`),
priority (default 50) and status are optional.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ENTRY = """\
id: {id}
signature: "Error: {sig}"
domain: {domain}
category: auth_error
root_cause: test
dead_ends: [{{action: a, why_fails: b, fail_rate: 0.5}}]
workarounds: [{{action: a, success_rate: 0.5}}]
family: {family}
tags: [{tags}]
priority: {priority}
{status}patterns:
  - regex: '{regex}'
examples:
  - text: "Error: {sig}"
  - text: "Error: {sig}"
counter_examples:
  - text: "Error: nothing"
"""


def write_entries(root: Path, entries: list[dict[str, Any]]) -> Path:
    """One file per entry under root (path = id + .yaml); returns root."""
    for e in entries:
        path = root / (e["id"] + ".yaml")
        path.parent.mkdir(parents=True, exist_ok=True)
        status = f"status: {e['status']}  # on trial\n" if "status" in e else ""
        values = {"family": "null", "tags": "permission", "priority": 50, **e}
        values.update(domain=e["id"].split("/")[0], status=status)
        path.write_text(ENTRY.format(**values))
    return root

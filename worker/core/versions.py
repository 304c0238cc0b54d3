"""Terraform / OpenTofu and provider versions from a job's own output; version ranges. Pure.

A job says which versions it ran with: `terraform version` prints `Terraform v1.5.7`
(OpenTofu: `OpenTofu v1.8.2`), and `terraform init` prints `- Installed hashicorp/aws
v5.31.0 (signed by HashiCorp)` or `- Using previously-installed hashicorp/aws v5.31.0`.
The pipeline's prefilter flags such lines (`TRIGGER`, added to its one engine scan) and
`JobVersions.see` keeps the first value of each per job; the job's outcome carries them
into the store. KB entries' `versions` ranges (docs/kb-format.md) are read here too, to
say that an error is fixed in a later version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import re2

# What every version line contains: the prefilter's pattern (RE2/Hyperscan syntax).
TRIGGER = (r"(?:Terraform|OpenTofu) v\d"
           r"|- (?:Installed|Using previously-installed) [\w.-]+/[\w.-]+ v\d")
_SEMVER = r"(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)"
# The line must be the version line itself, after a CI prefix (a GitHub Actions time
# stamp, ANSI colours, punctuation): an error that says "created by Terraform v0.13.0,
# which is newer" names another version than the job's.
_PREFIX = r"^(?:\d{4}-\d\d-\d\dT\S+\s+)?(?:\x1b\[[0-9;]*[A-Za-z]|[^A-Za-z])*"
_ANSI_END = r"(?:\x1b\[[0-9;]*[A-Za-z])*\s*$"
_TOOL = re2.compile(_PREFIX + r"(Terraform|OpenTofu) v" + _SEMVER + _ANSI_END)
_PROVIDER = re2.compile(_PREFIX + r"- (?:Installed|Using previously-installed) "
                        r"((?:[\w.-]+/)?[\w.-]+/[\w.-]+) v" + _SEMVER)


@dataclass(slots=True)
class JobVersions:
    """The versions one job printed so far: the first of each."""

    tool: str = ""  # "terraform" or "opentofu"
    version: str = ""
    providers: dict[str, str] = field(default_factory=dict)  # "hashicorp/aws" -> "5.31.0"

    def see(self, line: str) -> None:
        """Keep the versions a line names (a line that names none costs two searches)."""
        if not self.version:
            m = _TOOL.search(line)
            if m:
                self.tool, self.version = m.group(1).lower(), m.group(2)
        m = _PROVIDER.search(line)
        if m:
            self.providers.setdefault(short_provider(m.group(1)), m.group(2))

    @property
    def providers_text(self) -> str:
        """As stored: `hashicorp/aws=5.31.0,hashicorp/random=3.6.3`, sorted."""
        return ",".join(f"{k}={v}" for k, v in sorted(self.providers.items()))


def short_provider(address: str) -> str:
    """registry.terraform.io/hashicorp/aws -> hashicorp/aws (the registry host dropped)."""
    parts = address.split("/")
    return "/".join(parts[-2:])


def parse_providers(text: str) -> dict[str, str]:
    """The stored `providers` text back into a mapping."""
    return dict(p.split("=", 1) for p in text.split(",") if "=" in p)


def version_key(version: str) -> tuple[int, ...]:
    """1.9.8 -> (1, 9, 8); a pre-release sorts with its release (good enough to compare)."""
    return tuple(int(x) for x in re.findall(r"\d+", version.split("-")[0])[:3])


# -- KB version ranges ---------------------------------------------------------------------

_RANGE_PART = re.compile(r"(>=|<=|<|>|=|~>)?\s*v?(\d+(?:\.\d+){0,2})")
_TOOL_NAMES = {"terraform": "terraform", "opentofu": "opentofu", "tofu": "opentofu"}


@dataclass(frozen=True, slots=True)
class Range:
    """One `versions` item of an entry: what it affects, and where it is fixed."""

    subject: str  # "terraform", "opentofu", a provider ("aws"), or "" when not said
    lower: str = ""  # affected from this version on ("" = any)
    upper: str = ""  # affected below this version (a range's end, not a fix)
    fixed_in: str = ""  # first version without the error: the item's `removed`


def entry_ranges(items: Iterable[Mapping[str, Any]]) -> list[Range]:
    """An entry's `versions` list (ErrorCanon's `{version, introduced, removed, …}`) as
    ranges: `version: "terraform >=1.5,<2.0"` affects 1.5 up to 2.0; `introduced` is
    where it starts, `removed` the first version that no longer has it (fixed in)."""
    out = []
    for item in items:
        text = str(item.get("version") or "").strip()
        name = text.split()[0] if text and text[0].isalpha() and text[0] != "v" else ""
        subject = _TOOL_NAMES.get(name.lower(), name.lower())
        lower = upper = ""
        for op, ver in _RANGE_PART.findall(text[len(name):]):
            if op in (">=", ">", "=", "~>", ""):
                lower = lower or ver
            elif op in ("<", "<="):
                upper = ver
        lower = str(item.get("introduced") or lower or "")
        out.append(Range(subject, lower, upper, str(item.get("removed") or "")))
    return out


def fixed_advice(ranges: Iterable[Range], tool: str, version: str) -> str | None:
    """'fixed in 1.6: upgrade' when the job's Terraform/OpenTofu version is older than a
    range's fix; None when nothing is known or the job is already past it."""
    if not version:
        return None
    for r in ranges:
        if r.fixed_in and r.subject in ("", tool) and version_key(version) < version_key(
                r.fixed_in):
            return f"fixed in {r.fixed_in}: upgrade"
    return None

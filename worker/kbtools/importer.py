"""`tfpulse kb import` without the printing: plan what to write, write it, check the result.

plan_import reads, converts (worker/kbtools/canon.py) and validates every canon and decides
which entry files to write; write_plan writes them as YAML; check_written counts how many of
the written entries pass `kb lint` and `kb test`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from worker.kbtools import canon as kb_canon
from worker.kbtools.lint import lint
from worker.kbtools.test import test


@dataclass
class ImportPlan:
    read: int = 0
    writes: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)
    refused: list[kb_canon.CanonError] = field(default_factory=list)
    existing: list[Path] = field(default_factory=list)


def canon_files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        out.extend(sorted(p.rglob("*.json")) if p.is_dir() else [p])
    return out


def plan_import(paths: Iterable[Path], into: Path, overwrite: bool = False) -> ImportPlan:
    """Read, convert and validate every canon; decide what to write (nothing is written)."""
    plan = ImportPlan()
    done: list[kb_canon.Converted] = []
    for file in canon_files(paths):
        plan.read += 1
        try:
            done.append(kb_canon.convert(file, _read_json(file)))
        except kb_canon.CanonError as exc:
            plan.refused.append(exc)
    pool = [(c.data["id"], c.data.get("signature")) for c in done]
    seen: dict[str, Path] = {}
    for conv in done:
        if kb_canon.EXT not in conv.sources:
            kb_canon.add_starting_point(conv, pool)
        try:
            kb_canon.validate(conv, seen)
        except kb_canon.CanonError as exc:
            plan.refused.append(exc)
            continue
        target = into / f"{conv.data['id']}.yaml"
        if target.exists() and not overwrite:
            plan.existing.append(target)
        else:
            plan.writes.append((target, conv.data))
    return plan


def _read_json(file: Path) -> Any:
    if not file.is_file():
        raise kb_canon.CanonError(file, "$", "no such file")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise kb_canon.CanonError(file, "$", f"not valid JSON ({exc})") from None


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(data: Mapping[str, Any]) -> str:
    order = {k: i for i, k in enumerate(kb_canon.CANON_FIELDS + kb_canon.TFPULSE_FIELDS)}
    ordered = dict(sorted(data.items(), key=lambda kv: order.get(kv[0], len(order))))
    return yaml.dump(ordered, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def write_plan(plan: ImportPlan) -> None:
    for target, data in plan.writes:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(to_yaml(data), encoding="utf-8")


def check_written(root: Path, written: list[Path]) -> tuple[int | None, int]:
    """(entries passing lint, entries passing test) among written; (None, 0) if no load."""
    kb, lint_report = lint(root)
    if kb is None:
        return None, 0
    test_report = test(kb)

    def passing(problems: list[str]) -> int:
        return sum(not any(p.startswith(f"{path}:") for p in problems) for path in written)

    return passing(lint_report.problems), passing(test_report.problems)

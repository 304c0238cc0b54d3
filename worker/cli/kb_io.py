"""`tfpulse kb export | import`: the KB as ErrorCanon JSON, and ErrorCanon JSON into the KB."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from worker.cli.common import add_kb_args, load_kb_or_exit
from worker.cli.exits import Exit
from worker.kbtools import canon as kb_canon
from worker.kbtools.check import lint, test
from worker.knowledge.loader import default_kb_dir


def register(kbsub: Any) -> None:
    p = kbsub.add_parser("export", help="write entries as ErrorCanon JSON (tfpulse fields "
                                        f"under {kb_canon.EXT})")
    add_kb_args(p)
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="write DIR/<id>.json per entry (default: JSON lines on stdout)")
    p.add_argument("--id", dest="ids", nargs="+", action="extend", default=None, metavar="ID",
                   help="export only these entries")
    p.set_defaults(func=run_export)
    p = kbsub.add_parser("import", help="read ErrorCanon JSON files (flat or deadends.dev "
                                        "shape) into kb/<domain>/<slug>.yaml")
    p.add_argument("paths", nargs="+", type=Path, metavar="FILE_OR_DIR",
                   help="canon files, or folders searched recursively for *.json")
    p.add_argument("--into", type=Path, default=None, metavar="DIR",
                   help=f"knowledge base folder to write into (default: {default_kb_dir()})")
    p.add_argument("--dry-run", action="store_true", help="print what would be written")
    p.add_argument("--overwrite", action="store_true", help="replace existing entry files")
    p.add_argument("--no-check", action="store_true",
                   help="skip running kb lint and kb test on the result (kb test is slow)")
    p.set_defaults(func=run_import)


def run_export(args: argparse.Namespace) -> int:
    kb = load_kb_or_exit(args)
    ids = args.ids or list(kb.entries)
    unknown = [i for i in ids if i not in kb.entries]
    if unknown:
        print(f"kb export: no such entry: {', '.join(unknown)} (see `tfpulse kb stats`)",
              file=sys.stderr)
        return Exit.USAGE
    for kb_id in ids:
        canon = kb_canon.to_canon(kb.entries[kb_id].data)
        if args.out is None:
            print(json.dumps(canon, ensure_ascii=False))
            continue
        target = args.out / f"{kb_id}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(canon, ensure_ascii=False, indent=2) + "\n",
                          encoding="utf-8")
    if args.out is not None:
        print(f"kb export: {len(ids)} entries written to {args.out}", file=sys.stderr)
    return Exit.OK


def run_import(args: argparse.Namespace) -> int:
    into = args.into or default_kb_dir()
    plan = plan_import(args.paths, into, overwrite=args.overwrite)
    for err in plan.refused:
        print(f"refused: {err}", file=sys.stderr)
    for path in plan.existing:
        print(f"exists (use --overwrite to replace): {path}", file=sys.stderr)
    verb = "would write" if args.dry_run else "wrote"
    for target, data in plan.writes:
        print(f"--- # {verb} {target}\n{to_yaml(data)}" if args.dry_run
              else f"{verb} {target}")
    if not args.dry_run:
        write_plan(plan)
    print(f"kb import: {plan.read} file(s) read, {len(plan.writes)} {verb}, "
          f"{len(plan.refused)} refused, {len(plan.existing)} already exist")
    if plan.writes and not (args.dry_run or args.no_check):
        print(check_summary(into, [t for t, _ in plan.writes]))
    return Exit.PROBLEMS if plan.refused or plan.existing else 0


def check_summary(root: Path, written: list[Path]) -> str:
    """How many of the written entries pass `kb lint` and `kb test` in root."""
    lint_ok, test_ok = check_written(root, written)
    if lint_ok is None:
        return (f"kb import: {root} does not load: run `tfpulse kb lint --kb {root}`")
    return (f"kb import: of {len(written)} imported entries, {lint_ok} pass kb lint and "
            f"{test_ok} pass kb test (details: `tfpulse kb test --kb {root}`)")


def check_written(root: Path, written: list[Path]) -> tuple[int | None, int]:
    """(entries passing lint, entries passing test) among written; (None, 0) if no load."""
    kb, lint_report = lint(root)
    if kb is None:
        return None, 0
    test_report = test(kb)

    def passing(problems: list[str]) -> int:
        return sum(not any(p.startswith(f"{path}:") for p in problems) for path in written)

    return passing(lint_report.problems), passing(test_report.problems)


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

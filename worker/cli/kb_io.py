"""`tfpulse kb export | import`: the KB as ErrorCanon JSON, and ErrorCanon JSON into the KB.

Arguments and printing only: the conversion is worker/kbtools/canon.py, the import plan
and its checks worker/kbtools/importer.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from worker.cli.common import add_kb_args, load_kb_or_exit
from worker.cli.exits import Exit
from worker.kbtools import canon as kb_canon
from worker.kbtools.importer import check_written, plan_import, to_yaml, write_plan
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

"""`tfpulse kb lint | test | stats`: check and describe the knowledge base."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from worker.cli import kb_draft, kb_io, stats
from worker.cli.common import add_kb_args, load_kb_or_exit
from worker.cli.exits import Exit
from worker.core import matcher
from worker.core.classify import Classifier
from worker.kbtools.lint import lint
from worker.kbtools.test import success_dir, test, test_success
from worker.knowledge.loader import default_kb_dir


def register(sub: Any) -> None:
    kb = sub.add_parser("kb", help="lint, test, describe, draft and promote KB entries",
                        description="Work on the knowledge base (kb/): one YAML file per "
                                    "known error. Format: docs/kb-format.md.")
    kbsub = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND")
    p = kbsub.add_parser("lint", help="schema, tags, unique ids, patterns compile in RE2 and "
                                      "Hyperscan, no newline-crossing unless multiline",
                         description="Check every entry: one line per problem "
                                     "(file:line: field: what is wrong). Exit codes: 0 no "
                                     "problem, 4 problems found (an entry that does not load "
                                     "is a problem too).")
    add_kb_args(p)
    p.set_defaults(func=run_lint)
    p = kbsub.add_parser("test", help="run every example and counter-example through the "
                                      "whole pipeline, and the success corpus (no failure "
                                      "may be detected in it)")
    add_kb_args(p)
    p.add_argument("--success", type=Path, default=None, metavar="DIR",
                   help="folder of *.log files of successful runs (default: tests/data/success "
                        "beside the KB folder; a missing folder counts as 0 files)")
    p.set_defaults(func=run_test)
    p = kbsub.add_parser("stats", help="entries per tag, category and domain; --observed: "
                                       "claimed success and fail rates beside observed ones")
    add_kb_args(p)
    stats.add_observed_args(p)
    p.set_defaults(func=run_stats)
    kb_io.register(kbsub)
    kb_draft.register(kbsub)
    kb.set_defaults(func=lambda a: (kb.print_help(), Exit.USAGE)[1])


def run_lint(args: argparse.Namespace) -> int:
    kb, report = lint(args.kb or default_kb_dir())
    for problem in report.problems:
        print(problem)
    if kb is None:
        print(f"kb lint: the knowledge base does not load ({len(report.problems)} problem(s))",
              file=sys.stderr)
        return Exit.PROBLEMS
    engines = "RE2 + Hyperscan" if matcher.hyperscan_available() else "RE2 (Hyperscan missing)"
    print(f"kb lint: {len(kb)} entries, {report.checked} patterns checked with {engines}: "
          f"{len(report.problems)} problem(s)")
    return Exit.PROBLEMS if report.problems else 0


def run_test(args: argparse.Namespace) -> int:
    kb = load_kb_or_exit(args)
    classifier = Classifier(kb)
    report = test(kb, classifier)
    folder = args.success or success_dir(kb)
    success = test_success(kb, folder, classifier)
    for problem in report.problems + success.problems:
        print(problem)
    print(f"kb test: {len(kb)} entries, {report.checked} examples and counter-examples: "
          f"{report.checked - len(report.problems)} passed, {len(report.problems)} failed")
    where = "" if folder.is_dir() else " (the folder does not exist)"
    print(f"kb test: success corpus {folder}: {success.checked} file(s){where}, "
          f"{len(success.problems)} failure(s) detected")
    return Exit.PROBLEMS if report.problems or success.problems else 0


def run_stats(args: argparse.Namespace) -> int:
    kb = load_kb_or_exit(args)
    if args.observed:
        return stats.run_observed(args, kb)
    tags: Counter[str] = Counter()
    cats: Counter[str] = Counter()
    domains: Counter[str] = Counter()
    examples = 0
    for e in kb:
        tags.update(e.tags)
        cats[e.category] += 1
        domains[e.id.split("/")[0]] += 1
        examples += len(e.examples)
    print(f"{len(kb)} entries, {examples} examples, KB version {kb.version}")
    for title, counter in (("by tag", tags), ("by category", cats), ("by domain", domains)):
        print(f"\n{title}:")
        for name, n in counter.most_common():
            print(f"  {name:<20} {n}")
    return Exit.OK

"""`tfpulse classify`: explain the Terraform failures in a CI log."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from worker.cli.common import add_kb_args, load_kb_or_exit
from worker.cli.exits import Exit
from worker.cli.explain import render_json, render_text
from worker.core.pipeline import Pipeline
from worker.model import Match
from worker.sources.files import open_input, read_chunks, read_records

HELP = """\
Read CI logs (raw text, or JSONL events as the worker consumes them; gzip is fine) and,
for each Terraform failure found, print the error, the knowledge-base entry it matches,
the principal/action/resource it names, the root cause, workarounds best first with
their success rates, the dead ends to avoid, and documentation links.

exit codes: 0 no failure found, 1 failures found, 2 unreadable input, 3 KB does not load.
"""


def register(sub: Any) -> None:
    p = sub.add_parser("classify", help="explain the Terraform failures in a log",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="*", metavar="FILE", help="log files (default: stdin)")
    p.add_argument("--format", choices=["text", "json"], default="text",
                   help="json: one object per failure: kb_id, tags, category, fields, line, text")
    p.add_argument("--lang", choices=["en", "zh"], default="en",
                   help="zh: use the entries' Chinese texts where they have them")
    add_kb_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    kb = load_kb_or_exit(args)
    pipeline = Pipeline(kb)
    pipeline.keep_matches = True
    found = 0
    for path in args.files or ["-"]:
        pipeline.matches = []
        try:
            inp = open_input(path)
            if inp.jsonl:
                for record in read_records(inp):
                    if record.event is not None:
                        pipeline.process(record.event)
            else:
                for first, data in read_chunks(inp):
                    pipeline.process_text(inp.job, data, first, inp.timestamp)
            inp.close()
        except OSError as exc:
            print(f"tfpulse classify: cannot read {path}: {exc.strerror or exc}",
                  file=sys.stderr)
            return Exit.USAGE
        pipeline.close()
        pipeline.take()
        matches: list[Match] = sorted(pipeline.matches, key=lambda m: (m.block.job, m.block.line))
        found += len(matches)
        if args.format == "json":
            sys.stdout.write(render_json(matches, kb, path))
        else:
            source = path if len(args.files) > 1 else ""
            sys.stdout.write(render_text(matches, kb, args.lang, source))
    return Exit.FOUND if found else Exit.OK

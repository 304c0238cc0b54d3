"""`tfpulse classify`: explain the Terraform failures in a CI log."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from worker.cli.common import add_kb_args, load_kb_or_exit
from worker.cli.exits import Exit, combine
from worker.cli.explain import render_json, render_text
from worker.cli.inputs import CONTENT_ERRORS, NOT_TEXT, looks_binary, reason
from worker.core.pipeline import Pipeline
from worker.model import Match
from worker.sources.files import open_input, read_chunks, read_records

HELP = """\
Read CI logs (raw text, or JSONL events as the worker consumes them; gzip is fine) and,
for each Terraform failure found, print the error, the knowledge-base entry it matches,
the principal/action/resource it names, the root cause, workarounds best first with
their success rates, the dead ends to avoid, and documentation links.

exit codes: 0 no failure found, 1 failures found, 2 an input could not be read (missing,
binary, corrupt gzip, JSONL without one valid event), 3 KB does not load. With several
files every readable one is
explained; an unreadable one makes the code 2 even when failures were found elsewhere.

examples:
  tfpulse classify build.log                       explain the failures in one CI log
  tfpulse classify logs/*.log.gz                   several files; each result names its file
  kubectl logs job/tf-apply | tfpulse classify     from stdin
  tfpulse classify --format json build.log | jq -r '.workarounds[0].action'
"""


def register(sub: Any) -> None:
    p = sub.add_parser("classify", help="explain the Terraform failures in a log",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="*", metavar="FILE", help="log files (default: stdin)")
    p.add_argument("--format", choices=["text", "json"], default="text",
                   help="json: one object per failure: kb_id, tags, category, fields, line, "
                        "text, file, family, title, root_cause, workarounds, dead_ends")
    p.add_argument("--lang", choices=["en", "zh"], default="en",
                   help="zh: use the entries' Chinese texts where they have them")
    add_kb_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    kb = load_kb_or_exit(args)
    pipeline = Pipeline(kb)
    pipeline.keep_matches = True
    codes = []
    for path in args.files or ["-"]:
        matches = _classify(pipeline, path)
        if matches is None:
            codes.append(Exit.USAGE)
            continue
        codes.append(Exit.FOUND if matches else Exit.OK)
        versions = pipeline.aggregate.versions_of
        if args.format == "json":
            sys.stdout.write(render_json(matches, kb, path, versions))
        else:
            source = path if len(args.files) > 1 else ""
            sys.stdout.write(render_text(matches, kb, args.lang, source, versions))
    return combine(codes)


def _classify(pipeline: Pipeline, path: str) -> list[Match] | None:
    """The failures in one file, or None (said on stderr) when it cannot be read."""
    pipeline.matches = []
    name = "stdin" if path == "-" else path
    try:
        inp = open_input(path)
        if looks_binary(inp.reader.peek(65536)[:65536]):
            inp.close()
            print(f"tfpulse classify: {name} {NOT_TEXT}", file=sys.stderr)
            return None
        if inp.jsonl:
            valid, invalid, first_error = 0, 0, ""
            for record in read_records(inp):
                if record.event is not None:
                    valid += 1
                    pipeline.process(record.event)
                else:
                    invalid += 1
                    first_error = first_error or f"line {record.position[1] + 1}: {record.error}"
            if invalid:
                print(f"tfpulse classify: {name}: {invalid} invalid event line(s) skipped "
                      f"(first: {first_error})", file=sys.stderr)
            if invalid and not valid:  # nothing was read: not "no failure"
                inp.close()
                return None
        else:
            for first, data in read_chunks(inp):
                pipeline.process_text(inp.job, data, first, inp.timestamp)
        inp.close()
    except (OSError, *CONTENT_ERRORS) as exc:
        print(f"tfpulse classify: {name} {reason(exc)}", file=sys.stderr)
        pipeline.close()
        pipeline.take()
        return None
    pipeline.close()
    pipeline.take()
    return sorted(pipeline.matches, key=lambda m: (m.block.job, m.block.line))

"""The `tfpulse` command line: one sub-command per job, each in its own module."""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
from collections.abc import Sequence

from worker import __version__
from worker.cache import install_disk_cache
from worker.cli import exits
from worker.cli.examples import add_examples
from worker.cli.exits import Exit
from worker.cli.logs import setup_logging

EPILOG = """\
examples:
  tfpulse classify build.log                 explain the Terraform failures in a CI log
  kubectl logs job/tf-apply | tfpulse classify --format json
  tfpulse replay examples/sample-ci-stream.jsonl.gz --top 10
  tfpulse stats --format json
  tfpulse report --weeks 8 --format html --out weekly.html
  tfpulse run --config tfpulse.yaml          consume CI logs from Kafka
  tfpulse kb lint && tfpulse kb test         prove the knowledge base

""" + textwrap.fill(exits.describe(), 88, subsequent_indent="            ") + """
docs: README.md, docs/kb-format.md, docs/operations.md
"""


def build_parser() -> argparse.ArgumentParser:
    from worker.cli import classify, kb, produce, replay, report, run, stats

    parser = argparse.ArgumentParser(
        prog="tfpulse",
        description="Find recurring Terraform failures in CI logs, explain them from a "
                    "knowledge base, and count every recurrence exactly once.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"tfpulse {__version__}")
    parser.add_argument("--log-format", choices=["text", "json"], default="text",
                        help="structured logs on stderr: text for people, json for collectors")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (classify, replay, stats, run, produce, report, kb):
        module.register(sub)
    add_examples(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_format, args.verbose)
    install_disk_cache()  # compiled pattern databases kept between runs
    if not getattr(args, "func", None):
        parser.print_help()
        return Exit.USAGE
    try:
        return int(args.func(args) or 0)
    except SystemExit as exc:  # helpers exit with a code after printing what to do
        return exc.code if isinstance(exc.code, int) else Exit.USAGE
    except KeyboardInterrupt:
        return Exit.INTERRUPTED
    except BrokenPipeError:
        return Exit.OK
    except Exception as exc:  # the last resort: say what failed, not a traceback
        logging.getLogger("tfpulse").debug("unhandled", exc_info=True)
        print(f"tfpulse: error: {exc}", file=sys.stderr)
        print("run again with -vv for the traceback", file=sys.stderr)
        return Exit.USAGE


if __name__ == "__main__":
    sys.exit(main())

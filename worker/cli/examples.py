"""Examples for the `--help` of the sub-commands whose module does not write its own.

main.build_parser adds them as the epilog of every parser that has no "examples:" yet,
so each command's help ends with commands a reader can paste (tests/test_cli_help.py).
"""

from __future__ import annotations

import argparse

EXAMPLES = {
    "run": """\
  tfpulse run --config tfpulse.yaml                       the worker, configured by a file
  TFPULSE_KAFKA_BOOTSTRAP_SERVERS=kafka:9092 tfpulse run  or by the environment
  tfpulse run --topic ci-logs --store postgresql://tfpulse@db:5432/tfpulse""",
    "kb": """\
  tfpulse kb lint && tfpulse kb test                      prove the knowledge base
  tfpulse kb stats                                        entries per tag, category, domain
  tfpulse kb draft --dry-run                              shadow entries from unclassified errors""",
    "kb lint": """\
  tfpulse kb lint                                         the bundled kb/
  tfpulse kb lint --kb ./my-kb                            another folder""",
    "kb test": """\
  tfpulse kb test                                         every example through the pipeline
  tfpulse kb test --kb ./my-kb""",
    "kb stats": """\
  tfpulse kb stats""",
    "kb export": """\
  tfpulse kb export --out canon/                          one ErrorCanon JSON file per entry
  tfpulse kb export --id aws/expired-token                one entry on stdout""",
    "kb draft": """\
  tfpulse kb draft --top 5 --dry-run                      see the drafts and the gate's verdicts
  tfpulse kb draft --out drafts/ --store sqlite:///tfpulse.db   write them elsewhere to review""",
    "kb promote": """\
  tfpulse kb promote aws/waiting-for-rds-cluster-update-unexpected-state""",
    "kb import": """\
  tfpulse kb import canon/ --into kb/ --dry-run           see the YAML it would write
  tfpulse kb import entry.json --into kb/                 write it, then lint and test""",
}


def add_examples(parser: argparse.ArgumentParser, path: str = "") -> None:
    """Give `parser` and every sub-parser below it an examples epilog (from EXAMPLES)."""
    if path and "examples:" not in (parser.epilog or "") and path in EXAMPLES:
        parser.epilog = ((parser.epilog or "") + "\nexamples:\n" + EXAMPLES[path] + "\n")
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
    for action in parser._actions:  # argparse keeps sub-parsers only here
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                add_examples(sub, f"{path} {name}".strip())

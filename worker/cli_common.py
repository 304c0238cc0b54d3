"""Options and start-up steps shared by several sub-commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from worker.kb import KbError, KnowledgeBase, default_kb_dir, load_kb

EXIT_KB = 3


def add_kb_args(p: Any) -> None:
    p.add_argument("--kb", type=Path, default=None, metavar="DIR",
                   help=f"knowledge base folder (default: $TFPULSE_KB or {default_kb_dir()})")


def load_kb_or_exit(args: argparse.Namespace) -> KnowledgeBase:
    """Load the KB or exit 3 naming every problem: never run on a half-loaded KB."""
    try:
        return load_kb(args.kb)
    except KbError as exc:
        print(f"tfpulse: the knowledge base does not load ({len(exc.problems)} problem(s)):",
              file=sys.stderr)
        for problem in exc.problems[:50]:
            print(f"  {problem}", file=sys.stderr)
        print("fix the entries above (format: docs/kb-format.md), then run `tfpulse kb lint`",
              file=sys.stderr)
        raise SystemExit(EXIT_KB) from None

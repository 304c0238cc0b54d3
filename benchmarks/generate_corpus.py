"""Deterministic CI log corpus for benchmarks: ordinary CI output with ~0.5% Terraform errors.

    python benchmarks/generate_corpus.py --lines 1000000 --out benchmarks/corpus

writes raw.log (GitHub Actions prefixes, ANSI colours) and events.jsonl (one event per
line, 40 interleaved jobs). Error texts are the KB's own examples, so every error is known.
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import datetime, timedelta
from pathlib import Path

import yaml

START = datetime(2026, 11, 1, 10, 0, 0)
ORDINARY = [
    "\x1b[0m\x1b[1maws_s3_bucket.logs: Refreshing state... [id=acme-logs-{n}]\x1b[0m",
    "  # module.vpc.aws_subnet.private[{n}] will be updated in-place",
    "      ~ tags = {{ \"Name\" = \"private-{n}\" }}",
    "npm WARN deprecated inflight@1.0.6: This module is not supported",
    "Downloading https://registry.terraform.io/hashicorp/aws 5.{n}.0 ...",
    "Run actions/checkout@v4",
    "\x1b[32m+\x1b[0m resource \"aws_iam_role\" \"ci_{n}\" {{",
    "Plan: {n} to add, 1 to change, 0 to destroy.",
    "module.eks.aws_eks_node_group.this[\"default\"]: Still modifying... [{n}s elapsed]",
    "Terraform has been successfully initialized!",
]


def kb_errors(kb: Path) -> list[str]:
    texts = []
    for path in sorted(kb.rglob("*.yaml")):
        if path.name.startswith("_"):  # _tag-rules.yaml: not an entry
            continue
        for ex in (yaml.safe_load(path.read_text()).get("examples") or [])[:1]:
            texts.append(ex["text"].rstrip("\n"))
    return texts


def generate(lines: int, out: Path, seed: int = 7, error_rate: float = 0.005) -> None:
    rnd = random.Random(seed)
    errors = kb_errors(Path(__file__).parent.parent / "kb")
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(out / "raw.log", "w") as raw, open(out / "events.jsonl", "w") as events:
        while written < lines:
            job = rnd.randrange(40)
            if rnd.random() < error_rate / 6:  # an error block averages ~6 lines
                chunk = rnd.choice(errors).split("\n")
            else:
                chunk = [rnd.choice(ORDINARY).format(n=rnd.randrange(100))]
            for text in chunk:
                # Event time moves on 50 ms a line, as in a busy CI stream; it must only
                # grow, or the idle timeout would close blocks that are still open.
                stamp = (START + timedelta(milliseconds=50 * written)).strftime(
                    "%Y-%m-%dT%H:%M:%S.%f") + "0Z"  # GitHub's 7 fraction digits
                raw.write(f"{stamp} {text}\n")
                events.write(json.dumps({
                    "message": text, "timestamp": stamp, "provider": "github_actions",
                    "repo": f"acme/repo-{job % 24}", "run_id": str(1000 + job),
                    "job": "plan", "line_number": written}) + "\n")
                written += 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "corpus")
    args = parser.parse_args()
    generate(args.lines, args.out)

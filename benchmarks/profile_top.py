#!/usr/bin/env python3
"""Summarise a py-spy raw profile: the functions with the most samples, self and total.

    py-spy record -f raw -r 100 -o prof.txt -- python -m worker.cli replay EVENTS.jsonl ...
    python benchmarks/profile_top.py prof.txt [--top 15] [--only worker/cli_run.py]

--only keeps the stacks that pass through a file (e.g. the worker process of a
`py-spy record --subprocesses` run). Idle threads (tqdm's monitor) are left out.
"""

from __future__ import annotations

import argparse
from collections import Counter

IDLE = ("Condition.wait", "Event.wait", "TMonitor.run")


def summarise(path: str, top: int, only: str | None) -> str:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    with open(path) as fh:
        for row in fh:
            stack, _, count = row.rstrip("\n").rpartition(" ")
            frames = [f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0] + ")"
                      if " (" in f else f for f in stack.split(";")]
            if (only and only not in stack) or any(f.startswith(IDLE) for f in frames[-2:]):
                continue
            n = int(count)
            samples += n
            own[frames[-1]] += n
            for f in set(frames):
                total[f] += n
    lines = [f"{samples} samples (idle threads left out)", "", "| self | total | function |",
             "|---:|---:|---|"]
    for name, n in own.most_common(top):
        lines.append(f"| {n / samples:.1%} | {total[name] / samples:.1%} | `{name}` |")
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("profile")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    print(summarise(args.profile, args.top, args.only))

"""Detection and tag precision/recall on the real public error texts (tests/data).

    python benchmarks/eval_examples.py

A text is detected when at least one failure is found in it; it is predicted
`permission` (or `state-lock`) when any failure found carries that tag.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT))

from worker.core.classify import Classifier  # noqa: E402
from worker.core.pipeline import Pipeline  # noqa: E402
from worker.kbtools.test import run_text  # noqa: E402
from worker.knowledge.loader import load_kb  # noqa: E402


def main() -> None:
    kb = load_kb()
    classifier = Classifier(kb)
    cases = [json.loads(line) for line in
             (ROOT / "tests" / "data" / "terraform-errors-public.jsonl").read_text().splitlines()]
    detected = classified = 0
    stats = {tag: {"tp": 0, "fp": 0, "fn": 0} for tag in ("permission", "state-lock")}
    for case in cases:
        matches = run_text(Pipeline(kb, classifier), case["text"])
        detected += bool(matches)
        classified += any(m.kb_id for m in matches)
        tags = {t for m in matches for t in m.tags}
        for tag, label in (("permission", "permission_error"), ("state-lock", "lock_error")):
            truth, pred = case[label], tag in tags
            stats[tag]["tp"] += truth and pred
            stats[tag]["fp"] += pred and not truth
            stats[tag]["fn"] += truth and not pred
    print(f"{len(cases)} texts: {detected} detected, {classified} classified into a KB entry")
    for tag, s in stats.items():
        precision = s["tp"] / max(1, s["tp"] + s["fp"])
        recall = s["tp"] / max(1, s["tp"] + s["fn"])
        print(f"{tag:<11} precision {precision:.3f}  recall {recall:.3f}  "
              f"(tp {s['tp']}, fp {s['fp']}, fn {s['fn']})")


if __name__ == "__main__":
    main()

"""Detection, classification and tag precision/recall on real error texts, per split.

    python benchmarks/eval_examples.py [--by-format]

Splits: `public` (tests/data/terraform-errors-public.jsonl: the KB was fitted to it),
`fit` and `holdout` (tests/data/realworld/: the corpus split once by source; the KB may
take examples from fit, never from holdout), and the success corpus (tests/data/success/
*.log, real successful runs: every failure detected there is a false positive). Only
aggregate figures are printed, never a text; --by-format adds, per split, the figures for
each `format` the collectors gave a text (framed, plain, tf011, atlantis, ...). The definitions are in
worker/kbtools/evaluate.py; tests/test_realworld.py enforces the targets on holdout.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT))

from worker.core.classify import Classifier  # noqa: E402
from worker.kbtools.evaluate import Score, evaluate, read_cases  # noqa: E402
from worker.kbtools.test import success_dir, test_success  # noqa: E402
from worker.knowledge.entry import KnowledgeBase  # noqa: E402
from worker.knowledge.loader import load_kb  # noqa: E402

DATA = ROOT / "tests" / "data"
SPLITS = (("public", DATA / "terraform-errors-public.jsonl"),
          ("fit", DATA / "realworld" / "fit.jsonl"),
          ("holdout", DATA / "realworld" / "holdout.jsonl"))


def row(name: str, s: Score) -> str:
    p, lock = s.tags["permission"], s.tags["state-lock"]
    return (f"| {name} | {s.failures} | {s.rate(s.detected):.3f} | {s.rate(s.classified):.3f} | "
            f"{s.rate(s.specific):.3f} | {p.precision:.3f} / {p.recall:.3f} | "
            f"{lock.precision:.3f} / {lock.recall:.3f} | {s.false_positives} of {s.non_failures} |")


def by_format(kb: KnowledgeBase, classifier: Classifier, name: str,
              cases: list[dict[str, Any]]) -> None:
    formats = sorted({str(c.get("format", "?")) for c in cases})
    print(f"\n{name}, by format:\n")
    print("| format | failures | detected | classified (any entry) | undetected | unclassified |")
    print("|---|---|---|---|---|---|")
    for fmt in formats:
        s = evaluate(kb, [c for c in cases if str(c.get("format", "?")) == fmt], classifier)
        if s.failures:
            print(f"| {fmt} | {s.failures} | {s.rate(s.detected):.3f} | {s.rate(s.classified):.3f} "
                  f"| {s.failures - s.detected} | {s.failures - s.classified} |")


def main() -> None:
    kb = load_kb()
    classifier = Classifier(kb)
    fallbacks = sum(e.fallback for e in kb)
    families = len({e.family for e in kb if e.family})
    print(f"KB {kb.version}: {len(kb)} entries ({fallbacks} family fallbacks), "
          f"{families} families\n")
    print("| split | failures | detected | classified (any entry) | classified (specific) "
          "| permission P / R | state-lock P / R | non-failures detected |")
    print("|---|---|---|---|---|---|---|---|")
    for name, path in SPLITS:
        if not path.exists():
            print(f"| {name} | (missing: {path.relative_to(ROOT)}) | | | | | | |")
            continue
        print(row(name, evaluate(kb, read_cases(path), classifier)))
    folder = success_dir(kb)
    success = test_success(kb, folder, classifier)
    lines = sum(p.read_bytes().count(b"\n") for p in folder.glob("*.log")) if folder.is_dir() else 0
    where = "" if folder.is_dir() else " (the folder does not exist: 0 files)"
    print(f"\nsuccess corpus: {success.checked} files, {lines} lines{where}: "
          f"{len(success.problems)} false positive(s)")
    if "--by-format" in sys.argv[1:]:
        for name, path in SPLITS[1:]:
            if path.exists():
                by_format(kb, classifier, name, read_cases(path))


if __name__ == "__main__":
    main()

"""Detection, classification and tag precision/recall on real error texts, per split.

    python benchmarks/eval_examples.py [--by-format] [--by-collector]

Splits: `public` (tests/data/terraform-errors-public.jsonl: the KB was fitted to it),
`fit` and `holdout` (tests/data/realworld/: the corpus split once by source; the KB may
take examples from fit, never from holdout), and the success corpus (tests/data/success/
*.log, real successful runs: every failure detected there is a false positive). Only
aggregate figures are printed, never a text; --by-format adds, per split, the figures for
each `format` the collectors gave a text (framed, plain, tf011, atlantis, ...); --by-collector,
for both halves together, the figures of each collector's batch (the id's prefix: run at the
commit that added a batch, before any tuning on it, they are the KB's rate on unseen texts).
The definitions are in worker/kbtools/evaluate.py; tests/test_realworld.py enforces the
targets on holdout.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT))

from worker.core.classify import Classifier  # noqa: E402
from worker.kbtools.evaluate import Score, TagScore, evaluate, read_cases  # noqa: E402
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


def by_group(kb: KnowledgeBase, classifier: Classifier, title: str,
             cases: list[dict[str, Any]], key: Callable[[dict[str, Any]], str]) -> None:
    """The split's figures for each group of its texts (a format, a collector)."""
    groups = sorted({key(c) for c in cases}, key=lambda g: (len(g), g))
    print(f"\n{title}:\n")
    print("| group | failures | detected | classified (any entry) | permission R | state-lock R "
          "| undetected | unclassified | non-failures detected |")
    print("|---|---|---|---|---|---|---|---|---|")
    for group in groups:
        s = evaluate(kb, [c for c in cases if key(c) == group], classifier)
        p, lock = (recall(s.tags[tag]) for tag in ("permission", "state-lock"))
        print(f"| {group} | {s.failures} | {s.rate(s.detected):.3f} | {s.rate(s.classified):.3f} "
              f"| {p} | {lock} | {s.failures - s.detected} "
              f"| {s.failures - s.classified} | {s.false_positives} of {s.non_failures} |")


def recall(t: TagScore) -> str:
    """A tag's recall with the count it is out of; `-` for a group without that tag."""
    return f"{t.recall:.3f} ({t.tp + t.fn})" if t.tp + t.fn else "-"


def collector(case: dict[str, Any]) -> str:
    """The collector a text came from: its id's prefix (c1 ... c19)."""
    return str(case["id"]).split("-", 1)[0]


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
    real = [(name, read_cases(path)) for name, path in SPLITS[1:] if path.exists()]
    if "--by-format" in sys.argv[1:]:
        for name, cases in real:
            by_group(kb, classifier, f"{name}, by format", cases,
                     lambda c: str(c.get("format", "?")))
    if "--by-collector" in sys.argv[1:]:  # both halves: how the KB does on each batch
        by_group(kb, classifier, "fit and holdout, by collector",
                 [c for _, cases in real for c in cases], collector)


if __name__ == "__main__":
    main()

"""Split the real-world error corpus once, by source, into `fit` and `holdout`.

    python benchmarks/split_corpus.py RAW.jsonl [RAW.jsonl ...]

Reads the collected texts (one JSON object per line: id, source, text, label,
permission_error, lock_error, failure), drops exact duplicates of a text, and writes
tests/data/realworld/fit.jsonl and holdout.jsonl. A source's half is fixed by a hash
of its URL, so every text from one issue thread lands in the same half and a rerun
never moves a text from `fit` to `holdout` (a source already in fit.jsonl stays `fit`: it
may have been tuned on); sources the KB already copied a text from
(tests/data/terraform-errors-public.jsonl and every example's `source` in kb/) are always
`fit`: a text from such a thread is not held out any more. Texts in `holdout` are never copied
into the KB (tests/test_realworld.py checks that no KB example shares a 40-character
run with one).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).parent.parent
OUT = ROOT / "tests" / "data" / "realworld"
KB_SOURCES = ROOT / "tests" / "data" / "terraform-errors-public.jsonl"
FIELDS = ("id", "source", "text", "label", "permission_error", "lock_error", "failure")


def normalized_source(url: str) -> str:
    return url.split("#", 1)[0].split("?", 1)[0].rstrip("/").lower()


def split_of(source: str, fitted: set[str]) -> str:
    key = normalized_source(source)
    if key in fitted:
        return "fit"
    return "holdout" if hashlib.sha256(key.encode()).digest()[0] % 2 else "fit"


def kb_sources() -> set[str]:
    """Every source the KB or its public examples already copied a text from, and every
    source of the current fit half."""
    found = {normalized_source(json.loads(line)["source"])
             for path in (KB_SOURCES, OUT / "fit.jsonl") if path.exists()
             for line in path.read_text().splitlines() if line.strip()}
    for path in (ROOT / "kb").rglob("*.yaml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict):
            continue
        for item in [*(doc.get("examples") or []), *(doc.get("counter_examples") or [])]:
            if isinstance(item, dict) and item.get("source"):
                found.add(normalized_source(str(item["source"])))
    return found


def main(paths: list[str]) -> None:
    fitted = kb_sources()
    halves: dict[str, list[dict[str, object]]] = {"fit": [], "holdout": []}
    seen: set[str] = set()
    for path in paths:
        for n, line in enumerate(Path(path).read_text().splitlines(), 1):
            if not line.strip():
                continue
            case = json.loads(line)
            missing = [f for f in FIELDS if f not in case]
            if missing:
                raise SystemExit(f"{path}:{n}: missing {missing}")
            if case["text"] in seen:
                continue
            seen.add(case["text"])
            halves[split_of(str(case["source"]), fitted)].append(case)
    OUT.mkdir(parents=True, exist_ok=True)
    for half, cases in halves.items():
        with (OUT / f"{half}.jsonl").open("w") as out:
            for case in sorted(cases, key=lambda c: str(c["id"])):
                out.write(json.dumps(case, ensure_ascii=False) + "\n")
        failures = sum(bool(c["failure"]) for c in cases)
        print(f"{half}: {len(cases)} texts ({failures} failures, {len(cases) - failures} not)")


if __name__ == "__main__":
    main(sys.argv[1:])

"""What redaction costs per block (docs/design.md, "Redaction"), and what detect-secrets'
own scan would cost on the same blocks (the reason it is a test dependency only).

    PYTHONPATH=. python benchmarks/redact_cost.py

Blocks: every example of the KB (real Terraform diagnostics); the longest of them with two
secrets added; a 32 KiB block (the assembler's cap). Prints microseconds per block, best
of five.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from typing import Any

from worker.core.redact import RULES, redact
from worker.knowledge.loader import default_kb_dir, load_kb


def best_us(fn: Callable[[], Any], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def detect_secrets_us(text: str) -> float | None:
    try:
        from detect_secrets.core.scan import scan_line
        from detect_secrets.settings import default_settings
    except ImportError:
        return None
    with default_settings():
        return best_us(lambda: [list(scan_line(line)) for line in text.splitlines()], 3)


def main() -> None:
    kb = load_kb(default_kb_dir())
    texts = sorted((ex.text for e in kb for ex in e.examples), key=len)
    longest = texts[-1]
    cases = {
        "median KB example": texts[len(texts) // 2],
        "longest KB example": longest,
        "longest + 2 secrets": longest + "\n  TF_VAR_db_password=hunter2hunter2 ghp_" + "a" * 36,
        "32 KiB block": (longest + "\n") * (32768 // (len(longest) + 1)),
    }
    print(f"{len(RULES)} rules; {len(texts)} KB examples")
    every = best_us(lambda: [redact(t) for t in texts], 20) / len(texts)
    print(f"{'mean over the KB examples':28s} {'':>7s} {every:9.1f} us")
    for name, text in cases.items():
        us = best_us(lambda text=text: redact(text), 2000 if len(text) < 5000 else 200)
        ds = detect_secrets_us(text)
        extra = f"   detect-secrets scan_line {ds:9.0f} us" if ds is not None else ""
        print(f"{name:28s} {len(text):6d} ch {us:9.1f} us{extra}")


if __name__ == "__main__":
    main()

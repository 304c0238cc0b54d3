"""tfpulse's classifier against mtail, on the same raw corpus, with the same KB.

    python benchmarks/mtail_compare.py [--lines 1000000]

Needs the `mtail` binary (Debian: `apt-get install mtail`); without it only the mtail
columns are skipped. Measures, on benchmarks/corpus/<lines>/raw.log:

1. tfpulse's classifier (the `tfpulse classify` raw-text fast path, as in run.py), lines/s,
   and the number of classified BLOCKS per KB entry (every block, not deduplicated);
2. mtail --one_shot with a program generated from the KB into a temporary folder: one
   counter per entry, incremented on each line where one of the entry's line-level
   patterns (those without `multiline: true`) matches. Entries with only multi-line
   patterns cannot be expressed line by line and are listed as not comparable. mtail runs
   twice: on the raw log (the same input tfpulse reads: the speed comparison) and on the
   normalized log (timestamps, ANSI and frames stripped by worker.normalize.normalize_line,
   i.e. the text KB patterns are written for: the agreement check);
3. a reference count with google-re2: lines of the normalized log on which the entry's
   line-level patterns match, compared with mtail's counters on the normalized log.

Prints the tables and writes them to benchmarks/results/<stamp>-mtail-<lines>.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import re2

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from generate_corpus import generate  # noqa: E402

from worker.file_source import open_input, read_chunks  # noqa: E402
from worker.kb import Entry, load_kb  # noqa: E402
from worker.normalize import normalize_line  # noqa: E402
from worker.pipeline import Pipeline  # noqa: E402

# (?P<name>…) and (?<name>…): names are irrelevant for counting, and Go 1.19 (mtail's
# regexp) does not know the second form.
_NAMED_GROUP = re.compile(r"\(\?P?<[A-Za-z_][A-Za-z0-9_]*>")


# -- tfpulse ------------------------------------------------------------------------------

def tfpulse_classify(raw: Path, kb) -> tuple[float, float, int, Counter]:
    """run.py's bench_classify, keeping every classified block: (wall, cpu, lines, counts)."""
    pipeline = Pipeline(kb)
    pipeline.keep_matches = True
    start, cpu = time.perf_counter(), time.process_time()
    n = 0
    inp = open_input(str(raw))
    for first, data in read_chunks(inp):
        n += pipeline.process_text(inp.job, data, first, inp.timestamp)
    inp.close()
    pipeline.close()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    counts = Counter(m.kb_id for m in pipeline.matches)  # kb_id None: unclassified block
    return wall, cpu, n, counts


# -- normalized corpus and the RE2 reference ----------------------------------------------

def write_normalized(raw: Path, out: Path) -> tuple[float, int]:
    """One normalized line per raw line (split on \\n only, as mtail does)."""
    start = time.perf_counter()
    n = 0
    with open(raw, "rb") as src, open(out, "w", encoding="utf-8") as dst:
        for line in src:
            text, _frame = normalize_line(line.rstrip(b"\n").decode("utf-8", "replace"))
            dst.write(text.replace("\n", " ") + "\n")
            n += 1
    return time.perf_counter() - start, n


def line_regex(entry: Entry) -> str | None:
    """The entry's line-level patterns as one alternation, named groups removed."""
    pats = [_NAMED_GROUP.sub("(?:", p.regex) for p in entry.patterns if not p.multiline]
    return "|".join(f"(?:{p})" for p in pats) if pats else None


def reference_counts(normalized: Path, regexes: dict[str, str]) -> tuple[float, dict[str, int]]:
    """Lines on which each regex matches. Line-level patterns cannot cross a newline (kb
    lint proves it), so one (?m) search over the whole text is a per-line search; a line
    is counted once however many matches it holds."""
    data = normalized.read_bytes()
    start = time.perf_counter()
    out = {}
    for kb_id, regex in regexes.items():
        lines = {data.rfind(b"\n", 0, m.start()) for m in
                 re2.compile(b"(?m)" + regex.encode()).finditer(data)}
        out[kb_id] = len(lines)
    return time.perf_counter() - start, out


# -- mtail --------------------------------------------------------------------------------

def mtail_regex(regex: str) -> str:
    """Escape the `/` delimiter for mtail's lexer (Go's regexp accepts `\\/`)."""
    out, i = [], 0
    while i < len(regex):
        c = regex[i]
        if c == "\\":
            out.append(regex[i:i + 2])
            i += 2
            continue
        out.append("\\/" if c == "/" else c)
        i += 1
    return "".join(out)


def mtail_program(regexes: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The program text and counter name -> kb id. `lines_total` proves every line was read."""
    names = {f"kb_{i:03d}": kb_id for i, kb_id in enumerate(regexes)}
    out = ["# generated by benchmarks/mtail_compare.py from the tfpulse KB", "",
           "counter lines_total"]
    out += [f"counter {name}" for name in names]
    out += ["", "/^/ {", "  lines_total++", "}"]
    for name, kb_id in names.items():
        out += ["", f"# {kb_id}", f"/{mtail_regex(regexes[kb_id])}/ {{", f"  {name}++", "}"]
    return "\n".join(out) + "\n", names


def run_mtail(mtail: str, progs: Path, log: Path) -> tuple[float, float, dict[str, int]]:
    """(wall seconds, CPU seconds, counter values) of one --one_shot run."""
    cmd = [mtail, "--one_shot", "--one_shot_format=json", "--logtostderr",
           "--emit_prog_label=false", "--max_regexp_length=1000000", "--port=0",
           "--progs", str(progs), "--logs", str(log)]
    before = os.times()
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user
           + after.children_system - before.children_system)
    if proc.returncode != 0:
        sys.exit(f"mtail failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    metrics = json.loads(proc.stdout)
    values = {name: int(sum(lv["Value"]["Value"] for lv in items[0]["LabelValues"]))
              for name, items in metrics.items()}
    return wall, cpu, values


# -- report -------------------------------------------------------------------------------

def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"machine: {platform.machine()}, {os.cpu_count()} cores ({model or 'unknown CPU'}), "
            f"Python {platform.python_version()}, load average at start {load}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    header = machine()
    corpus = HERE / "corpus" / str(args.lines)
    raw = corpus / "raw.log"
    if not raw.exists():
        generate(args.lines, corpus)
    mb = raw.stat().st_size / 1e6
    kb = load_kb()
    regexes = {e.id: r for e in kb if (r := line_regex(e)) is not None}
    not_comparable = [e.id for e in kb if e.id not in regexes]
    mtail = shutil.which("mtail")
    version, names = "", {}
    if mtail is None:
        print("mtail not found: the mtail columns are skipped "
              "(Debian/Ubuntu: apt-get install mtail)", file=sys.stderr)
    else:
        version = subprocess.run([mtail, "--version"], capture_output=True,
                                 text=True).stdout.split(" git ")[0].strip()

    t_tf, cpu_tf, n, blocks = tfpulse_classify(raw, kb)
    with tempfile.TemporaryDirectory(prefix="tfpulse-mtail-") as tmp:
        tmpdir = Path(tmp)
        normalized = tmpdir / "normalized.log"
        t_norm, n_norm = write_normalized(raw, normalized)
        assert n_norm == n, (n_norm, n)
        t_ref, ref = reference_counts(normalized, regexes)
        mt_raw = mt_norm = mt_empty = None
        if mtail is not None:
            progs = tmpdir / "progs"
            progs.mkdir()
            program, names = mtail_program(regexes)
            (progs / "tfpulse_kb.mtail").write_text(program)
            (tmpdir / "empty.log").write_text("")
            mt_empty = run_mtail(mtail, progs, tmpdir / "empty.log")
            mt_raw = run_mtail(mtail, progs, raw)
            mt_norm = run_mtail(mtail, progs, normalized)
            for label, (_, _, values) in (("raw", mt_raw), ("normalized", mt_norm)):
                if values.get("lines_total") != n:
                    sys.exit(f"mtail read {values.get('lines_total')} lines of the {label} "
                             f"log, expected {n}")

    line_pats = sum(1 for e in kb for p in e.patterns if not p.multiline)
    out = [f"# tfpulse vs mtail, {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC",
           header,
           f"input: {raw.relative_to(HERE.parent)}: {n:,} lines ({mb:.1f} MB raw)",
           f"KB: {len(kb)} entries; {len(regexes)} comparable (have line-level patterns, "
           f"{line_pats} patterns), {len(not_comparable)} not comparable (multi-line only)",
           f"mtail: {version if mtail else 'not installed: skipped (apt-get install mtail)'}",
           f"command: python benchmarks/mtail_compare.py --lines {args.lines}", "",
           f"| {'what':<44} | {'lines/s':>11} | {'wall s':>7} | {'CPU s':>6} |",
           f"|{'-' * 46}|{'-' * 13}|{'-' * 9}|{'-' * 8}|"]

    def row(name: str, wall: float, cpu: float | None) -> None:
        cpu_s = "-" if cpu is None else f"{cpu:.2f}"
        out.append(f"| {name:<44} | {n / wall:>11,.0f} | {wall:>7.2f} | {cpu_s:>6} |")

    row(f"tfpulse classifier, raw text ({len(kb)} entries)", t_tf, cpu_tf)
    if mt_raw and mt_norm and mt_empty:
        row(f"mtail --one_shot, raw text ({len(regexes)} counters)", mt_raw[0], mt_raw[1])
        row(f"mtail --one_shot, normalized text ({len(regexes)} c.)", mt_norm[0], mt_norm[1])
    row("(python normalize_line, to make normalized)", t_norm, None)
    row(f"(google-re2 reference, {len(regexes)} whole-text scans)", t_ref, None)
    out.append("")
    if mt_raw and mt_norm and mt_empty:
        out.append(f"ratio tfpulse / mtail (raw text): {n / t_tf / (n / mt_raw[0]):.2f}x; "
                   f"tfpulse / mtail (normalized text): {mt_norm[0] / t_tf:.2f}x")
        out.append(f"mtail wall times include its start-up and program compile: "
                   f"{mt_empty[0]:.2f} s on an empty log. The mtail program also counts "
                   f"every line (`/^/`) to prove that all {n:,} were read. tfpulse evaluates "
                   f"all {len(kb)} entries, multi-line patterns included, on candidate "
                   f"blocks only; mtail evaluates the {len(regexes)} line-level "
                   f"alternations on every line.")
    out.append("")

    # agreement
    out += ["## Agreement per comparable entry", "",
            "lines = normalized lines where the entry's line-level patterns match "
            "(google-re2 reference); mtail norm / mtail raw = mtail's counter on the "
            "normalized / raw log; blocks = tfpulse blocks classified as the entry "
            "(whole classifier, multi-line patterns and priorities included).", "",
            f"| {'entry':<58} | {'lines':>6} | {'mtail norm':>10} | {'agree':>5} "
            f"| {'mtail raw':>9} | {'blocks':>6} |",
            f"|{'-' * 60}|{'-' * 8}|{'-' * 12}|{'-' * 7}|{'-' * 11}|{'-' * 8}|"]
    agree = disagree = 0
    rev = {kb_id: name for name, kb_id in names.items()} if mtail else {}
    for kb_id in sorted(regexes):
        mn = mt_norm[2].get(rev[kb_id], 0) if mt_norm else None
        mr = mt_raw[2].get(rev[kb_id], 0) if mt_raw else None
        ok = "-" if mn is None else ("yes" if mn == ref[kb_id] else "NO")
        agree += ok == "yes"
        disagree += ok == "NO"
        out.append(f"| {kb_id:<58} | {ref[kb_id]:>6,} | {'-' if mn is None else f'{mn:,}':>10} "
                   f"| {ok:>5} | {'-' if mr is None else f'{mr:,}':>9} "
                   f"| {blocks.get(kb_id, 0):>6,} |")
    out.append("")
    if mtail:
        out.append(f"mtail on normalized text agrees with the RE2 reference on {agree} of "
                   f"{len(regexes)} comparable entries ({disagree} disagree).")
    raw_diff = [k for k in regexes if mt_raw and mt_norm
                and mt_raw[2].get(rev[k], 0) != mt_norm[2].get(rev[k], 0)]
    if raw_diff:
        out.append(f"On the raw log mtail counts differ for {len(raw_diff)} entries "
                   f"({', '.join(sorted(raw_diff))}): the raw lines still carry the "
                   "GitHub timestamp, ANSI codes and Terraform's frame, which anchored "
                   "or adjacent patterns do not expect.")
    more = sum(1 for k in regexes if ref[k] > blocks.get(k, 0))
    fewer = sum(1 for k in regexes if ref[k] < blocks.get(k, 0))
    same = len(regexes) - more - fewer
    out.append(f"Lines vs blocks: lines > blocks for {more} entries, equal for {same}, "
               f"lines < blocks for {fewer}. A block is one whole error (about 6 lines) "
               "and may hold several matching lines; a block matched by several entries "
               "counts only for the winner (priority, then pattern length); a block may "
               "be classified by a multi-line pattern that no single line matches.")
    out.append("")
    other = sum(c for k, c in blocks.items() if k not in regexes)
    out.append(f"Not comparable (multi-line patterns only, {len(not_comparable)} entries; "
               f"tfpulse classified {other:,} blocks as these or as unclassified):")
    out += [f"- {kb_id} ({blocks.get(kb_id, 0):,} blocks)" for kb_id in sorted(not_comparable)]
    if blocks.get(None):
        out.append(f"- (unclassified Terraform error blocks: {blocks[None]:,})")
    text = "\n".join(out) + "\n"
    print(text)
    stamp = time.strftime("%Y%m%d-%H%M", time.gmtime())
    path = HERE / "results" / f"{stamp}-mtail-{args.lines}.md"
    path.write_text(text)
    print(f"written to {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()

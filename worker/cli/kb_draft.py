"""`tfpulse kb draft | promote`: entries drafted from the store's unclassified errors, and a
shadow entry made live.

Reading the store, the success corpus and the KB, printing and writing files only: the
drafting is worker/kbtools/draft.py, the precision gate worker/kbtools/gate.py, the
status edit worker/kbtools/promote.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from worker.cli.common import add_kb_args, add_store_args, load_kb_or_exit, open_store_or_exit
from worker.cli.exits import Exit
from worker.kbtools import draft as kb_draft
from worker.kbtools.gate import gate
from worker.kbtools.importer import to_yaml
from worker.kbtools.lint import lint
from worker.kbtools.promote import draft_placeholders, promoted_text
from worker.kbtools.test import success_dir
from worker.store import schema as s

DRAFT_HELP = """\
Draft KB entries from the most frequent unclassified errors in the store. Each draft gets
an RE2 pattern generalised from its template (ids, ARNs, paths, numbers and quoted names
masked), real examples from the stored occurrences (redacted when stored), counter-
examples from neighbouring unclassified templates, a family and tags proposed from the
nearest entries and the KB's tag rules, and `status: shadow`: it is matched, stored and
reported (marked "shadow"), but never alerts and never takes a match from a live entry.

Templates that give the same pattern, or that an earlier draft's pattern already covers,
are merged into one draft; the output says which and why. A draft is written only if it
passes the precision gate: no match on the success corpus, none on another entry's
examples, and `tfpulse kb test` green with it added; the output says why a draft was
refused. The root cause, dead ends and workarounds are left as "DRAFT:" text for a person
to write: `tfpulse kb promote ID` refuses an entry that still has them.

Files go to DIR/<domain>/<slug>.yaml (DIR defaults to the KB folder itself: a shadow entry
is safe to ship; review it with `git diff`). Exit codes: 0 every draft written (or none
to write), 4 some refused, 2 no store.
"""
PROMOTE_HELP = """\
Make a shadow entry live: its `status: shadow` line becomes `status: live` in place
(comments and layout kept), then `kb lint` runs on the KB. A live entry classifies ahead
of every shadow entry and its recurrences can alert (a new shadow="false" series: only
occurrences after promotion count). Refused, with the reason, when the id is unknown, the
entry is already live, or it still holds DRAFT: text (--force promotes anyway).
"""


def register(kbsub: Any) -> None:
    p = kbsub.add_parser("draft", help="draft shadow entries from the store's most frequent "
                                       "unclassified errors, behind a precision gate",
                         description=DRAFT_HELP,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    add_kb_args(p)
    add_store_args(p)
    p.add_argument("--top", type=int, default=5, metavar="N",
                   help="draft at most N entries, from the most frequent templates (default 5)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="write DIR/<domain>/<slug>.yaml (default: the KB folder)")
    p.add_argument("--success", type=Path, default=None, metavar="DIR",
                   help="the success corpus for the gate (default: tests/data/success beside "
                        "the KB folder)")
    p.add_argument("--dry-run", action="store_true", help="print the drafts, write nothing")
    p.set_defaults(func=run_draft)
    p = kbsub.add_parser("promote", help="make a shadow entry live (edits its status line)",
                         description=PROMOTE_HELP,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ids", nargs="+", metavar="ID", help="entry ids, e.g. aws/some-error")
    p.add_argument("--force", action="store_true",
                   help="promote even when the entry still holds DRAFT: text")
    add_kb_args(p)
    p.set_defaults(func=run_promote)


def read_templates(store: Any, limit: int, texts: int = 10) -> list[kb_draft.Template]:
    """The `limit` most frequent unclassified templates, each with its commonest texts."""
    t, o = s.unclassified_templates, s.occurrences
    count = func.count().label("n")
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.c.template_id, t.c.template, t.c.occurrences,
                                   t.c.first_seen)
                            .order_by(t.c.occurrences.desc(), t.c.template_id)
                            .limit(limit)).all()
        ids = [r.template_id for r in rows]
        found: dict[str, list[str]] = {i: [] for i in ids}
        for tid, text, _n in conn.execute(
                select(o.c.template_id, o.c.text, count)
                .where(o.c.kb_id.is_(None), o.c.template_id.in_(ids))
                .group_by(o.c.template_id, o.c.text)
                .order_by(o.c.template_id, count.desc(), o.c.text)):
            if len(found[tid]) < texts and text.strip():
                found[tid].append(text)
    return [kb_draft.Template(r.template_id, r.template, int(r.occurrences),
                              tuple(found[r.template_id]), r.first_seen.date().isoformat())
            for r in rows]


def run_draft(args: argparse.Namespace) -> int:
    kb = load_kb_or_exit(args)
    store = open_store_or_exit(args.store, create=False, command="kb draft")
    try:
        templates = read_templates(store, max(args.top * 10, 50))
    finally:
        store.close()
    print(f"kb draft: {len(templates)} unclassified template(s) read from {args.store} "
          f"({sum(t.occurrences for t in templates)} occurrences)")
    drafts = kb_draft.build_drafts(templates, kb, args.top)
    folder = args.success or success_dir(kb)
    success = [(str(p), p.read_bytes()) for p in sorted(folder.glob("*.log"))] \
        if folder.is_dir() else []
    print(f"kb draft: gate: {len(success)} success-corpus file(s) in {folder}, "
          f"{sum(len(e.examples) for e in kb)} examples of {len(kb)} entries")
    result = gate(drafts, kb, success)
    out = args.out or kb.root
    for d in result.passed:
        target = out / f"{d.kb_id}.yaml"
        text = file_text(d)
        if args.dry_run:
            print(f"--- # would write {target}\n{text}")
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target} (status: shadow)")
        describe(d)
    for d, reasons in result.refused:
        print(f"refused {d.kb_id}: the precision gate found {len(reasons)} problem(s)")
        describe(d)
        for reason in reasons:
            print(f"  - {reason}")
    verb = "would be written" if args.dry_run else f"written to {out}"
    print(f"kb draft: {len(result.passed)} draft(s) {verb}, {len(result.refused)} refused"
          + ("; review them, then `tfpulse kb promote ID`" if result.passed else ""))
    return Exit.PROBLEMS if result.refused else Exit.OK


def describe(d: kb_draft.Draft) -> None:
    print(f"  from {len(d.templates)} template(s), {d.occurrences} occurrence(s):")
    for t in d.templates:
        print(f"    {t.template_id} ({t.occurrences}) {t.template[:110]}")
    for line in d.merges + d.why:
        print(f"  {line}")
    print(f"  pattern: {d.data['patterns'][0]['regex']}")


def file_text(d: kb_draft.Draft) -> str:
    ids = ", ".join(t.template_id for t in d.templates)
    return (f"# Drafted by `tfpulse kb draft` from {d.occurrences} occurrence(s) of the "
            f"unclassified template(s) {ids}.\n# Write root_cause, dead_ends and workarounds "
            "(the DRAFT: text), check family and tags, then `tfpulse kb promote "
            f"{d.kb_id}`.\n" + to_yaml(d.data))


def run_promote(args: argparse.Namespace) -> int:
    kb = load_kb_or_exit(args)
    refused = 0
    for kb_id in args.ids:
        entry = kb.get(kb_id)
        refusal = None
        if entry is None:
            refusal = "no such entry (ids: `tfpulse kb stats`, or the file path under kb/)"
        elif not entry.shadow:
            refusal = "already live: nothing to promote"
        elif not args.force and (left := draft_placeholders(entry)):
            refusal = (f"still holds draft text in {', '.join(left)}: write them first "
                       "(or --force)")
        if refusal is None and entry is not None:
            try:
                text = promoted_text(entry.path.read_text(encoding="utf-8"))
            except ValueError as exc:
                refusal = f"{entry.path}: {exc}"
            else:
                entry.path.write_text(text, encoding="utf-8")
                print(f"promoted {kb_id}: {entry.path} now says status: live")
                continue
        print(f"kb promote: {kb_id}: {refusal}", file=sys.stderr)
        refused += 1
    if refused == len(args.ids):
        return Exit.PROBLEMS
    _, report = lint(kb.root)
    for problem in report.problems:
        print(problem)
    print(f"kb promote: kb lint after the edit: {len(report.problems)} problem(s)")
    return Exit.PROBLEMS if report.problems or refused else Exit.OK

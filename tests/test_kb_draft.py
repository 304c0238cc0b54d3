"""`tfpulse kb draft`: drafts from a real store (the bundled sample stream replayed), merges,
and the precision gate refusing what would match a successful run or another entry."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from worker.cli.main import main
from worker.core.classify import Classifier
from worker.kbtools import test as kbtest
from worker.kbtools.draft import PLACEHOLDERS, Template, build_drafts, generalise, search_text
from worker.kbtools.gate import gate
from worker.kbtools.lint import lint
from worker.knowledge.entry import KnowledgeBase
from worker.knowledge.loader import MASKS_FILE, default_kb_dir, load_entry
from worker.model import Block, JobKey
from worker.store.store import open_store

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "sample-ci-stream.jsonl.gz"
TRUTH = ROOT / "examples" / "sample-ci-stream.truth.json"
SUCCESS = ROOT / "tests" / "data" / "success"


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('draft') / 'sample.db'}"
    assert main(["replay", str(SAMPLE), "--store", url, "--top", "0", "--no-progress",
                 "--dead-letter", str(tmp_path_factory.mktemp('dl') / 'dl.jsonl')]) == 0
    return url


def success_corpus() -> list[tuple[str, bytes]]:
    return [(str(p), p.read_bytes()) for p in sorted(SUCCESS.glob("*.log"))]


def test_drafts_from_the_sample_store_pass_the_gate_and_cover_its_unclassified_errors(
        sample_store: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / "drafts"
    assert main(["kb", "draft", "--store", sample_store, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    files = sorted(out.rglob("*.yaml"))
    # The generator keeps only the unknown errors no entry matches; each of the sample's
    # unclassified templates gets a draft of its own, nothing to merge.
    store = open_store(sample_store)
    with store.engine.connect() as conn:
        [(templates,)] = conn.exec_driver_sql(
            "SELECT COUNT(DISTINCT template_id) FROM occurrences WHERE kb_id IS NULL")
    store.close()
    assert templates >= 1 and len(files) == templates, printed
    assert f"{templates} draft(s) written" in printed and "0 refused" in printed
    truth = json.loads(TRUTH.read_text())
    assert f"({truth['unclassified']['occurrences']} occurrences)" in printed
    # Copied into the KB, the drafts are valid shadow entries and kb test stays green.
    kb_dir = tmp_path / "kb"
    shutil.copytree(default_kb_dir(), kb_dir)
    shutil.copytree(out, kb_dir, dirs_exist_ok=True)
    kb, report = lint(kb_dir)
    assert kb is not None and report.problems == []
    drafts = [kb.get(p.relative_to(out).with_suffix("").as_posix()) for p in files]
    assert all(d is not None and d.shadow and len(d.examples) >= 2 and d.counter_examples
               for d in drafts)
    classifier = Classifier(kb)
    assert kbtest.test(kb, classifier).problems == []
    assert kbtest.test_success(kb, SUCCESS, classifier).problems == []
    # Every unclassified occurrence stored is now classified by one of the drafts.
    store = open_store(sample_store)
    with store.engine.connect() as conn:
        texts = [t for (t,) in conn.exec_driver_sql(
            "SELECT text FROM occurrences WHERE kb_id IS NULL")]
    store.close()
    assert len(texts) == truth["unclassified"]["occurrences"]
    ids = {d.id for d in drafts if d is not None}
    job = JobKey("r", "1", 1, "j")
    got = [classifier.classify(Block(job, tuple(t.split("\n")), 1, 0.0)) for t in texts]
    assert all(m is not None and m.kb_id in ids for m in got)
    # Replayed with the drafts in the KB, those occurrences are stored under the (shadow)
    # drafts, and nothing is left unclassified.
    url = f"sqlite:///{tmp_path / 'with-drafts.db'}"
    assert main(["replay", str(SAMPLE), "--store", url, "--kb", str(kb_dir), "--top", "0",
                 "--no-progress", "--dead-letter", str(tmp_path / "dl.jsonl")]) == 0
    store = open_store(url)
    totals = {t.kb_id: t.occurrences for t in store.totals()}
    assert store.unclassified_total() == 0
    store.close()
    assert sum(totals[i] for i in ids) == truth["unclassified"]["occurrences"]


RAW_LOG = """\
2026-11-20T10:00:00Z Terraform v1.6.0
2026-11-20T10:00:01Z ╷
2026-11-20T10:00:01Z │ Error: waiting for RDS Cluster ({name}) update: unexpected state 'resetting-master-credentials'{tail}
2026-11-20T10:00:01Z ╵
"""  # without its `with`/`on` context: with it, the cloud-API fallback classifies the error


def test_a_real_store_whose_templates_one_pattern_covers_gives_one_draft(
        tmp_path: Path, capsys) -> None:
    """Raw logs replayed into a store: the same error with and without a trailing detail
    are two templates; the commoner one's pattern covers both, so one draft says why."""
    logs = []
    for i, (name, tail) in enumerate([("ingest", ""), ("web", ""),
                                      ("edge", ", wanted target [available]")]):
        logs.append(tmp_path / f"job-{i}.log")
        logs[-1].write_text(RAW_LOG.format(name=name, tail=tail))
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert main(["replay", *map(str, logs), "--store", url, "--top", "0", "--no-progress",
                 "--dead-letter", str(tmp_path / "dl.jsonl")]) == 0
    capsys.readouterr()
    assert main(["kb", "draft", "--store", url, "--out", str(tmp_path / "drafts")]) == 0
    printed = capsys.readouterr().out
    assert "2 unclassified template(s) read" in printed and "1 draft(s) written" in printed
    assert "its pattern already matches every stored text of this template" in printed
    [written] = (tmp_path / "drafts").rglob("*.yaml")
    data = yaml.safe_load(written.read_text())
    assert data["status"] == "shadow" and data["evidence_count"] == 3
    names = [re.search(r"RDS Cluster \((\w+)\)", e["text"]).group(1) for e in data["examples"]]
    assert sorted(names) == ["edge", "ingest", "web"]
    assert data["examples"][0]["fields"] == {"resource": names[0]}


def template(tid: str, *texts: str, n: int = 3) -> Template:
    return Template(tid, texts[0], n, texts)


def test_templates_with_the_same_pattern_or_covered_by_one_are_merged(kb: KnowledgeBase
                                                                     ) -> None:
    rds = "Error: waiting for RDS Cluster (ingest) update: unexpected state 'resetting'"
    templates = [
        template("a" * 16, rds, n=5),
        # Stored under another template id (masks changed since), same pattern once masked.
        template("b" * 16, rds.replace("(ingest)", "(web)"), n=2),
        # A longer message whose every text the first pattern already matches.
        template("c" * 16, rds + ", wanted 'available' after 3 attempts", n=1),
        template("d" * 16, "Error: reading Route 53 Record (Z01_x_CNAME): empty result", n=4),
    ]
    drafts = build_drafts(templates, kb, top=5)
    assert [sorted(t.template_id[0] for t in d.templates) for d in drafts] == [
        ["a", "b", "c"], ["d"]]
    rds_draft = drafts[0]
    assert rds_draft.occurrences == 8
    assert any("same pattern" in m and m.startswith("b" * 16) for m in rds_draft.merges)
    assert any("already matches every stored text" in m and m.startswith("c" * 16)
               for m in rds_draft.merges)
    # Counter-examples: the neighbouring template the draft must not match.
    assert [c["text"] for c in rds_draft.data["counter_examples"]] == [templates[3].texts[0]]


def test_the_gate_refuses_a_draft_that_would_match_the_success_corpus(kb: KnowledgeBase
                                                                     ) -> None:
    line = next(ln for p in sorted(SUCCESS.glob("*.log"))
                for ln in p.read_text(errors="replace").splitlines()
                if "Apply complete! Resources:" in ln)
    drafts = build_drafts([template("e" * 16, re.sub(r"\x1b\[[0-9;]*m", "", line))], kb, 1)
    result = gate(drafts, kb, success_corpus())
    assert result.passed == []
    [(refused, reasons)] = result.refused
    assert any(r.startswith("matches the success corpus: ") and "Apply complete!" in r
               for r in reasons), reasons


def test_the_gate_refuses_a_draft_matching_another_entrys_examples(kb: KnowledgeBase) -> None:
    expired = kb.get("aws/expired-token")
    assert expired is not None
    text = search_text(expired.examples[0].text)
    text = "\n".join(ln for ln in text.split("\n") if ln)  # as a stored block starts
    drafts = build_drafts([template("f" * 16, text)], kb, 1)
    result = gate(drafts, kb, [])
    [(refused, reasons)] = result.refused
    assert any(r.startswith("matches an example of aws/expired-token (") for r in reasons), \
        reasons


def test_the_gate_runs_kb_test_on_the_drafts(kb: KnowledgeBase) -> None:
    rds = "Error: waiting for RDS Cluster (ingest) update: unexpected state 'resetting'"
    [draft] = build_drafts([template("g" * 16, rds)], kb, 1)
    draft.data["counter_examples"] = [{"text": rds.replace("ingest", "web")}]
    result = gate([draft], kb, [])
    assert result.refused == [(draft, ["kb test: counter_examples[0]: matched by the "
                                       "entry's own patterns"])]


def test_every_mask_has_a_placeholder_regex_that_matches_what_it_replaced(
        kb: KnowledgeBase) -> None:
    masks = yaml.safe_load(MASKS_FILE.read_text())
    assert {m["repl"].replace("\\1", "") for m in masks} == set(PLACEHOLDERS)
    text = ('Error: creating X (api-1): AccessDenied on arn:aws:iam::123456789012:role/ci '
            'at https://x.example/a in "quoted name" and \'single\' for account 123456789012 '
            'from 10.0.0.1:443 path ./modules/net/main.tf uuid '
            '123e4567-e89b-12d3-a456-426614174000 hex 0123456789abcdef0123 request id: '
            'ABCDEF12-3456 and 42 retries')
    pattern, multiline = generalise(text, kb.masks)
    assert not multiline
    found = re.search(pattern, text)
    assert found is not None and found.group("resource") == "api-1"
    entry, problems = load_entry(kb.root / "aws/x.yaml", kb.root, yaml.safe_dump({
        "id": "aws/x", "signature": "x", "domain": "aws", "category": "auth_error",
        "root_cause": "x", "dead_ends": [{"action": "a", "fail_rate": 0.5}],
        "workarounds": [{"action": "a", "success_rate": 0.5}], "tags": ["permission"],
        "patterns": [{"regex": pattern}], "examples": [{"text": text}, {"text": text}],
        "counter_examples": [{"text": "y"}]}))
    assert entry is not None, problems  # RE2 compiles it


def test_help_teaches_the_draft_flow(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["kb", "draft", "--help"])
    text = capsys.readouterr().out
    assert "precision gate" in text and "status: shadow" in text and "kb promote" in text


def test_no_store_is_an_error_that_says_so(tmp_path: Path, capsys) -> None:
    assert main(["kb", "draft", "--store", f"sqlite:///{tmp_path / 'none.db'}"]) == 2
    assert "no store at" in capsys.readouterr().err

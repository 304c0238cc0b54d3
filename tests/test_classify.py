from pathlib import Path

import pytest

from tests.kb_entries import write_entries
from worker.core import matcher as engine
from worker.core.classify import Classifier
from worker.knowledge.loader import load_kb
from worker.model import Block, JobKey

JOB = JobKey("acme/infra", "1", 1, "plan")
def block(*lines: str, certain: bool = True) -> Block:
    return Block(JOB, tuple(lines), 1, 0.0, certain=certain)


def test_priority_then_specificity_picks_one_and_records_the_rest(tmp_path: Path) -> None:
    root = write_entries(tmp_path, [
        {"id": "policy/generic", "sig": "AccessDenied", "priority": 20,
         "regex": "AccessDenied"},
        {"id": "policy/specific", "sig": "AccessDenied s3", "priority": 80,
         "regex": "AccessDenied (?P<action>s3:[A-Za-z]+)"},
        {"id": "policy/longer", "sig": "AccessDenied s3:GetObject x", "priority": 20,
         "regex": "AccessDenied s3:GetObject x"},
    ])
    c = Classifier(load_kb(root))
    m = c.classify(block("Error: AccessDenied s3:GetObject x"))
    assert m is not None
    assert m.kb_id == "policy/specific" and m.fields == {"action": "s3:GetObject"}
    assert m.also_matched == ("policy/longer", "policy/generic")  # longer pattern first


def test_unclassified_and_uncertain_blocks(tmp_path: Path) -> None:
    root = write_entries(tmp_path, [{"id": "policy/x", "sig": "X", "priority": 50, "regex": "XYZ"}])
    c = Classifier(load_kb(root))
    unknown = c.classify(block("Error: something new"))
    assert unknown is not None and unknown.kb_id is None
    assert c.classify(block("3 tests failed", certain=False)) is None


@pytest.mark.skipif(not engine.hyperscan_available(), reason="hyperscan not installed")
def test_hyperscan_and_re2_agree_on_every_kb_example(kb) -> None:
    hs, r2 = Classifier(kb, "hyperscan"), Classifier(kb, "re2")
    texts = [ex.text for e in kb for ex in (*e.examples, *e.counter_examples)]
    for text in texts:
        norm = "\n".join(line.strip(" \t│╷╵") for line in text.split("\n"))
        assert [e.id for e in hs.candidates(norm)] == [e.id for e in r2.candidates(norm)]


def test_hostile_input_is_classified_safely(classifier) -> None:
    """A 2 MB line with NUL and \\xff characters and 10 000 unbalanced '(' is classified
    without an error. Not timed (timed tests flake on a shared machine): time linear in the
    input is guaranteed by the engines, Hyperscan and RE2 (worker/core/matcher.py, module
    docstring; every KB pattern is compiled with re2 in worker/core/classify.py)."""
    text = "Error: " + "a" * 2_000_000 + "\x00\xff" + "(" * 10_000
    m = classifier.classify(block(text))
    assert m is not None


@pytest.mark.skipif(not engine.hyperscan_available(), reason="hyperscan not installed")
def test_compiled_databases_are_cached_and_a_bad_cache_is_recompiled(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TFPULSE_CACHE_DIR", str(tmp_path))
    patterns = [r"Error: (?P<what>\w+)", r"denied"]
    text = b"ok\nError: AccessDenied\nfine\naccess denied\n"
    first = engine.build(patterns, "hyperscan")
    cached = sorted((tmp_path / "hyperscan").glob("*.db"))
    assert len(cached) == 1  # the scan database; offsets() compiles a second one on use
    want = (first.scan("Error: x is denied"), first.offsets(text))
    assert len(list((tmp_path / "hyperscan").glob("*.db"))) == 2
    again = engine.build(patterns, "hyperscan")  # loaded, not compiled
    assert (again.scan("Error: x is denied"), again.offsets(text)) == want
    for path in (tmp_path / "hyperscan").glob("*.db"):
        path.write_bytes(b"not a database")
    broken = engine.build(patterns, "hyperscan")
    assert (broken.scan("Error: x is denied"), broken.offsets(text)) == want
    assert all(p.read_bytes() != b"not a database" for p in (tmp_path / "hyperscan").glob("*.db"))


def test_candidates_hold_every_confirmed_hit(kb) -> None:
    """Classifier reads the engine's unconfirmed candidates (it searches each pattern for its
    groups anyway): they must hold every hit scan confirms, on every KB example."""
    patterns = [p.regex for entry in kb for p in entry.patterns]
    texts = [ex.text for entry in kb for ex in (*entry.examples, *entry.counter_examples)]
    for name in ("hyperscan", "re2") if engine.hyperscan_available() else ("re2",):
        scanner = engine.build(patterns, name)
        hits = 0
        for text in texts:
            confirmed = scanner.scan(text)
            assert set(confirmed) <= set(scanner.candidates(text)), (name, text[:80])
            hits += len(confirmed)
        assert hits > len(texts) / 2

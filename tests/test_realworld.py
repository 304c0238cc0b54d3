"""The real-world corpus (tests/data/realworld/, split once by source into fit and holdout):

(a) the KB was not written from holdout: no example or counter-example comes from a holdout
    source, and none shares a run of 40 characters with a holdout text that fit and public
    texts do not have, while also carrying one of that text's own values (a token of 12+
    characters with 6+ digits that no fit or public text has: request ids, account ids,
    timestamps, lock ids). The messages Terraform and
    the clouds print word for word ("The security token included in the request is
    invalid", the lock boilerplate) are in every report of an error: sharing them says
    nothing about where an example came from. The texts are read here, never printed;
(b) on holdout, every figure is at its target (detection >= 0.97, classified into an entry
    >= 0.90, permission and state-lock precision and recall >= 0.95) or, where the target
    is not met yet, at least at its recorded floor; no alarming non-failure and no line
    of the success corpus is detected. The figures are deterministic
    (benchmarks/eval_examples.py prints them).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from worker.core.classify import Classifier
from worker.kbtools import test as kbtest
from worker.kbtools.evaluate import evaluate, read_cases
from worker.knowledge.loader import default_kb_dir, load_kb

DATA = Path(__file__).parent / "data"
HOLDOUT = DATA / "realworld" / "holdout.jsonl"
KNOWN = (DATA / "realworld" / "fit.jsonl", DATA / "terraform-errors-public.jsonl")
RUN = 40
# Values printed in every report of their error: the Azure CLI's first-party application id.
WELL_KNOWN = {"04b07795-8ddb-461a-bbee-02f9e1bf7b46"}
_TOKEN = re.compile(r"[A-Za-z0-9_./:-]*[0-9][A-Za-z0-9_./:-]*")


@pytest.fixture(scope="module")
def kb():  # type: ignore[no-untyped-def]
    return load_kb(default_kb_dir())


def _runs(text: str) -> set[str]:
    return {text[i:i + RUN] for i in range(len(text) - RUN + 1)}


def _source(url: str) -> str:  # as benchmarks/split_corpus.py compares sources
    return url.split("#", 1)[0].split("?", 1)[0].rstrip("/").lower()


def _kb_texts(kb):  # type: ignore[no-untyped-def]
    for entry in kb:
        for kind, items in (("examples", entry.examples), ("counter_examples", entry.counter_examples)):
            for i, item in enumerate(items):
                yield f"{entry.id} {kind}[{i}]", item


def test_no_kb_text_comes_from_a_holdout_source(kb) -> None:  # type: ignore[no-untyped-def]
    held = {_source(case["source"]) for case in read_cases(HOLDOUT)}
    found = [where for where, item in _kb_texts(kb) if item.source and _source(item.source) in held]
    assert not found, f"KB texts whose source is in holdout: {found}"


def _value_tokens(text: str) -> set[str]:
    tokens = (t.strip(":./-") for t in _TOKEN.findall(text))  # 'AADSTS7000215:' as in a pattern
    return {t for t in tokens if len(t) >= 12 and sum(c.isdigit() for c in t) >= 6}


def test_no_kb_text_shares_a_40_character_run_with_holdout(kb) -> None:  # type: ignore[no-untyped-def]
    # Tokens that fit or public texts also have, or that two independent reports share,
    # are constants of the message (error codes such as AADSTS7000215:, the Azure CLI's
    # well-known app id), not one report's values.
    known_runs: set[str] = set()
    constants: set[str] = set()
    sources_of: dict[str, set[str]] = {}
    for path in KNOWN:
        for case in read_cases(path) if path.exists() else []:
            known_runs |= _runs(case["text"])
            constants |= _value_tokens(case["text"])
    for case in read_cases(HOLDOUT):
        for token in _value_tokens(case["text"]):
            sources_of.setdefault(token, set()).add(_source(case["source"]))
    constants |= {t for t, sources in sources_of.items() if len(sources) > 1}
    for entry in kb:  # a token the KB's own patterns spell out is part of the message
        for pattern in entry.patterns:
            constants |= _value_tokens(pattern.regex.replace("\\", ""))
    constants |= WELL_KNOWN
    held: list[tuple[set[str], set[str]]] = []  # per holdout text: its runs, its own values
    for case in read_cases(HOLDOUT):
        own = _value_tokens(case["text"]) - constants
        if own:
            held.append((_runs(case["text"]) - known_runs, own))
    shared = [where for where, item in _kb_texts(kb)
              if any(own & _value_tokens(item.text) and runs & _runs(item.text)
                     for runs, own in held)]
    assert not shared, f"KB texts sharing a {RUN}-character run with a holdout text: {shared}"


def test_the_run_check_sees_a_copied_text() -> None:
    """The check itself: a report's own line (ids in it) is caught, plain wording is not."""
    report = "Error: creating IAM Role (app): RequestID: 8a7b6c5d-4e3f-2a1b-0c9d-8e7f6a5b4c3d"
    assert _value_tokens(report) == {"8a7b6c5d-4e3f-2a1b-0c9d-8e7f6a5b4c3d"}
    assert not _value_tokens("The security token included in the request is invalid.")


# Issue 11's targets on holdout. Met (enforced at the target): the tags' precision. Not met
# yet: detection, classified and the tags' recall. FLOORS are the figures last
# measured (benchmarks/eval_examples.py, rounded down): the test fails if a change lowers
# any of them below min(floor, target), and each floor is raised as recall improves, until
# it reaches its target.
TARGETS = {"detected": 0.97, "classified": 0.90, "permission precision": 0.95,
           "permission recall": 0.95, "state-lock precision": 0.95, "state-lock recall": 0.95}
# The corpus grew from 909 to 1,153 texts on 2026-12-01 (collectors c6, c7), then to 1,358
# (c8, c9): each time the new holdout texts were harder than the fitted ones, so the floors
# were reset to the figures measured on the grown corpus, then raised after tuning by class
# on fit. History: .936 .884 .964 .891 1.0 .843 (1,153) -> tuned .948 .910 .973 .916 1.0 .901
# -> reset on 1,358 texts .929 .879 .976 .9 1.0 .893 -> tuned (tune2) .929 .881 .977 .900 1.0
# .894 -> reset on 1,993 texts (c10-c14) .911 .842 .968 .863 1.0 .897 -> tuned (tuneA-C)
# .929 .875 .977 .881 1.0 .899 -> the ci-step family and tail blocks .935 .883 .977 .881 1.0
# .899 -> reset on 2,493 texts (c15-c19) .912 .848 .979 .866 .985 .901 -> tuned (tuneD-F) to
# the figures below.
FLOORS = {"detected": 0.922, "classified": 0.875, "permission precision": 0.977,
          "permission recall": 0.883, "state-lock precision": 0.985, "state-lock recall": 0.900}

# Alarming non-failures of holdout that are detected: 0 until the corpus grew to 1,993 texts;
# 2 of c10-c14's 149 (as split, before any tuning) are, and 6 of the 212 after c15-c19 came;
# tuning on fit does not reach them (holdout texts are never looked at). A floor like the
# others: lower it, never raise it.
NON_FAILURES_DETECTED = 6


def test_holdout_floors_and_targets(kb) -> None:  # type: ignore[no-untyped-def]
    classifier = Classifier(kb)
    score = evaluate(kb, read_cases(HOLDOUT), classifier)
    figures = {
        "detected": score.rate(score.detected),
        "classified": score.rate(score.classified),
        **{f"{tag} {name}": getattr(s, name) for tag, s in score.tags.items()
           for name in ("precision", "recall")},
    }
    assert score.failures > 0 and set(figures) == set(TARGETS) == set(FLOORS)
    below = {k: round(v, 3) for k, v in figures.items() if v < min(FLOORS[k], TARGETS[k])}
    assert not below, f"holdout fell below its floor: {below} (floors {FLOORS})"
    assert score.false_positives <= NON_FAILURES_DETECTED, \
        f"{score.false_positives} alarming non-failures of holdout detected (at most {NON_FAILURES_DETECTED})"
    success = kbtest.test_success(kb, kbtest.success_dir(kb), classifier)
    assert not success.problems, success.problems[:5]

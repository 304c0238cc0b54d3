"""A file's format is told by its whole first line: JSONL whose first line is longer than
any peek (10 KiB, gzip or not, after a BOM or blank lines) is still JSONL, in `replay`
and in `classify`; a raw log stays a raw log."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import orjson
import pytest

from worker.cli.main import main
from worker.knowledge.entry import KnowledgeBase
from worker.sources.files import open_input

ENTRY = "aws/expired-token"


def _events(kb: KnowledgeBase) -> bytes:
    lines = [orjson.dumps({"message": "x" * 10_000, "repo": "acme/a", "run_id": "0",
                           "job": "long", "timestamp": "2026-11-30T09:00:00Z"})]
    for job in ("a", "b", "c"):
        lines += [orjson.dumps({"message": line, "repo": "acme/a", "run_id": "1", "job": job,
                                "timestamp": "2026-11-30T10:00:00Z"})
                  for line in kb.entries[ENTRY].examples[1].text.splitlines()]
    return b"\n".join(lines) + b"\n"


@pytest.mark.parametrize("shape", ["plain", "gzip", "bom", "blank-lines"])
def test_jsonl_with_a_long_first_line_is_jsonl(kb: KnowledgeBase, tmp_path: Path, shape: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    data = _events(kb)
    data = {"plain": data, "gzip": gzip.compress(data), "bom": b"\xef\xbb\xbf" + data,
            "blank-lines": b"\n\n  \n" + data}[shape]
    path = tmp_path / "events.jsonl"
    path.write_bytes(data)
    inp = open_input(str(path))
    assert inp.jsonl
    inp.close()
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert main(["replay", str(path), "--store", url, "--top", "0", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["stats", "--store", url, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["occurrences"] == 3
    assert main(["classify", str(path), "--format", "json"]) == 1
    found = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [f["kb_id"] for f in found] == [ENTRY] * 3


def test_a_raw_log_is_read_whole_after_sniffing(tmp_path: Path) -> None:
    path = tmp_path / "build.log"
    text = b"{not json at all " + b"y" * 70_000 + b"\nsecond line\nthird\n"
    path.write_bytes(text)
    inp = open_input(str(path))
    assert not inp.jsonl and inp.reader.read() == text
    inp.close()

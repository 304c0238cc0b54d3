"""Load and validate the knowledge base: one YAML file per entry under kb/.

The KB is data reviewed like code, so a bad entry must say exactly where it is wrong:
every problem names the file, the line and the field. The worker never starts on a
half-loaded KB: `load_kb` raises `KbError` with every problem found.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import yaml

from worker import DATA_DIR
from worker.knowledge.entry import (
    DEFAULT_PRIORITY,
    DeadEndSignal,
    Entry,
    Example,
    KbError,
    KnowledgeBase,
    Pattern,
)
from worker.knowledge.schema import validate_entry
from worker.knowledge.tagrules import RULES_FILE, TagRule, build_rule, check_rule

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 10x faster
MASKS_FILE = DATA_DIR / "masks.yaml"


def default_kb_dir() -> Path:
    """TFPULSE_KB, else the kb/ beside the package (a checkout or an editable install)."""
    env = os.environ.get("TFPULSE_KB")
    if env:
        return Path(env)
    return DATA_DIR.parent.parent / "kb"


def load_masks(path: Path = MASKS_FILE) -> tuple[tuple[re.Pattern[str], str], ...]:
    """The masks that template unclassified errors, in order (Python regexes: they are
    applied to short summary lines only, never to whole logs)."""
    rules = yaml.safe_load(path.read_text())
    return tuple((re.compile(r["regex"]), r["repl"]) for r in rules)


def entry_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.yaml") if not p.name.startswith("_"))


def load_kb(root: Path | None = None) -> KnowledgeBase:
    """Load every entry under root; raise KbError listing every problem."""
    root = root or default_kb_dir()
    if not root.is_dir():
        raise KbError([f"{root}: the knowledge base folder does not exist "
                       "(set TFPULSE_KB or pass --kb DIR)"])
    problems: list[str] = []
    entries: dict[str, Entry] = {}
    digest = hashlib.sha256()
    for path in entry_files(root):
        raw = path.read_bytes()
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + raw)
        entry, errs = load_entry(path, root, raw.decode("utf-8", errors="replace"))
        problems.extend(errs)
        if entry is None:
            continue
        if entry.id in entries:
            problems.append(f"{path}:1: id: duplicate id {entry.id!r} "
                            f"(also in {entries[entry.id].path})")
            continue
        entries[entry.id] = entry
    if not entries and not problems:
        problems.append(f"{root}: no entries found (expected kb/<domain>/<slug>.yaml files)")
    rules: tuple[TagRule, ...] = ()
    rules_path = root / RULES_FILE
    if rules_path.is_file():
        raw = rules_path.read_bytes()
        digest.update(RULES_FILE.encode() + b"\0" + raw)
        rules, errs = load_tag_rules(rules_path, raw.decode("utf-8", errors="replace"))
        problems.extend(errs)
    if problems:
        raise KbError(problems)
    return KnowledgeBase(entries, root, digest.hexdigest()[:12], load_masks(), rules)


def load_tag_rules(path: Path, text: str) -> tuple[tuple[TagRule, ...], list[str]]:
    """The tag rules file: a list of rules. Returns (rules, problems naming file:line: field)."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        return (), [f"{path}:{line}: (yaml): {getattr(exc, 'problem', exc)}; fix the YAML syntax"]
    data = yaml.load(text, Loader=_Loader) if node is not None else []
    if not isinstance(data, list):
        return (), [f"{path}:1: (file): must hold a list of rules"]
    rules, problems = [], []
    for i, item in enumerate(data):
        line = _line_of(node, (i,))
        errs = check_rule(item)
        problems += [f"{path}:{_line_of(node, (i, field))}: [{i}].{field}: {message}"
                     for field, message in errs]
        if not errs:
            rules.append(build_rule(item, line))
    return tuple(rules), problems


def load_entry(path: Path, root: Path, text: str) -> tuple[Entry | None, list[str]]:
    """Parse and validate one file. Returns (entry or None, problems)."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        return None, [f"{path}:{line}: (yaml): {getattr(exc, 'problem', exc)}; fix the YAML syntax"]
    expected_id = path.relative_to(root).with_suffix("").as_posix()
    errors = validate_entry(data, expected_id)
    if errors:
        return None, [f"{path}:{_line_of(node, err.path)}: {err.field}: {err.message}"
                      for err in errors]
    assert node is not None
    return _build(path, data, node), []  # validate_entry proved data is a mapping


def _build(path: Path, data: Any, node: yaml.Node) -> Entry:
    patterns = tuple(Pattern(p["regex"], bool(p.get("multiline", False)))
                     for p in (_as_pattern(p) for p in data["patterns"]))
    dead_ends = list(data.get("dead_ends") or [])
    signals = tuple(
        DeadEndSignal(s["regex"], int(s.get("dead_end", 0)),
                      str(dead_ends[int(s.get("dead_end", 0))].get("action", "")))
        for s in data.get("dead_end_signals") or []
    )
    return Entry(
        id=data["id"],
        path=path,
        category=str(data["category"]),
        tags=tuple(data["tags"]),
        priority=int(data.get("priority", DEFAULT_PRIORITY)),
        patterns=patterns,
        examples=_examples(data.get("examples"), node, "examples"),
        counter_examples=_examples(data.get("counter_examples"), node, "counter_examples"),
        dead_end_signals=signals,
        data=data,
        family=data.get("family"),
        fallback=bool(data.get("fallback", False)),
        status=str(data.get("status", "live")),
    )


def _as_pattern(item: Any) -> dict[str, Any]:
    return {"regex": item} if isinstance(item, str) else dict(item)


def _examples(items: Any, node: yaml.Node, key: str) -> tuple[Example, ...]:
    out = []
    for i, item in enumerate(items or []):
        fields = {str(k): str(v) for k, v in (item.get("fields") or {}).items()}
        out.append(Example(str(item["text"]), fields, item.get("source"),
                           _line_of(node, (key, i))))
    return tuple(out)


def _line_of(node: yaml.Node | None, path: tuple[Any, ...]) -> int:
    """1-based line of the node at path (keys and list indexes), or of its nearest parent."""
    line = node.start_mark.line + 1 if node is not None else 1
    for step in path:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if getattr(k, "value", None) == step), None)
            if found is None:
                key_node = next((k for k, _ in node.value if getattr(k, "value", None) == step),
                                None)
                return key_node.start_mark.line + 1 if key_node is not None else line
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) \
                and step < len(node.value):
            node = node.value[step]
        else:
            return line
        line = node.start_mark.line + 1
    return line

"""Export KB entries as ErrorCanon JSON and import ErrorCanon JSON as KB entries.

Two input shapes are read: the flat ErrorCanon entry (the seed, and what `kb export`
writes, with tfpulse's own fields under `x_tfpulse`) and the nested deadends.dev canon
(`error`, `verdict`, `environment`, `metadata`). A canon without tfpulse fields gets an
honest starting point (tags, patterns, examples, a counter-example) and
`verification: imported-unreviewed`; see docs/kb-format.md, "Import and export".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import re2

from worker.core import matcher
from worker.kbtools.lint import can_match_newline
from worker.knowledge.schema import CATEGORIES, validate_entry

CANON_FIELDS = (
    "id", "signature", "signature_zh", "regex", "domain", "category", "subcategory",
    "root_cause", "root_cause_type", "root_cause_zh", "versions", "os_specific", "dead_ends",
    "workarounds", "workarounds_zh", "fix_rate", "confidence", "evidence_count", "first_seen",
    "verification", "official_docs",
)
TFPULSE_FIELDS = ("family", "fallback", "status", "tags", "priority", "patterns", "examples",
                  "counter_examples", "dead_end_signals")
EXT = "x_tfpulse"
UNREVIEWED = "imported-unreviewed"
IMPORTED_PRIORITY = 10  # below every reviewed entry: an unreviewed import never outranks one
_EMPTY: dict[str, Any] = {"versions": [], "os_specific": {}, "dead_ends": [], "workarounds": [],
                          "workarounds_zh": [], "official_docs": []}
# The one mapping of non-ErrorCanon categories to ErrorCanon's ten (docs/kb-format.md,
# "Category mapping"): every category the deadends.dev canons use, and common synonyms. The
# original category is kept in `subcategory`; a category in neither list is refused.
CATEGORY_MAP = {syn: cat for cat, syns in {
    "auth_error": "authentication iam iam_error permission_error permissions credentials secrets"
                  " cognito publishing",
    "state_error": "state workspace refactor_error refactoring lifecycle_error",
    "timeout_error": "timeout test_execution",
    "provider_error": "providers api_error availability_error",
    "quota_error": "throttle_error throttling_error resource_limit resource_limits",
    "config_error": "config configuration validation_error reference_error meta-arguments init"
                    " workflow_syntax pipeline_syntax workflow workflow_error runtime_version"
                    " path_handling configuration_management testing code_quality",
    "dependency_error": "dependency_install dependency_management module_error graph registry"
                        " caching artifacts git_operation security",
    "resource_error": "conflict_error deployment deployment_error cluster_error compute_error"
                      " container_error build build_error docker_build build_optimization"
                      " gitops release concurrency messaging_error pipeline_error infrastructure"
                      " security_error data_error cloudwatch lambda rds s3 sqs ssm ecs",
}.items() for syn in syns.split()}
CATEGORY_TAGS = {
    "auth_error": "permission", "state_error": "backend", "config_error": "config",
    "network_error": "network", "quota_error": "quota", "provider_error": "provider",
    "timeout_error": "timeout", "dependency_error": "dependency", "syntax_error": "syntax",
}
KEYWORD_TAGS = (
    ("state-lock", re.compile(r"state[ -]?lock|acquir\w* (?:the )?(?:state )?lock|lock info"
                              r"|lock id|conditionalcheckfailed", re.I)),
    ("throttling", re.compile(r"throttl|rate exceeded|rate[ -]limit|too many requests", re.I)),
    ("conflict", re.compile(r"already (?:exists|managed)|conflict", re.I)),
    ("module", re.compile(r"\bmodule\b", re.I)),
)
CREDENTIAL_WORDS = re.compile(r"credential|token|expired|login|authenticat|secret|signature",
                              re.I)
DOMAIN_TAGS = frozenset({"aws", "gcp", "azure", "kubernetes"})
# deadends.dev canon: our field -> where it lives in their JSON
DEADENDS_SOURCES = {f: f"$.error.{f}" for f in ("signature", "regex", "domain", "category",
                                                "first_seen")} | {
    "id": "$.id", "root_cause": "$.verdict.summary", "fix_rate": "$.verdict.fix_success_rate",
    "confidence": "$.verdict.confidence", "evidence_count": "$.metadata.evidence_count",
    "dead_ends": "$.dead_ends", "workarounds": "$.workarounds", "versions": "$.environment.runtime"}
_RE2_META = re.compile(r"([\\.+*?()|\[\]{}^$])")


class CanonError(Exception):
    """One refused input: file, JSON path, reason."""

    def __init__(self, file: Path, where: str, reason: str):
        self.file, self.where, self.reason = file, where, reason
        super().__init__(f"{file}: {where}: {reason}")


def to_canon(data: Mapping[str, Any]) -> dict[str, Any]:
    """One entry's YAML mapping as ErrorCanon JSON (every ErrorCanon field, plus x_tfpulse)."""
    out = {k: data.get(k, _EMPTY.get(k)) for k in CANON_FIELDS}
    out[EXT] = {k: data[k] for k in TFPULSE_FIELDS if k in data}
    return out


@dataclass
class Converted:
    file: Path
    data: dict[str, Any]
    sources: dict[str, str]  # field -> JSON path in the input, for messages
    url: str | None = None


def validate(conv: Converted, seen: dict[str, Path]) -> None:
    """Raise CanonError naming the input's JSON path unless the entry is valid and new."""
    kb_id = conv.data["id"]
    if kb_id in seen:
        raise CanonError(conv.file, conv.sources.get("id", "$.id"),
                         f"id {kb_id!r} is also imported from {seen[kb_id]}")
    errors = validate_entry(conv.data, kb_id)
    if errors:
        err = errors[0]
        head = conv.sources.get(str(err.path[0]), f"$.{err.path[0]}") if err.path else "$"
        tail = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.path[1:])
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise CanonError(conv.file, head + tail, err.message + more)
    seen[kb_id] = conv.file


def convert(file: Path, doc: Any) -> Converted:
    """A parsed canon of either shape -> a tfpulse entry mapping (maybe without tfpulse fields)."""
    if not isinstance(doc, dict):
        raise CanonError(file, "$", f"must be a JSON object (one canon), not {type(doc).__name__}")
    if "error" in doc:
        data, sources = _from_deadends(file, doc), dict(DEADENDS_SOURCES)
    else:
        data = {k: doc[k] for k in CANON_FIELDS if k in doc}
        sources = {k: f"$.{k}" for k in CANON_FIELDS}
    ext = doc.get(EXT)
    if ext is not None:
        if not isinstance(ext, dict):
            raise CanonError(file, f"$.{EXT}", "must be an object")
        data.update({k: ext[k] for k in TFPULSE_FIELDS if k in ext})
        sources.update({k: f"$.{EXT}.{k}" for k in TFPULSE_FIELDS} | {EXT: f"$.{EXT}"})
    data = {k: v for k, v in data.items() if v is not None and not (k in _EMPTY and v == _EMPTY[k])}
    _identify(file, data, sources)
    url = doc.get("url") if isinstance(doc.get("url"), str) else None
    if url and url not in data.get("official_docs", []):  # the canon's own page: its source
        data["official_docs"] = [*data.get("official_docs", []), url]
    return Converted(file, data, sources, url)


def _from_deadends(file: Path, doc: dict[str, Any]) -> dict[str, Any]:
    data = {f: _at(file, doc, path) for f, path in DEADENDS_SOURCES.items()}
    runtime = data.pop("versions")
    if isinstance(runtime, dict) and runtime.get("name"):
        data["versions"] = [{"version": f"{runtime['name']} {runtime.get('version_range') or ''}"
                             .strip()}]
    return data


def _at(file: Path, doc: dict[str, Any], path: str) -> Any:
    node: Any = doc
    keys = path.split(".")[1:]
    for i, key in enumerate(keys):
        if node is None:
            return None
        if not isinstance(node, dict):
            raise CanonError(file, ".".join(["$", *keys[:i]]), "must be an object")
        node = node.get(key)
    return node


def _identify(file: Path, data: dict[str, Any], sources: dict[str, str]) -> None:
    """Derive the tfpulse id (lowercase domain/slug) and an ErrorCanon category."""
    raw, domain = data.get("id"), data.get("domain")
    if not isinstance(raw, str) or not raw.strip():
        raise CanonError(file, sources["id"], "a non-empty id is required")
    segs = [s for s in (_slug(p) for p in raw.split("/")) if s]
    domain = (_slug(domain) if isinstance(domain, str) else "") or \
        (segs[0] if len(segs) > 1 else "")
    if not domain:
        raise CanonError(file, sources["domain"], "a domain is required")
    if len(segs) > 1 and segs[0] == domain:
        segs = segs[1:]
    if not segs:
        raise CanonError(file, sources["id"], f"no slug can be derived from {raw!r}")
    data["id"], data["domain"] = f"{domain}/{'-'.join(segs)}", domain
    category = data.get("category")
    if isinstance(category, str) and category not in CATEGORIES:
        if category not in CATEGORY_MAP:
            raise CanonError(file, sources["category"], f"{category!r} is not an ErrorCanon "
                             f"category (one of {sorted(CATEGORIES)}) nor in CATEGORY_MAP "
                             "(worker/kbtools/canon.py)")
        data["category"] = CATEGORY_MAP[category]
        data.setdefault("subcategory", category)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def add_starting_point(conv: Converted, pool: list[tuple[str, Any]]) -> None:
    """Tags, patterns, examples and a counter-example to start a review from."""
    data = conv.data
    signature = data.get("signature")
    if not isinstance(signature, str) or not signature.strip():
        return  # validation refuses the entry naming the signature
    data["verification"] = UNREVIEWED
    data["tags"] = derive_tags(data)
    data["priority"] = IMPORTED_PRIORITY
    data["patterns"] = [{"regex": derive_pattern(data.get("regex"), signature)}]
    src = {"source": conv.url} if conv.url else {}
    data["examples"] = [{"text": signature, **src}, {"text": _framed(signature), **src}]
    data["counter_examples"] = [_counter_example(data, pool)]
    conv.sources.update({k: f"(generated {k})" for k in TFPULSE_FIELDS})


def derive_tags(data: Mapping[str, Any]) -> list[str]:
    words = " ".join(str(data.get(k) or "") for k in ("id", "signature", "regex", "subcategory"))
    tags = [CATEGORY_TAGS.get(str(data.get("category")), "")]
    if data.get("category") == "auth_error" and CREDENTIAL_WORDS.search(words):
        tags.append("credentials")
    tags += [tag for tag, rx in KEYWORD_TAGS if rx.search(words)]
    if data.get("domain") in DOMAIN_TAGS:
        tags.append(str(data["domain"]))
    tags = list(dict.fromkeys(t for t in tags if t))
    return tags if set(tags) - DOMAIN_TAGS else ["provider", *tags]


def derive_pattern(regex: Any, signature: str) -> str:
    """The published regex when it is safe for tfpulse, else the escaped first line."""
    if isinstance(regex, str) and regex and _usable(regex, signature):
        return regex
    return _RE2_META.sub(r"\\\1", signature.strip().splitlines()[0].strip())


def _usable(regex: str, signature: str) -> bool:
    try:
        compiled = re2.compile(regex)
    except re2.error:
        return False
    if can_match_newline(regex) or compiled.search("") is not None:
        return False
    if any(not re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in compiled.groupindex):
        return False
    return not matcher.hyperscan_compile_error(regex) and compiled.search(signature) is not None


def _framed(text: str) -> str:
    return "\n".join(["╷", *(f"│ {line}" for line in text.splitlines()), "╵"])


def _counter_example(data: Mapping[str, Any], pool: list[tuple[str, Any]]) -> dict[str, Any]:
    regex = re2.compile(data["patterns"][0]["regex"])
    start = next((i for i, (kb_id, _) in enumerate(pool) if kb_id == data["id"]), 0)
    for kb_id, text in pool[start + 1:] + pool[:start]:
        if isinstance(text, str) and text != data["signature"] and not regex.search(text):
            return {"text": text, "source": f"placeholder: the signature of {kb_id}; "
                                             "replace with a real near miss"}
    return {"text": "Error: placeholder counter-example; replace with a real near miss",
            "source": "placeholder"}

"""The schema of one KB entry, checked field by field (see docs/kb-format.md).

Hand-written rather than JSON Schema because each message must say how to fix the
entry, and the checks that matter most (a pattern compiles in RE2, a dead-end signal
points at a dead end) are not expressible in JSON Schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import re2

# The tag vocabulary: what kind of failure (shown in summaries such as `replay --top`),
# other traits, and the platform.
FAILURE_KINDS = ("permission", "state-lock", "credentials", "backend", "provider", "network",
                 "quota", "throttling", "syntax", "config", "timeout", "conflict")
PLATFORMS = ("aws", "gcp", "azure", "kubernetes", "hcp", "opentofu")
TAGS = frozenset({*FAILURE_KINDS, "dependency", "module", "wrapper", "ci", *PLATFORMS})
CATEGORIES = frozenset({
    "auth_error", "state_error", "config_error", "network_error", "resource_error",
    "quota_error", "provider_error", "timeout_error", "dependency_error", "syntax_error",
})
# Families group entries by what failed, across causes (docs/kb-format.md "Families"): each
# has a generic fallback entry of low priority that catches what no specific entry does.
FAMILIES = (
    "state-lock",           # acquiring, holding or releasing the state lock, whatever the cause
    "state-access",         # reading or writing state in the backend (bucket, checksum, key)
    "aws-access-denied",    # an AWS authorization denial (IAM, SCP, KMS, resource policy)
    "aws-credentials",      # AWS credentials missing, expired, invalid, or a role not assumable
    "gcp-permission",       # a GCP permission denial (403 on a resource or project)
    "gcp-credentials",      # GCP credentials missing or invalid (ADC, invalid_grant)
    "azure-authorization",  # an Azure authorization failure (RBAC, 403)
    "azure-credentials",    # Azure sign-in: AADSTS, CLI not logged in, subscription not found
    "kubernetes-auth",      # Kubernetes/Helm Unauthorized, forbidden, exec credential plugins
    "cloud-api",            # a cloud API refused the request: quota, throttling, conflict
    "resource-timeout",     # waiting for a resource state timed out or ended in a failed state
    "terraform-config",     # the configuration does not validate (HCL, arguments, references)
    "terraform-init",       # init: providers, modules, backend (re)initialization
    "provider-crash",       # a provider plugin crashed or misbehaved
    "network",              # the endpoint could not be reached
    "run-wrapper",          # a tool running Terraform (tf-controller, Atlantis, Terragrunt) failed
    "ci-step",              # a step of the job exited non-zero with no Terraform diagnostic shown
)
# An entry's status (docs/kb-format.md "Status"): a live entry classifies and alerts; a
# shadow entry is matched, stored and reported but never alerts and never takes a match
# from a live entry. Drafts (`tfpulse kb draft`) are written as shadow: there is no
# separate draft state, because a draft that is not matched could never earn promotion.
STATUSES = ("live", "shadow")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*(?:/[a-z0-9][a-z0-9-]*)+$")
_FIELD = re.compile(r"^[a-z][a-z0-9_]*$")

# The top-level keys, in the order problems are reported: key, required or optional, type.
_TYPES: dict[str, tuple[type, ...]] = {
    "text": (str,), "text?": (str, type(None)), "int": (int,), "int?": (int, type(None)),
    "number?": (int, float, type(None)), "list": (list,), "mapping": (dict,), "bool": (bool,),
}
_KEYS = """
    id                required  text
    signature         required  text
    signature_zh      optional  text?
    regex             optional  text?
    domain            required  text
    category          required  text
    subcategory       optional  text?
    root_cause        required  text
    root_cause_type   optional  text?
    root_cause_zh     optional  text?
    versions          optional  list
    os_specific       optional  mapping
    dead_ends         required  list
    workarounds       required  list
    workarounds_zh    optional  list
    fix_rate          optional  number?
    confidence        optional  number?
    evidence_count    optional  int?
    first_seen        optional  text?
    verification      optional  text?
    official_docs     optional  list
    family            optional  text?
    fallback          optional  bool
    status            optional  text
    tags              required  list
    priority          optional  int
    patterns          required  list
    examples          required  list
    counter_examples  required  list
    dead_end_signals  optional  list
"""
# key -> (required, accepted types)
TOP_LEVEL: dict[str, tuple[bool, tuple[type, ...]]] = {
    key: (need == "required", _TYPES[kind])
    for key, need, kind in (line.split() for line in _KEYS.strip().splitlines())
}

ITEM_KEYS = {
    "versions": {"version", "introduced", "deprecated", "removed", "behavior_change", "status"},
    "dead_ends": {"action", "why_fails", "fail_rate", "condition", "sources"},
    "workarounds": {"action", "success_rate", "how", "condition", "sources"},
    "patterns": {"regex", "multiline"},
    "examples": {"text", "fields", "source"},
    "counter_examples": {"text", "source"},
    "dead_end_signals": {"regex", "dead_end"},
}


@dataclass(frozen=True)
class SchemaError:
    path: tuple[Any, ...]  # keys and indexes to the offending node
    message: str

    @property
    def field(self) -> str:
        text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path)
        return text.lstrip(".") or "(entry)"  # one style: patterns[0].regex, examples[1]


def validate_entry(data: Any, expected_id: str) -> list[SchemaError]:
    """Every problem of one parsed entry; empty when it is valid."""
    if not isinstance(data, dict):
        return [SchemaError((), "the file must hold one mapping (an entry), not "
                            f"{type(data).__name__}")]
    errs: list[SchemaError] = []
    for key in data:
        if key not in TOP_LEVEL:
            errs.append(SchemaError((key,), "unknown key; allowed keys: see docs/kb-format.md"))
    for key, (required, types) in TOP_LEVEL.items():
        if key not in data:
            if required:
                errs.append(SchemaError((key,), "required field is missing"))
        elif not isinstance(data[key], types) or (isinstance(data[key], bool)
                                                    and bool not in types):
            errs.append(SchemaError((key,), f"must be {' or '.join(t.__name__ for t in types)}"))
    if errs:
        return errs
    errs += _check_identity(data, expected_id)
    errs += _check_items(data)
    errs += _check_patterns(data)
    errs += _check_examples(data)
    return errs


def _check_identity(data: dict[str, Any], expected_id: str) -> list[SchemaError]:
    errs = []
    if not _ID.match(data["id"]):
        errs.append(SchemaError(("id",), "must look like 'domain/slug' (lowercase, digits, '-')"))
    if data["id"] != expected_id:
        errs.append(SchemaError(("id",), f"must equal the file's path under kb/: {expected_id!r}"))
    if data["id"].split("/")[0] != data["domain"]:
        errs.append(SchemaError(("domain",), "must equal the id's first segment"))
    if data["category"] not in CATEGORIES:
        errs.append(SchemaError(("category",), f"unknown category; one of {sorted(CATEGORIES)}"))
    if data.get("family") is not None and data["family"] not in FAMILIES:
        errs.append(SchemaError(("family",), f"unknown family; one of {list(FAMILIES)}"))
    if data.get("fallback") and data.get("family") is None:
        errs.append(SchemaError(("fallback",), "a fallback entry must name its family"))
    errs += _check_status(data)
    tags = data["tags"]
    if not tags:
        errs.append(SchemaError(("tags",), "at least one tag is required"))
    for i, tag in enumerate(tags):
        if tag not in TAGS:
            errs.append(SchemaError(("tags", i), f"{tag!r} is not in the vocabulary {sorted(TAGS)}"))
    if len(set(tags)) != len(tags):
        errs.append(SchemaError(("tags",), "tags repeat"))
    prio = data.get("priority", 50)
    if not 0 <= prio <= 100:
        errs.append(SchemaError(("priority",), "must be between 0 and 100"))
    for key in ("fix_rate", "confidence"):
        if data.get(key) is not None and not 0 <= data[key] <= 1:
            errs.append(SchemaError((key,), "must be between 0 and 1"))
    return errs


def _check_status(data: dict[str, Any]) -> list[SchemaError]:
    status = data.get("status", "live")
    if status in STATUSES:
        return []
    hint = (" (a draft is written as `status: shadow`: it is matched and reported, never "
            "alerts; `tfpulse kb promote ID` makes it live)" if status == "draft" else "")
    return [SchemaError(("status",), f"unknown status {status!r}; one of {list(STATUSES)}"
                        + hint)]


def _item_shape(key: str, i: int, item: Any, not_a_mapping: str) -> list[SchemaError]:
    """An item of a list field must be a mapping with known keys only."""
    if not isinstance(item, dict):
        return [SchemaError((key, i), not_a_mapping)]
    return [SchemaError((key, i, k), f"unknown key; allowed: {sorted(ITEM_KEYS[key])}")
            for k in item if k not in ITEM_KEYS[key]]


def _check_items(data: dict[str, Any]) -> list[SchemaError]:
    errs = []
    for key in ("versions", "dead_ends", "workarounds", "dead_end_signals"):
        for i, item in enumerate(data.get(key) or []):
            errs.extend(_item_shape(key, i, item, "must be a mapping"))
    for key, rate in (("dead_ends", "fail_rate"), ("workarounds", "success_rate")):
        items = data.get(key) or []
        if not items:
            errs.append(SchemaError((key,), "at least one is required"))
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            if not isinstance(item.get("action"), str) or not item["action"].strip():
                errs.append(SchemaError((key, i, "action"), "a non-empty text is required"))
            value = item.get(rate)
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
                errs.append(SchemaError((key, i, rate), "a number between 0 and 1 is required"))
    for i, sig in enumerate(data.get("dead_end_signals") or []):
        if isinstance(sig, dict):
            errs += _check_regex(sig.get("regex"), ("dead_end_signals", i, "regex"))
            idx = sig.get("dead_end", 0)
            if not isinstance(idx, int) or not 0 <= idx < len(data["dead_ends"]):
                errs.append(SchemaError(("dead_end_signals", i, "dead_end"),
                                        "must be an index into dead_ends"))
    return errs


def _check_patterns(data: dict[str, Any]) -> list[SchemaError]:
    errs = []
    if not data["patterns"]:
        errs.append(SchemaError(("patterns",), "at least one pattern is required"))
    for i, item in enumerate(data["patterns"]):
        if isinstance(item, str):
            item = {"regex": item}
        if not isinstance(item, dict):
            errs.append(SchemaError(("patterns", i), "must be a mapping {regex, multiline}"))
            continue
        for k in item:
            if k not in ITEM_KEYS["patterns"]:
                errs.append(SchemaError(("patterns", i, k), "unknown key; allowed: regex, multiline"))
        errs += _check_regex(item.get("regex"), ("patterns", i, "regex"))
        if not isinstance(item.get("multiline", False), bool):
            errs.append(SchemaError(("patterns", i, "multiline"), "must be true or false"))
    return errs


_QUIET = re2.Options()
_QUIET.log_errors = False  # the error is reported here, not logged by RE2 on stderr
_UNSUPPORTED = re.compile(r"\\[1-9]|\(\?<?[=!]")  # backreference, lookahead, lookbehind


def _re2_reason(exc: Exception) -> str:
    reason = exc.args[0] if exc.args else str(exc)
    return reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)


def _unsupported_hint(regex: str) -> str:
    if _UNSUPPORTED.search(regex):
        return " (RE2 has no backreferences or lookaround: rewrite without them)"
    return ""


def _check_regex(regex: Any, path: tuple[Any, ...]) -> list[SchemaError]:
    if not isinstance(regex, str) or not regex:
        return [SchemaError(path, "a non-empty RE2 pattern is required")]
    try:
        compiled = re2.compile(regex, _QUIET)
    except re2.error as exc:
        return [SchemaError(path, f"does not compile in RE2: {_re2_reason(exc)}"
                            + _unsupported_hint(regex))]
    errs = []
    for name in compiled.groupindex:
        if not _FIELD.match(name):
            errs.append(SchemaError(path, f"group name {name!r} must be snake_case"))
    if compiled.search("") is not None:
        errs.append(SchemaError(path, "matches the empty string: it would match every block"))
    return errs


def _check_examples(data: dict[str, Any]) -> list[SchemaError]:
    errs = []
    for key, minimum in (("examples", 2), ("counter_examples", 1)):
        items = data[key]
        if len(items) < minimum:
            errs.append(SchemaError((key,), f"at least {minimum} required"))
        for i, item in enumerate(items):
            shape = _item_shape(key, i, item, "must be a mapping {text, fields?, source?}")
            errs.extend(shape)
            if shape and not isinstance(item, dict):
                continue
            if not isinstance(item.get("text"), str) or not item["text"].strip():
                errs.append(SchemaError((key, i, "text"), "the log text is required"))
            fields = item.get("fields")
            if fields is not None and not isinstance(fields, dict):
                errs.append(SchemaError((key, i, "fields"), "must be a mapping field: value"))
    return errs

"""Redact secrets before anything is stored, exported or reported.

CI logs leak credentials: an `export AWS_SECRET_ACCESS_KEY=…` echoed by a debug step, a
presigned URL, a bearer token in a curl command. tfpulse keeps error texts for weeks,
so it removes what looks like a secret the moment a block is turned into an occurrence.
"""

from __future__ import annotations

import re

import re2

REDACTED = "[REDACTED]"

_RULES: list[tuple[re.Pattern[str], str]] = [
    # AWS access key ids (long-term AKIA…, temporary ASIA…)
    (re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"), REDACTED),
    # key=value / key: value for secret-looking names
    (re.compile(
        r"(?i)\b((?:aws_)?(?:secret_access_key|session_token|security_token)|password|passwd|"
        r"secret|token|api[_-]?key|client[_-]?secret|private[_-]?key)(\s*[=:]\s*[\"']?)"
        r"[^\s\"',;]{6,}"), r"\1\2" + REDACTED),
    # X-Amz-Security-Token / Signature in presigned URLs
    (re.compile(r"(?i)(X-Amz-(?:Security-Token|Signature|Credential)=)[^&\s\"']+"),
     r"\1" + REDACTED),
    # passwords in URLs: scheme://user:password@host
    (re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:)[^@\s/]+@"), r"\1" + REDACTED + "@"),
    # bearer / basic authorization headers
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{12,}"), r"\1 " + REDACTED),
    # GitHub, GitLab, Slack tokens; JWTs
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|"
                r"glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,})\b"), REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"), REDACTED),
    # PEM private keys
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)",
                re.S), REDACTED),
]


# Every rule above needs one of these literals (case aside). RE2 finds them in one linear
# pass, so the rules (eight passes of Python's re; milliseconds on a 32 KiB block) run
# only on texts that may hold a secret. tests/test_redact.py checks the superset.
_MAY_HOLD_SECRET = re2.compile(
    r"(?i)akia|asia|agpa|aida|aroa|anpa|anva|aipa|secret|token|passw|api[_-]?key"
    r"|private[_-]?key|x-amz-|://|bearer|basic|gh[pousr]_|github_pat_|glpat-|xox|eyj"
    r"|-----begin")


def redact(text: str) -> str:
    """Text with every secret-looking value replaced by [REDACTED]."""
    if _MAY_HOLD_SECRET.search(text) is None:
        return text
    return apply_rules(text)


def apply_rules(text: str) -> str:
    """The redaction rules themselves, without the literal prefilter."""
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    return text

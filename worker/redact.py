"""Redact secrets before anything is stored, exported or reported.

CI logs leak credentials: an `export AWS_SECRET_ACCESS_KEY=…` echoed by a debug step, a
presigned URL, a bearer token in a curl command. tfpulse keeps error texts for weeks,
so it removes what looks like a secret the moment a block is turned into an occurrence.
"""

from __future__ import annotations

import re

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


def redact(text: str) -> str:
    """Text with every secret-looking value replaced by [REDACTED]."""
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    return text

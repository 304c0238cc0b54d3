"""Redact secrets before anything is stored, exported or reported.

CI logs leak credentials: an `export ARM_CLIENT_SECRET=…` echoed by a debug step, a
presigned URL, a bearer token in a curl command, a token pasted into a job's metadata.
tfpulse keeps error texts for weeks, so it removes what looks like a secret the moment a
block is turned into an occurrence, and it cleans and bounds the job's metadata (repo,
team, job…) before that becomes a store key or a metric label.

Two kinds of rule (docs/design.md, "Redaction"): a value assigned to a secret-looking
name, whatever its format (`TF_VAR_db_password=…`, `"clientSecret": "…"`, `--token …`),
and the self-identifying token formats of a secret scanner's catalogue (`hvs.…`, `ghp_…`,
`AIza…`), found wherever they stand. The rules are RE2 patterns (time linear in the
text, whatever it holds): one `re2.Set` pass says which rules match a text, and only
those run their substitution. The catalogue the rules are tested against is
detect-secrets' plugins and gitleaks' published formats (tests/secret_samples.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import re2

from worker.model import JobInfo, JobKey

REDACTED = "[REDACTED]"
# A metadata value longer than this is cut and given a digest (store keys, labels).
MAX_LABEL = 200


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    regex: str
    repl: str
    pattern: Any  # the compiled re2 pattern


def _rule(name: str, regex: str, repl: str = REDACTED) -> Rule:
    return Rule(name, regex, repl, re2.compile(regex))


# Names whose value is a secret. Preceded by anything (`ARM_CLIENT_SECRET`: `\b` does not
# match after `_`) and followed by at most 40 name characters (a bound, so that a long
# word cannot make the scan quadratic).
# Every keyword of detect-secrets' KeywordDetector is here (tests/test_redact.py checks).
_NAME = (r"(?i:(?:secret|passw(?:or)?d|passphrase|pwd|contrase(?:ñ|Ñ|n)a|token|credentials?"
         r"|(?:api|app|auth|service|access|account|shared[_-]?access|db|database|priv"
         r"|private|client|signing|encryption|master)[_-]?key"
         r"|(?:db|database|key)[_-]?pass|_pass)[A-Za-z0-9_.-]{0,40})")
# `=`, `=>`, `:=` with any spacing, `:` after a quoted name (JSON), or `: ` (YAML,
# headers). A bare `:` is no separator: `arn:aws:secretsmanager:…:secret:x` is no secret.
_SEP_EQ = r"""(?:\\?["']?[ \t]*(?:=>|:=|=)|\\?["'][ \t]*:)[ \t]*"""
_SEP = r"(?:" + _SEP_EQ + r"|[ \t]*:[ \t]+)"
# After `: ` the value must hold a character other than a letter, or a capital after a
# small letter: Go wraps its errors as "getting credentials: decoding stdout: …" and
# "WithAuthorization: Failed to …", and those words are no secrets. Nor is a value of digits
# and colons only but for a number: a position or a time (HCL's "Unknown token: 15:19 IDENT").
_VALUE = r"""[^\s"'`,;&<>\\]"""
_OTHER = r"""[^0-9:\s"'`,;&<>\\]"""  # a value character that is neither digit nor colon
_NOT_A_WORD = (r"""(?:[A-Za-z]{0,79}(?:[^A-Za-z0-9\s"'`,;&<>\\]|[a-z][A-Z]|[A-Za-z][0-9])"""
               + _VALUE + "{4,}"
               + r"|[0-9]+(?:" + _OTHER + r"|:[0-9]*" + _OTHER + r")" + _VALUE + "{2,}"
               + r"|[0-9]{5,})")
_HEX = "[a-f0-9]"

RULES: tuple[Rule, ...] = (
    # PEM private keys (RSA, EC, DSA, OPENSSH, PGP … BLOCK), to their end or the text's end.
    _rule("private key",
          r"-----BEGIN[ A-Z0-9_-]{0,60}PRIVATE KEY(?: BLOCK)?-----(?s:.*?)"
          r"(?:-----END[ A-Z0-9_-]{0,60}PRIVATE KEY(?: BLOCK)?-----|$)"),
    # -- a value assigned to a secret-looking name -------------------------------------
    _rule("assigned, double-quoted", r'(' + _NAME + _SEP + r')(\\?")[^"\\\n]+(\\?")',
          r"\1\2" + REDACTED + r"\3"),
    _rule("assigned, single-quoted", r"(" + _NAME + _SEP + r")'[^'\n]+'",
          r"\1'" + REDACTED + "'"),
    _rule("assigned", r"(" + _NAME + _SEP_EQ + r")" + _VALUE + "{6,}", r"\1" + REDACTED),
    _rule("assigned after ': '",
          r"(" + _NAME + r"[ \t]*:[ \t]+)" + _NOT_A_WORD, r"\1" + REDACTED),
    _rule("command-line flag", r"(--" + _NAME + r"""[ \t]+)[^\s"'-][^\s"']{5,}""",
          r"\1" + REDACTED),
    _rule("authorization header",
          r"((?i:authorization)\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?"
          r"(?:(?i:bearer|basic|token|digest|negotiate|apikey|sso-key)[ \t]+)?)" + _NOT_A_WORD,
          r"\1" + REDACTED),
    _rule("bearer or basic credentials", r"((?i:bearer|basic)[ \t]+)[A-Za-z0-9._~+/=-]{12,}",
          r"\1" + REDACTED),
    _rule("curl --user", r"(curl[ \t][^\n]*?(?:-u|--user)[ \t=]+\\?[\"']?[^\s:\"']+:)"
          r"""[^\s"']+""", r"\1" + REDACTED),
    # scheme://user:password@host; the password may hold '@' (up to the last one).
    _rule("URL password", r"""([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@"'<>]+:)[^\s/"'<>]*@""",
          r"\1" + REDACTED + "@"),
    # Query parameters of presigned and SAS URLs, OAuth callbacks.
    _rule("URL query secret",
          r"([?&](?i:x-amz-(?:security-token|signature|credential)|x-goog-(?:signature|credential)"
          r"|sig|signature|access_token|private_token|client_secret|key|token|password)=)"
          r"""[^&\s"'#<>]+""", r"\1" + REDACTED),
    # -- self-identifying token formats ------------------------------------------------
    _rule("AWS access key id", r"(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])"
          r"[A-Z0-9]{16}"),
    _rule("GitHub token", r"gh[pousr]_[A-Za-z0-9_]{30,}|github_pat_[A-Za-z0-9_]{22,}"),
    _rule("GitLab token", r"(?:glpat|gldt|glft|glsoat|glrt|glcbt|glimt|glptt|glagent|gloas"
          r"|glffct)-[A-Za-z0-9_-]{20,}|GR1348941[A-Za-z0-9_-]{20,}"),
    _rule("Slack token", r"(?i:xox[abposr])-[A-Za-z0-9-]{10,}|xapp-[0-9]-[A-Za-z0-9-]{10,}"),
    _rule("Slack webhook", r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+-]{20,}"),
    _rule("Teams webhook", r"[A-Za-z0-9-]+\.webhook\.office\.com/[^\s\"'<>]+"),
    _rule("JSON web token", r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_+/=-]*)?"),
    _rule("Vault token", r"hv[sbr]\.[A-Za-z0-9_-]{20,}"),
    _rule("Terraform Cloud token", r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{40,}"),
    _rule("Azure AD client secret", r"[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}"),
    _rule("Google API key", r"AIza[A-Za-z0-9_-]{35}"),
    _rule("DigitalOcean token", r"do[opr]_v1_" + _HEX + "{64}"),
    _rule("Doppler token", r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,}"),
    _rule("Databricks token", r"dapi" + _HEX + "{32}(?:-[0-9])?"),
    _rule("Anthropic key", r"sk-ant-(?:api|admin)[0-9]{2}-[A-Za-z0-9_-]{80,}"),
    _rule("OpenAI key", r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}"
          r"|sk-[A-Za-z0-9_-]{0,80}T3BlbkFJ[A-Za-z0-9_-]{20,}"),
    _rule("Stripe key", r"[rs]k_(?:live|test|prod)_[A-Za-z0-9]{10,}"),
    _rule("Square secret", r"sq0(?:csp|atp)-[A-Za-z0-9_-]{22,}"),
    _rule("SendGrid key", r"SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"),
    _rule("Mailchimp key", r"[0-9a-z]{32}-us[0-9]{1,2}"),
    _rule("npm token", r"npm_[A-Za-z0-9]{36}"),
    _rule("PyPI token", r"pypi-AgE[A-Za-z0-9_-]{50,}"),
    _rule("RubyGems key", r"rubygems_" + _HEX + "{48}"),
    _rule("Hugging Face token", r"hf_[A-Za-z]{30,}|api_org_[A-Za-z]{30,}"),
    _rule("age secret key", r"AGE-SECRET-KEY-1[0-9A-Z]{58}"),
    _rule("Pulumi token", r"pul-" + _HEX + "{40}"),
    _rule("Grafana token", r"glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,}={0,3}"),
    _rule("Sentry token", r"sntry[us]_[A-Za-z0-9+/=_]{40,}"),
    _rule("Shopify token", r"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}"),
    _rule("Linear key", r"lin_api_[A-Za-z0-9]{40}"),
    _rule("Postman key", r"PMAK-" + _HEX + "{24}-" + _HEX + "{34}"),
    _rule("PlanetScale token", r"pscale_(?:pw|tkn|oauth)_[A-Za-z0-9_=.-]{32,}"),
    _rule("Dynatrace token", r"dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}"),
    _rule("Infracost key", r"ico-[A-Za-z0-9]{32}"),
    _rule("Alibaba key id", r"LTAI[A-Za-z0-9]{20}"),
    _rule("OpenShift token", r"sha256~[A-Za-z0-9_-]{43}"),
    _rule("Artifactory token", r"AKC[A-Za-z0-9]{40,}|cmVmd[A-Za-z0-9]{59}"),
    _rule("Twilio key", r"(?:AC|SK)" + _HEX + "{32}"),
    _rule("Discord bot token", r"[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}"),
    _rule("Telegram bot token", r"[0-9]{8,10}:[A-Za-z0-9_-]{35}"),
)

# One DFA pass over a text says which rules match; a text that fits none (most error
# blocks) costs that pass only.
_HINTS = re2.Set.SearchSet(re2.Options())
for _r in RULES:
    _HINTS.Add(_r.regex)
_HINTS.Compile()


def _matches(text: str) -> tuple[str, list[int]]:
    """The rules that match text (and text, with any lone surrogate made '?', as RE2 reads
    UTF-8 only; the decoders refuse them, so this is a guard, not a path)."""
    try:
        return text, _HINTS.Match(text)
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
        return text, _HINTS.Match(text)


def redact(text: str) -> str:
    """Text with every secret-looking value replaced by [REDACTED]."""
    text, hits = _matches(text)
    if not hits:
        return text
    for i in sorted(hits):
        rule = RULES[i]
        text = rule.pattern.sub(rule.repl, text)
    return text


def apply_rules(text: str) -> str:
    """Every rule, without the set's preselection (the reference that redact() equals)."""
    text = _matches(text)[0]
    for rule in RULES:
        text = rule.pattern.sub(rule.repl, text)
    return text


# -- metadata: what becomes a store key or a metric label -------------------------------

_URL = re2.compile(r"[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#\s@]*@)*([^/?#\s]*)([^?#\s]*)\S*")


def public_label(value: str) -> str:
    """A metadata value fit to be a store key and a metric label: URLs reduced to
    host/path (no credentials, no query), secrets redacted, at most MAX_LABEL characters
    (a longer value is cut and ends in a digest of the whole, so values stay distinct)."""
    value, hits = _matches(value)
    if len(value) <= MAX_LABEL and "://" not in value and not hits:
        return value
    value = redact(value)  # first: a URL's query may hold the start of a secret
    if "://" in value:
        value = _URL.sub(r"\1\2", value)
    if len(value) > MAX_LABEL:
        digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        value = f"{value[:MAX_LABEL - 14]}…~{digest}"
    return value


def public_job(job: JobKey) -> JobKey:
    """The job key as stored and exported (public_label on each text field)."""
    return JobKey(public_label(job.repo), public_label(job.run_id), job.run_attempt,
                  public_label(job.job))


def public_info(info: JobInfo) -> JobInfo:
    return JobInfo(public_label(info.provider), public_label(info.pipeline),
                   public_label(info.team))

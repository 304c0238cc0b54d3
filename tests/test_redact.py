"""Redaction rules (worker/core/redact.py) against a catalogue of secret formats.

The catalogue (tests/secret_samples.py) follows detect-secrets' plugins, which must
recognise each sample as its kind, and gitleaks' published formats for the kinds
detect-secrets lacks. Every kind is tried in each place a CI log or an event puts it.
"""

from __future__ import annotations

import pytest
from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.plugins.keyword import DENYLIST
from detect_secrets.settings import default_settings
from detect_secrets.util.code_snippet import get_code_snippet

from tests.secret_samples import KINDS, Kind
from worker.core.redact import MAX_LABEL, REDACTED, apply_rules, public_job, public_label, redact
from worker.model import JobKey

ERROR_BLOCK = """Error: configuring Terraform AWS Provider: validating provider credentials

  with provider["registry.terraform.io/hashicorp/aws"],
  on providers.tf line 7, in provider "aws":
   7: provider "aws" {
{secret_line}
"""


def contexts(kind: Kind) -> dict[str, str]:
    """Each place a kind is tried in: inside an error block, as a JSON-quoted value, after
    prefixed variable names (bare kinds also under a neutral JSON key)."""
    one_line = kind.secret.replace("\n", "\\n")
    out = {
        "error block": ERROR_BLOCK.replace("{secret_line}", kind.line),
        "JSON key": '{"' + kind.var + '": "' + one_line + '", "level": "debug"}',
        "JSON-escaped JSON": '{\\"' + kind.var + '\\": \\"' + one_line + '\\"}',
        "TF_VAR_": f"TF_VAR_{kind.var.lower()}={kind.secret}",
        "ARM_": f"ARM_{kind.var.upper()}={kind.secret}",
        "export": f"export {kind.var}={kind.secret}",
        "export, quoted": f"export {kind.var}='{kind.secret}'",
        "YAML": f"  {kind.var.lower()}: {kind.secret}",
    }
    if kind.bare:
        out["neutral JSON key"] = '{"output": "' + one_line + '"}'
        out["inside a command"] = f"+ terraform apply -var key={kind.secret} -auto-approve"
    return out


def leaked(kind: Kind, text: str) -> bool:
    """The random part, or a fragment of 12 characters from either end, is in text."""
    n = kind.needle
    return n in text or n[:12] in text or n[-12:] in text


def test_the_catalogue_has_at_least_40_kinds() -> None:
    assert len(KINDS) >= 40
    assert len({k.name for k in KINDS}) == len(KINDS)
    assert all(len(k.needle) >= 14 for k in KINDS)
    assert sum(1 for k in KINDS if k.detector) >= 40


@pytest.mark.parametrize("kind", [k for k in KINDS if k.detector], ids=lambda k: k.name)
def test_detect_secrets_recognises_the_sample_as_its_kind(kind: Kind) -> None:
    """The catalogue is detect-secrets' own: its plugin for the kind flags the sample."""
    lines = kind.line.splitlines()
    with default_settings():
        plugin = get_mapping_from_secret_type_to_class()[kind.detector]()
        found = [s for n, line in enumerate(lines, 1) for s in plugin.analyze_line(
            filename="ci.yaml", line=line, line_number=n, context=get_code_snippet(lines, n))]
    assert found, f"detect-secrets' {kind.detector!r} does not flag {kind.line!r}"


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_every_kind_is_redacted_in_every_place(kind: Kind) -> None:
    for place, text in contexts(kind).items():
        out = redact(text)
        assert not leaked(kind, out), f"{kind.name} leaks {place}: {out!r}"
        assert REDACTED in out
        assert out == apply_rules(text), f"the RE2 preselection skipped a rule ({place})"


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_every_kind_is_removed_from_every_metadata_field(kind: Kind) -> None:
    """As a job's repo (also in a clone URL's credentials and query), run id, job name,
    pipeline and team: the public form, which stores and labels see, holds none of it."""
    values = [kind.line, f"acme/{kind.line}"]
    if kind.bare:
        values += [kind.secret, f"https://x-access-token:{kind.secret}@github.com/acme/infra",
                   f"https://gitlab.com/acme/infra.git?private_token={kind.secret}"]
    for value in values:
        job = public_job(JobKey(value, value, 1, value))
        for field in (job.repo, job.run_id, job.job, public_label(value)):
            assert not leaked(kind, field), f"{kind.name}: {field!r}"
            assert len(field) <= MAX_LABEL


@pytest.mark.parametrize("word", DENYLIST)
def test_every_keyword_of_detect_secrets_is_a_secret_name(word: str) -> None:
    """Upkeep: a keyword detect-secrets adds to its KeywordDetector fails here until the
    name rule knows it."""
    name = word.replace("_?", "_")
    for text in (f"TF_VAR_{name}=Zq8tV3nM1xLp", f'"{name}": "Zq8tV3nM1xLp"',
                 f"export X_{name.upper()}=Zq8tV3nM1xLp"):
        assert "Zq8tV3nM1xLp" not in redact(text), text


def test_the_leaks_found_in_issue_12() -> None:
    cases = {
        "ARM_CLIENT_SECRET=Q9xv~fakeSecret_123": "ARM_CLIENT_SECRET=[REDACTED]",
        "TF_VAR_db_password=hunter2hunter2": "TF_VAR_db_password=[REDACTED]",
        "VAULT_TOKEN=hvs.CAESIJ1u2k3l4m5n6o7p8q9r0s": "VAULT_TOKEN=[REDACTED]",
        '{"clientSecret": "abc def ghi"}': '{"clientSecret": "[REDACTED]"}',
        "postgres://tf:p@ss@w0rd@db:5432/state": "postgres://tf:[REDACTED]@db:5432/state",
    }
    for text, want in cases.items():
        assert redact(text) == want


def test_aws_keys_tokens_and_url_passwords() -> None:
    text = ("AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE aws_secret_access_key=wJalrXUtnFEMI/K7MDENG "
            "postgres://admin:hunter22@db:5432/x Authorization: Bearer abcdefghijklmnop123 "
            "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
            "https://b.s3.amazonaws.com/k?X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr&x=1")
    out = redact(text)
    for secret in ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI", "hunter22", "abcdefghijklmnop123",
                   "ghp_aaaa", "IQoJb3JpZ2luX2VjEJr"):
        assert secret not in out
    assert "postgres://admin:[REDACTED]@db" in out
    assert "&x=1" in out


def test_error_text_is_kept() -> None:
    texts = [
        "InvalidClientTokenId: The security token included in the request is invalid. "
        "User: arn:aws:sts::123456789012:assumed-role/ci/x is not authorized",
        "validating provider credentials: retrieving caller identity from STS: operation error",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
        "azure.BearerAuthorizer#WithAuthorization: Failed to refresh the Token for request",
        '"error_uri":"https://login.microsoftonline.com/error?code=7000215"',
        "Error: Invalid value for variable: the password must be set",
    ]
    for text in texts:
        assert redact(text) == text


def test_kb_texts_are_kept_but_for_their_secrets(kb) -> None:
    """On every KB example and counter-example the RE2 preselection equals the rules alone,
    and redaction leaves the texts as they are (none holds a secret)."""
    texts = [ex.text for e in kb for ex in (*e.examples, *e.counter_examples)]
    for text in texts:
        assert redact(text) == apply_rules(text) == text, text


def test_long_metadata_is_bounded_and_stays_distinct() -> None:
    a, b = "x" * 100_000, "x" * 99_999 + "y"
    assert len(public_label(a)) == MAX_LABEL
    assert public_label(a) != public_label(b)
    assert public_label("acme/infra") == "acme/infra"
    assert public_label("https://oauth2:tok@gitlab.example.com/grp/proj.git?ref=main#x") \
        == "gitlab.example.com/grp/proj.git"


def test_any_text_is_redacted_without_error() -> None:
    """RE2 reads UTF-8: a lone surrogate (which no decoder lets through) is no crash."""
    assert redact("x\ud800 token=abcdefgh") == "x? token=[REDACTED]"
    assert public_label("team\udfff") == "team?"

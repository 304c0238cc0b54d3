"""A catalogue of secret formats, one sample of each kind, for the redaction tests.

Each kind is taken from a published secret scanner: `detector` names the detect-secrets
plugin (a dev dependency) that must recognise the sample as that kind, checked by
tests/test_redact.py; kinds detect-secrets lacks name the gitleaks rule (MIT,
config/gitleaks.toml) whose published format the sample follows, in `source`. No rule
text is copied: the samples are generated here, from a fixed seed, so that no real-looking
secret is committed and every run tests the same values.

`line` is how the secret shows in a CI log; `var` is the environment variable that
holds it (the prefixed-name contexts: TF_VAR_, ARM_, export); `needle` is the random part
that must never appear in anything tfpulse keeps or prints.
"""

from __future__ import annotations

import base64
import dataclasses
import random
import string
from dataclasses import dataclass

_rng = random.Random(20261201)
ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
LOWER_DIGITS = string.ascii_lowercase + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "_-"


def _r(alphabet: str, n: int) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


@dataclass(frozen=True)
class Kind:
    name: str
    secret: str  # the whole secret, as a scanner reports it
    line: str  # the secret as a CI log shows it
    var: str  # an environment variable (or key) that carries it
    needle: str  # random part that must never come out
    detector: str = ""  # detect-secrets plugin type that recognises `line`
    source: str = ""  # else: the gitleaks rule id whose format it follows
    bare: bool = True  # recognisable alone; False: only by its name or place (a password)


def _token(name: str, prefix: str, body: str, var: str, detector: str = "",
           source: str = "", suffix: str = "") -> Kind:
    secret = prefix + body + suffix
    return Kind(name, secret, f"{var}={secret}", var, body, detector, source)


def _pem(name: str, label: str) -> Kind:
    body = "\n".join(_r(B64, 64) for _ in range(4))
    secret = f"-----BEGIN {label}-----\n{body}\n-----END {label}-----"
    return Kind(name, secret, secret, "TLS_PRIVATE_KEY", body.replace("\n", "")[:40],
                "Private Key")


def _kinds() -> list[Kind]:
    k: list[Kind] = []
    # -- detect-secrets plugins ---------------------------------------------------------
    k.append(_token("AWS access key id", "AKIA", _r(UPPER_DIGITS, 16), "AWS_ACCESS_KEY_ID",
                    "AWS Access Key"))
    k.append(_token("AWS temporary access key id", "ASIA", _r(UPPER_DIGITS, 16),
                    "AWS_ACCESS_KEY_ID", "AWS Access Key"))
    s = _r(ALNUM + "/+", 40)
    k.append(Kind("AWS secret access key", s, f'aws_secret_access_key = "{s}"',
                  "AWS_SECRET_ACCESS_KEY", s, "AWS Access Key"))
    k.append(_token("Artifactory API token", "AKC", _r(ALNUM, 70), "ARTIFACTORY_API_KEY",
                    "Artifactory Credentials"))
    k.append(_token("Artifactory password", "AP6", _r(ALNUM, 20), "ARTIFACTORY_PASSWORD",
                    "Artifactory Credentials"))
    s = _r(B64, 86) + "=="
    k.append(Kind("Azure storage account key", s,
                  f"DefaultEndpointsProtocol=https;AccountName=tfstate;AccountKey={s};"
                  "EndpointSuffix=core.windows.net", "ARM_ACCESS_KEY", s[:60],
                  "Azure Storage Account access key"))
    s = _r(ALNUM, 18)
    k.append(Kind("URL password (basic auth)", s,
                  f"https://deploy:{s}@registry.example.com/v2/", "REGISTRY_PASSWORD", s,
                  "Basic Auth Credentials"))
    s = "p@ss" + _r(ALNUM, 14) + "@w0rd"
    k.append(Kind("URL password holding '@'", s, f"postgres://tf:{s}@db.internal:5432/state",
                  "PG_CONN_PASSWORD", s[4:18], "Basic Auth Credentials"))
    s = _r(HEX, 64)
    k.append(Kind("Cloudant credentials", s,
                  f"https://acme-ci:{s}@acme-ci.cloudant.com", "CLOUDANT_PASSWORD", s,
                  "Cloudant Credentials"))
    k.append(_token("Discord bot token", "M", _r(URLSAFE, 23) + "." + _r(URLSAFE, 6) + "."
                    + _r(URLSAFE, 27), "DISCORD_BOT_TOKEN", "Discord Bot Token"))
    for prefix, what in (("ghp_", "classic PAT"), ("gho_", "OAuth token"),
                         ("ghu_", "user-to-server token"), ("ghs_", "app installation token"),
                         ("ghr_", "refresh token")):
        k.append(_token(f"GitHub {what}", prefix, _r(ALNUM, 36), "GITHUB_TOKEN", "GitHub Token"))
    for prefix, what in (("glpat-", "personal access token"), ("gldt-", "deploy token"),
                         ("glrt-", "runner authentication token"), ("glft-", "feed token"),
                         ("glcbt-a1_", "CI job token"),
                         ("GR1348941", "runner registration token")):
        k.append(_token(f"GitLab {what}", prefix, _r(URLSAFE, 20).replace("-", "x"),
                        "GITLAB_TOKEN", "GitLab Token"))
    s = _r(URLSAFE, 44)
    k.append(Kind("IBM Cloud IAM key", s, f'ibm_cloud_iam_api_key = "{s}"', "IC_API_KEY", s,
                  "IBM Cloud IAM Key"))
    s = _r(HEX, 48)
    k.append(Kind("IBM COS HMAC secret", s, f'ibm_cos_hmac_secret_access_key = "{s}"',
                  "COS_SECRET_ACCESS_KEY", s, "IBM COS HMAC Credentials"))
    head = '{"alg":"RS256","typ":"JWT"}'

    def b64url(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    payload = b64url('{"sub":"ci-' + _r(LOWER_DIGITS, 12) + '","iss":"https://token.actions"}')
    sig = _r(URLSAFE, 43)
    k.append(Kind("JSON web token", f"{b64url(head)}.{payload}.{sig}",
                  f"ACTIONS_ID_TOKEN={b64url(head)}.{payload}.{sig}", "ACTIONS_ID_TOKEN",
                  sig, "JSON Web Token"))
    k.append(_token("Mailchimp API key", "", _r(LOWER_DIGITS, 32), "MAILCHIMP_API_KEY",
                    "Mailchimp Access Key", suffix="-us12"))
    s = "npm_" + _r(ALNUM, 36)
    k.append(Kind("npm token in .npmrc", s, f"//registry.npmjs.org/:_authToken={s}",
                  "NPM_TOKEN", s[4:], "NPM tokens"))
    k.append(_token("OpenAI API key", "sk-", _r(ALNUM, 20) + "T3BlbkFJ" + _r(ALNUM, 20),
                    "OPENAI_API_KEY", "OpenAI Token"))
    k.append(_pem("RSA private key", "RSA PRIVATE KEY"))
    k.append(_pem("OpenSSH private key", "OPENSSH PRIVATE KEY"))
    k.append(_pem("EC private key", "EC PRIVATE KEY"))
    k.append(_pem("PGP private key block", "PGP PRIVATE KEY BLOCK"))
    body = _r(B64, 48).replace("+", "x").replace("/", "y")
    s = f"-----BEGIN PRIVATE KEY-----\\n{body}\\n-----END PRIVATE KEY-----\\n"
    k.append(Kind("GCP service-account key (JSON)", s, f'"private_key": "{s}"',
                  "GOOGLE_CREDENTIALS", body, "Private Key"))
    k.append(_token("PyPI upload token", "pypi-AgEIcHlwaS5vcmc", _r(URLSAFE, 80),
                    "TWINE_PASSWORD", "PyPI Token"))
    k.append(_token("SendGrid API key", "SG.", _r(URLSAFE, 22) + "." + _r(URLSAFE, 43),
                    "SENDGRID_API_KEY", "SendGrid API Key"))
    k.append(_token("Slack bot token", "xoxb-", "2" + _r(string.digits, 10) + "-"
                    + _r(string.digits, 12) + "-" + _r(LOWER_DIGITS, 24), "SLACK_BOT_TOKEN",
                    "Slack Token"))
    k.append(_token("Slack user token", "xoxp-", "2" + _r(string.digits, 10) + "-"
                    + _r(string.digits, 12) + "-" + _r(LOWER_DIGITS, 32), "SLACK_TOKEN",
                    "Slack Token"))
    body = "T" + _r(UPPER_DIGITS, 8) + "/B" + _r(UPPER_DIGITS, 10) + "/" + _r(ALNUM, 24)
    k.append(Kind("Slack webhook URL", "https://hooks.slack.com/services/" + body,
                  "https://hooks.slack.com/services/" + body, "SLACK_WEBHOOK_URL",
                  body[-24:], "Slack Token"))
    s = _r(LOWER_DIGITS, 64)
    k.append(Kind("SoftLayer API key", s, f'softlayer_api_key = "{s}"', "SL_API_KEY", s,
                  "SoftLayer Credentials"))
    k.append(_token("Square OAuth secret", "sq0csp-", _r(URLSAFE, 43), "SQUARE_SECRET",
                    "Square OAuth Secret"))
    k.append(_token("Stripe secret key", "sk_live_", _r(ALNUM, 24), "STRIPE_API_KEY",
                    "Stripe Access Key"))
    k.append(_token("Stripe restricted key", "rk_live_", _r(ALNUM, 24), "STRIPE_RESTRICTED_KEY",
                    "Stripe Access Key"))
    k.append(_token("Telegram bot token", str(_rng.randrange(10**8, 10**9)) + ":AA",
                    _r(URLSAFE, 33), "TELEGRAM_BOT_TOKEN", "Telegram Bot Token"))
    k.append(_token("Twilio account SID", "AC", _r(HEX, 32), "TWILIO_ACCOUNT_SID",
                    "Twilio API Key"))
    k.append(_token("Twilio API key", "SK", _r(HEX, 32), "TWILIO_API_KEY", "Twilio API Key"))
    for var in ("TF_VAR_db_password", "ARM_CLIENT_SECRET", "DB_PASS"):
        s = _r(ALNUM, 20)
        k.append(Kind(f"keyword {var}", s, f"{var}={s}", var, s, "Secret Keyword"))
    s = _r(ALNUM, 24)
    k.append(Kind("keyword clientSecret (JSON)", s, f'"clientSecret": "{s}"', "clientSecret", s,
                  "Secret Keyword"))
    # -- formats detect-secrets lacks: gitleaks' published rules --------------------------
    k.append(_token("Vault service token", "hvs.", _r(URLSAFE, 95), "VAULT_TOKEN",
                    source="vault-service-token"))
    k.append(_token("Vault batch token", "hvb.", _r(URLSAFE, 140), "VAULT_TOKEN",
                    source="vault-batch-token"))
    k.append(_token("Terraform Cloud API token", _r(ALNUM, 14) + ".atlasv1.", _r(URLSAFE, 64),
                    "TF_TOKEN_app_terraform_io", source="hashicorp-tf-api-token"))
    k.append(_token("Azure AD client secret", _r(ALNUM, 3) + "8Q~", _r(ALNUM + "_~.-", 34),
                    "ARM_CLIENT_SECRET", source="azure-ad-client-secret"))
    k.append(_token("Google API key", "AIza", _r(URLSAFE, 35), "GOOGLE_API_KEY",
                    source="gcp-api-key"))
    k.append(_token("GitHub fine-grained PAT", "github_pat_", _r(ALNUM, 22) + "_" + _r(ALNUM, 59),
                    "GH_TOKEN", source="github-fine-grained-pat"))
    k.append(_token("DigitalOcean PAT", "dop_v1_", _r(HEX, 64), "DIGITALOCEAN_TOKEN",
                    source="digitalocean-pat"))
    k.append(_token("Doppler token", "dp.pt.", _r(ALNUM, 43), "DOPPLER_TOKEN",
                    source="doppler-api-token"))
    k.append(_token("Databricks token", "dapi", _r(HEX, 32), "DATABRICKS_TOKEN",
                    source="databricks-api-token"))
    k.append(_token("Anthropic API key", "sk-ant-api03-", _r(URLSAFE, 93) + "AA",
                    "ANTHROPIC_API_KEY", source="anthropic-api-key"))
    k.append(_token("Hugging Face token", "hf_", _r(string.ascii_letters, 34), "HF_TOKEN",
                    source="huggingface-access-token"))
    k.append(_token("age secret key", "AGE-SECRET-KEY-1",
                    _r("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58), "SOPS_AGE_KEY",
                    source="age-secret-key"))
    k.append(_token("Pulumi token", "pul-", _r(HEX, 40), "PULUMI_ACCESS_TOKEN",
                    source="pulumi-api-token"))
    k.append(_token("Grafana service account token", "glsa_", _r(ALNUM, 32) + "_" + _r(HEX, 8),
                    "GRAFANA_AUTH", source="grafana-service-account-token"))
    k.append(_token("Sentry user token", "sntryu_", _r(HEX, 64), "SENTRY_AUTH_TOKEN",
                    source="sentry-user-token"))
    k.append(_token("Shopify access token", "shpat_", _r(HEX, 32), "SHOPIFY_TOKEN",
                    source="shopify-access-token"))
    k.append(_token("npm access token", "npm_", _r(ALNUM, 36), "NODE_AUTH_TOKEN",
                    source="npm-access-token"))
    k.append(_token("RubyGems API key", "rubygems_", _r(HEX, 48), "GEM_HOST_API_KEY",
                    source="rubygems-api-token"))
    k.append(_token("Linear API key", "lin_api_", _r(ALNUM, 40), "LINEAR_API_KEY",
                    source="linear-api-key"))
    k.append(_token("Postman API key", "PMAK-", _r(HEX, 24) + "-" + _r(HEX, 34),
                    "POSTMAN_API_KEY", source="postman-api-token"))
    k.append(_token("PlanetScale password", "pscale_pw_", _r(URLSAFE, 43), "PLANETSCALE_PASSWORD",
                    source="planetscale-password"))
    k.append(_token("Dynatrace API token", "dt0c01.", _r(UPPER_DIGITS, 24) + "." + _r(ALNUM, 64),
                    "DYNATRACE_API_TOKEN", source="dynatrace-api-token"))
    k.append(_token("Infracost API key", "ico-", _r(ALNUM, 32), "INFRACOST_API_KEY",
                    source="infracost-api-token"))
    k.append(_token("Alibaba access key id", "LTAI", _r(ALNUM, 20), "ALICLOUD_ACCESS_KEY",
                    source="alibaba-access-key-id"))
    k.append(_token("OpenShift user token", "sha256~", _r(URLSAFE, 43), "OPENSHIFT_TOKEN",
                    source="openshift-user-token"))
    k.append(_token("Slack app token", "xapp-1-", "A" + _r(UPPER_DIGITS, 10) + "-"
                    + _r(string.digits, 13) + "-" + _r(HEX, 64), "SLACK_APP_TOKEN",
                    source="slack-app-token"))
    s = _r(ALNUM, 40)
    k.append(Kind("Authorization: Bearer header (curl)", s,
                  f'curl -sf -H "Authorization: Bearer {s}" https://api.example.com/v1',
                  "API_BEARER_TOKEN", s, source="curl-auth-header"))
    s = _r(ALNUM, 16)
    k.append(Kind("curl --user password", s, f"curl -fsS -u ci-bot:{s} https://nexus.example.com",
                  "NEXUS_PASSWORD", s, source="curl-auth-user"))
    return k


# Values that no scanner can tell from other text without the name or place they come in.
_NOT_BARE = {"AWS secret access key", "Artifactory password", "Azure storage account key",
             "URL password (basic auth)", "URL password holding '@'", "Cloudant credentials",
             "IBM Cloud IAM key", "IBM COS HMAC secret", "SoftLayer API key",
             "keyword TF_VAR_db_password", "keyword ARM_CLIENT_SECRET", "keyword DB_PASS",
             "keyword clientSecret (JSON)", "Authorization: Bearer header (curl)",
             "curl --user password"}
KINDS: tuple[Kind, ...] = tuple(
    dataclasses.replace(k, bare=k.name not in _NOT_BARE) for k in _kinds())
assert {k.name for k in KINDS} >= _NOT_BARE

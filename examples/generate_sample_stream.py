#!/usr/bin/env python3
"""Generate a deterministic sample CI log stream for tfpulse, with its ground truth.

Eight weeks of Terraform CI jobs (GitHub Actions, GitLab CI, Atlantis) for 24
repositories of 5 teams, mostly successful, with recurring failures whose text is taken
from the knowledge base's own examples (kb/**/*.yaml). The generator records what it
injected, so `tfpulse replay` over the stream can be checked against
examples/sample-ci-stream.truth.json exactly.

    python examples/generate_sample_stream.py --out examples/sample-ci-stream.jsonl.gz

Same KB + same arguments = the same bytes (fixed seed, gzip mtime 0, sorted JSON keys).
Standard library + PyYAML only, so it runs without installing tfpulse.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
END = datetime(2026, 11, 22, 23, 59, 59, tzinfo=UTC)
WEEKS = 8
START = datetime(2026, 9, 28, tzinfo=UTC)  # Monday of week 1; week 8 ends on END

TEAMS = ["platform", "payments", "data", "identity", "edge"]
# name, team (None: the event carries no team), CI provider, busy (runs per weekday)
REPOS: list[tuple[str, str | None, str, float]] = [
    ("acme/infra-live", "platform", "github_actions", 6.0),
    ("acme/network-core", "platform", "github_actions", 2.5),
    ("acme/platform-eks", "platform", "gitlab", 4.0),
    ("acme/shared-iam", "platform", "atlantis", 2.0),
    ("acme/dns-zones", None, "github_actions", 1.5),
    ("acme/payments-infra", "payments", "github_actions", 5.0),
    ("acme/payments-gateway-tf", "payments", "gitlab", 2.5),
    ("acme/ledger-db", "payments", "github_actions", 1.5),
    ("acme/fraud-pipeline-infra", "payments", "atlantis", 1.5),
    ("acme/data-platform-infra", "data", "gitlab", 4.5),
    ("acme/warehouse-tf", "data", "github_actions", 2.0),
    ("acme/kafka-clusters", "data", "github_actions", 2.5),
    ("acme/ml-sandbox", None, "gitlab", 1.0),
    ("acme/etl-airflow-infra", "data", "atlantis", 1.5),
    ("acme/identity-infra", "identity", "github_actions", 3.0),
    ("acme/okta-terraform", "identity", "github_actions", 1.5),
    ("acme/vault-config", "identity", "gitlab", 2.0),
    ("acme/sso-accounts", None, "atlantis", 1.0),
    ("acme/edge-cdn", "edge", "github_actions", 3.5),
    ("acme/waf-rules", "edge", "github_actions", 2.0),
    ("acme/edge-lambdas", "edge", "gitlab", 1.5),
    ("acme/api-gateway-infra", "edge", "github_actions", 2.5),
    ("acme/status-page", None, "github_actions", 0.5),
    ("acme/sandbox-accounts", "platform", "atlantis", 1.0),
]
# Terraform and AWS provider versions: these repos stay on Terraform 1.5 (with an older
# provider); acme/network-core upgrades in UPGRADE_WEEK; Atlantis prints no version.
OLD_TERRAFORM = {"acme/shared-iam", "acme/ledger-db", "acme/fraud-pipeline-infra",
                 "acme/warehouse-tf", "acme/okta-terraform", "acme/edge-lambdas",
                 "acme/network-core", "acme/status-page"}
UPGRADE = ("acme/network-core", 5)
VERSIONS = {"old": ("1.5.7", "5.31.0"), "new": ("1.9.8", "5.82.2")}
# A storm: one entry hitting many repos within minutes (an org credential expired).
STORM_AT = datetime(2026, 11, 18, 6, 5, tzinfo=UTC)  # nightly drift checks
STORM_REPOS = 14
WEEK = 7 * 86400.0
BUSY = ["acme/infra-live", "acme/payments-infra", "acme/data-platform-infra", "acme/platform-eks"]
WEEKLY_LOCK_PERMISSION = ["acme/infra-live", "acme/payments-infra", "acme/kafka-clusters"]

# Terraform errors that no KB entry describes: they must come out unclassified.
UNKNOWN_ERRORS = [
    "Error: creating ElastiCache Replication Group ({name}): InvalidParameterCombination: "
    "Cannot enable automatic failover with only one node",
    "Error: reading Route 53 Record ({zone}_{name}.acme.internal_CNAME): empty result",
    "Error: updating Lambda Function ({name}) configuration: ResourceConflictException: "
    "The operation cannot be performed at this time. An update is in progress",
    "Error: waiting for RDS Cluster ({name}) update: unexpected state 'resetting-master-credentials'",
    'Error: Unsupported attribute\n\n  on outputs.tf line {line}, in output "{name}":\n'
    "  {line} |   value = module.{name}.endpoint_url\n\n"
    'This object does not have an attribute named "endpoint_url".',
    'Error: Invalid count argument\n\n  on main.tf line {line}, in resource "aws_instance" '
    '"{name}":\n  {line}:   count = length(data.aws_subnets.{name}.ids)\n\n'
    'The "count" value depends on resource attributes that cannot be determined until apply.',
]
WARNINGS = [
    "Warning: Argument is deprecated\n\n  with aws_s3_bucket.{name},\n  on s3.tf line {line}, in "
    'resource "aws_s3_bucket" "{name}":\n  {line}:   acl = "private"\n\n'
    "Use the aws_s3_bucket_acl resource instead",
    "Warning: Value for undeclared variable\n\nThe root module does not declare a variable "
    'named "{name}" but a value was found in file "terraform.tfvars".',
]
# Commands that try a KB dead end (kept only when they match an entry's dead_end_signals).
DEAD_END_COMMANDS = [
    "terraform plan -input=false -lock=false -out=tfplan",
    "terraform apply -input=false -lock=false -auto-approve tfplan",
    "aws dynamodb delete-item --table-name terraform-locks --key file://lock-key.json",
    "terraform force-unlock -force 6638e010-8fb0-46cf-966d-21e806602f3a",
]
NAMES = ["logs", "artifacts", "ci", "primary", "replica", "edge", "ingest", "audit", "api", "web"]
RESOURCE_TYPES = [
    ("aws_s3_bucket", "bucket"),
    ("aws_iam_role", "name"),
    ("aws_security_group", "name"),
    ("aws_lambda_function", "function_name"),
    ("aws_cloudwatch_log_group", "name"),
    ("aws_route53_record", "name"),
    ("aws_sqs_queue", "name"),
    ("aws_dynamodb_table", "name"),
]
ERROR_LINE = re.compile(r"^\s*(?:[╷│╵]\s*)?Error: ", re.M)
FRAME_OR_SPACE = re.compile(r"^[╷│╵]\s?")


# -- the knowledge base ----------------------------------------------------------------


@dataclass
class Entry:
    kb_id: str
    tags: list[str]
    priority: int
    patterns: list[re.Pattern[str]]
    dead_end_signals: list[tuple[re.Pattern[str], int]]
    examples: list[str] = field(default_factory=list)
    family: str | None = None
    # per dead_end_signal: the signal as tfpulse stores it (its dead end's action, else the
    # regex) and the KB's claimed fail_rate of that dead end
    signal_names: list[tuple[str, float | None]] = field(default_factory=list)


def normalized(text: str) -> str:
    """The text as tfpulse's classifier sees it: no ANSI, no frame, lines stripped."""
    text = re.sub(r"\x1b\[[0-?]*[ -/]*[@-~]", "", text)
    return "\n".join(FRAME_OR_SPACE.sub("", ln.strip()).strip() for ln in text.split("\n"))


def compile_re2(regex: str, where: str) -> re.Pattern[str] | None:
    """Python re for an RE2 pattern; RE2 allows a group name twice (in alternatives), re not."""
    names: set[str] = set()

    def once(m: re.Match[str]) -> str:
        if m.group(1) in names:
            return "(?:"
        names.add(m.group(1))
        return m.group(0)

    try:
        return re.compile(re.sub(r"\(\?P<(\w+)>", once, regex))
    except re.error as exc:
        print(f"warning: {where}: pattern not checkable with Python re ({exc})", file=sys.stderr)
        return None


def load_kb(kb_dir: Path) -> list[Entry]:
    entries = []
    for path in sorted(kb_dir.rglob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or "id" not in doc:
            continue
        where = str(path.relative_to(kb_dir.parent))
        patterns = [compile_re2(p["regex"], where) for p in doc.get("patterns") or []]
        raw_signals = doc.get("dead_end_signals") or []
        signals = [
            (compile_re2(sig["regex"], where), int(sig.get("dead_end", 0))) for sig in raw_signals
        ]
        dead_ends = doc.get("dead_ends") or []
        names = []
        for sig in raw_signals:
            de = dead_ends[int(sig.get("dead_end", 0))] if dead_ends else {}
            rate = de.get("fail_rate")
            names.append((str(de.get("action", "")) or sig["regex"],
                          float(rate) if rate is not None else None))
        entries.append(
            Entry(
                kb_id=doc["id"],
                tags=list(doc.get("tags") or []),
                priority=int(doc.get("priority", 50)),
                patterns=[p for p in patterns if p is not None],
                dead_end_signals=[(p, i) for p, i in signals if p is not None],
            )
        )
        entries[-1].examples = [ex["text"] for ex in doc.get("examples") or [] if ex.get("text")]
        entries[-1].family = doc.get("family")
        entries[-1].signal_names = [n for n, (p, _) in zip(names, signals, strict=True) if p]
    return entries


def matching(entries: list[Entry], text: str) -> list[Entry]:
    norm = normalized(text)
    return [e for e in entries if any(p.search(norm) for p in e.patterns)]


def usable_examples(entry: Entry, entries: list[Entry]) -> list[str]:
    """Examples that are one whole Terraform diagnostic and that this entry wins outright,
    and whose text shows no dead end (Terraform's own `run terraform init -reconfigure`
    advice would count as one being tried)."""
    signals = [p for e in entries for p, _ in e.dead_end_signals]
    keep = []
    for text in entry.examples:
        if len(ERROR_LINE.findall(text)) != 1:
            continue  # a fragment without "Error:", or several diagnostics in one example
        if any(p.search(line) for p in signals for line in text.split("\n")):
            continue
        hits = matching(entries, text)
        if entry in hits and all(e.priority < entry.priority for e in hits if e is not entry):
            keep.append(text.rstrip("\n"))
    return keep


# -- schedule: which entry fails which job -------------------------------------------


@dataclass
class Run:
    repo: str
    team: str | None
    provider: str
    run_id: str
    start: datetime
    apply: bool
    failure: str | None = None  # kb_id, or "unclassified"
    fail_attempts: int = 1  # 1: no retry; 2: retried and failed again; 0: retried, passed
    twice: bool = False  # the job prints the same error twice
    env: str = "prod"  # Atlantis: the workspace dir in its job names
    dead_end: str | None = None  # a dead end this run tries in its plan (and fails)


def week_of(t: datetime) -> int:
    return (t - START).days // 7 + 1


def make_runs(rng: random.Random) -> list[Run]:
    runs: list[Run] = []
    gh, gl = 11_204_000_000, 1_487_000_000
    prs: Counter[str] = Counter()
    for day in range(WEEKS * 7):
        date = START + timedelta(days=day)
        weekend = date.weekday() >= 5
        for repo, team, provider, busy in REPOS:
            rate = busy * (0.15 if weekend else 1.0)
            count = int(rate) + (1 if rng.random() < rate - int(rate) else 0)
            for _ in range(count):
                start = date + timedelta(seconds=rng.randint(7 * 3600, 19 * 3600))
                if provider == "github_actions":
                    gh += rng.randint(1000, 90000)
                    run_id = str(gh)
                elif provider == "gitlab":
                    gl += rng.randint(50, 4000)
                    run_id = str(gl)
                else:
                    prs[repo] += 1
                    run_id = f"{repo.split('/')[1]}-pr{300 + prs[repo] // 3}-{prs[repo] % 3 + 1}"
                runs.append(Run(repo, team, provider, run_id, start, rng.random() < 0.35,
                                env=rng.choice(["prod", "staging"])))
    runs.sort(key=lambda r: (r.start, r.repo))
    return runs


def pick(entries: list[Entry], wanted: set[str], unwanted: set[str], prefer: str) -> Entry | None:
    """The entry for a leading role: tags fit, and the preferred id fragment first."""
    fits = [e for e in entries if wanted <= set(e.tags) and not unwanted & set(e.tags)]
    fits.sort(key=lambda e: (prefer not in e.kb_id, e.kb_id))
    return fits[0] if fits else None


def assign_roles(entries: list[Entry], rng: random.Random) -> dict[str, str]:
    """Give each injectable entry a life story; lock and permission entries recur most."""
    roles: dict[str, str] = {}
    leads = [
        (
            "weekly-lock-permission",
            {"permission", "state-lock"},
            set(),
            "dynamodb-permission-denied",
        ),
        ("contention", {"state-lock"}, {"permission"}, "dynamodb-held"),
        ("credentials", {"credentials"}, set(), "expired"),
    ]
    for role, wanted, unwanted, prefer in leads:
        entry = pick([e for e in entries if e.kb_id not in roles], wanted, unwanted, prefer)
        if entry:
            roles[entry.kb_id] = role
    rest = []
    for e in entries:
        if e.kb_id in roles:
            continue
        if {"permission", "state-lock", "credentials"} & set(e.tags):
            roles[e.kb_id] = "chronic-permission"
        else:
            rest.append(e.kb_id)
    rng.shuffle(rest)
    stories = ["regressed", "new", "gone-quiet", "new", "gone-quiet"]
    for i, kb_id in enumerate(rest):
        roles[kb_id] = stories[i] if i < len(stories) else "chronic-low"
    return roles


def weekly_plan(role: str, rng: random.Random) -> dict[tuple[str, int], int]:
    """(repo, week) → number of failing jobs for one entry."""
    repos = [r[0] for r in REPOS]
    plan: dict[tuple[str, int], int] = {}
    if role == "weekly-lock-permission":
        for repo in WEEKLY_LOCK_PERMISSION:
            for week in range(1, WEEKS + 1):
                plan[(repo, week)] = rng.choice([1, 2, 2, 3])
    elif role == "contention":
        for repo in BUSY:
            for week in range(1, WEEKS + 1):
                plan[(repo, week)] = rng.randint(2, 5)
    elif role == "credentials":
        chosen = rng.sample(repos, 8)
        for week in range(1, WEEKS + 1):
            for repo in rng.sample(chosen, 3):
                plan[(repo, week)] = rng.randint(1, 2)
    elif role == "chronic-permission":  # many entries share this role: few jobs each
        chosen = rng.sample(repos, 2)
        for week in range(1, WEEKS + 1):
            if rng.random() < 0.45:
                plan[(rng.choice(chosen), week)] = rng.randint(1, 2)
    else:
        weeks = {
            "regressed": [1, 2, 3, 8],
            "new": [8],
            "gone-quiet": [1, 2, 3, 4],
            "chronic-low": [w for w in range(1, WEEKS + 1) if rng.random() < 0.4],
        }[role]
        chosen = rng.sample(repos, 3)
        for week in weeks:
            for repo in rng.sample(chosen, 1 if role == "chronic-low" else 2):
                plan[(repo, week)] = rng.randint(1, 3 if role == "new" else 2)
    return plan


def schedule(runs: list[Run], entries: list[Entry], rng: random.Random) -> dict[str, str]:
    by_slot: dict[tuple[str, int], list[Run]] = defaultdict(list)
    for run in runs:
        by_slot[(run.repo, week_of(run.start))].append(run)
    roles = assign_roles(entries, rng)
    for e in entries:
        for (repo, week), n in sorted(weekly_plan(roles[e.kb_id], rng).items()):
            free = [r for r in by_slot[(repo, week)] if r.failure is None]
            for run in rng.sample(free, min(n, len(free))):
                run.failure = e.kb_id
                retry = rng.random() < (0.45 if roles[e.kb_id] == "contention" else 0.15)
                run.fail_attempts = rng.choice([0, 2, 2]) if retry else 1
                run.twice = rng.random() < 0.05
    free = [r for r in runs if r.failure is None]
    for run in rng.sample(free, 40):
        run.failure = "unclassified"
        run.fail_attempts = 1
    return roles


def add_scenarios(runs: list[Run], entries: list[Entry], roles: dict[str, str],
                  rng: random.Random) -> list[Run]:
    """Situations the truth names: a storm, and dead ends tried after a failure that fail."""
    by_role = {role: kb_id for kb_id, role in sorted(roles.items())}
    extra: list[Run] = []
    storm = by_role.get("credentials")
    if storm:
        # its own generator: the storm's repos and times stay put when the KB changes
        own = random.Random(int(STORM_AT.timestamp()))
        chosen = sorted(own.sample([r for r in REPOS if r[2] != "atlantis"], STORM_REPOS))
        t = STORM_AT
        for i, (repo, team, provider, _busy) in enumerate(chosen):
            t += timedelta(seconds=own.randint(20, 100))
            run_id = str((11_299_000_000 if provider == "github_actions" else 1_499_000_000) + i)
            extra.append(Run(repo, team, provider, run_id, t, False, storm, 1))
    lock = by_role.get("weekly-lock-permission")
    signals = {e.kb_id: e for e in entries}.get(lock or "")
    if lock and signals:
        failed = [r for r in runs if r.failure == lock and r.fail_attempts == 1
                  and r.provider != "atlantis" and not r.twice]
        commands = [c for c in DEAD_END_COMMANDS
                    if any(p.search(c) for p, _ in signals.dead_end_signals)]
        for run in rng.sample(failed, min(4, len(failed))):
            start = run.start + timedelta(minutes=rng.randint(30, 50))
            extra.append(Run(run.repo, run.team, run.provider, str(int(run.run_id) + 1), start,
                             False, lock, 1, dead_end=rng.choice(commands)))
    return sorted(runs + extra, key=lambda r: (r.start, r.repo))


def versions_of(run: Run) -> tuple[str, str] | None:
    """(Terraform, hashicorp/aws) versions the run's jobs print; None: Atlantis prints none."""
    if run.provider == "atlantis":
        return None
    old = run.repo in OLD_TERRAFORM and not (
        run.repo == UPGRADE[0] and week_of(run.start) >= UPGRADE[1])
    return VERSIONS["old" if old else "new"]


# -- rendering: Terraform output in each CI's format -------------------------------------


def terraform_init(rng: random.Random, provider_version: str) -> list[str]:
    return [
        "Initializing the backend...",
        "",
        'Successfully configured the backend "s3"! Terraform will automatically',
        "use this backend unless the backend configuration changes.",
        "Initializing provider plugins...",
        '- Finding hashicorp/aws versions matching "~> 5.0"...',
        '- Finding hashicorp/random versions matching ">= 3.5.0"...',
        f"- Installing hashicorp/aws v{provider_version}...",
        f"- Installed hashicorp/aws v{provider_version} (signed by HashiCorp)",
        "- Installing hashicorp/random v3.6.3...",
        "- Installed hashicorp/random v3.6.3 (signed by HashiCorp)",
        "",
        "Terraform has been successfully initialized!",
    ]


def resources(rng: random.Random, n: int) -> list[tuple[str, str, str]]:
    out = []
    for _ in range(n):
        rtype, attr = rng.choice(RESOURCE_TYPES)
        name = rng.choice(NAMES) + rng.choice(["", "_prod", "_staging", "_eu"])
        out.append((rtype, name, attr))
    return sorted(set(out))


def terraform_plan(rng: random.Random, repo: str) -> tuple[list[str], tuple[int, int, int]]:
    existing = resources(rng, rng.randint(4, 25))
    lines = ["Acquiring state lock. This may take a few moments..."]
    lines += [f"{t}.{n}: Refreshing state... [id={n.replace('_', '-')}]" for t, n, _ in existing]
    if rng.random() < 0.35:
        return lines + [
            "",
            "No changes. Your infrastructure matches the configuration.",
            "",
            "Terraform has compared your real infrastructure against your configuration",
            "and found no differences, so no changes are needed.",
            "Releasing state lock. This may take a few moments...",
        ], (0, 0, 0)
    add, change = resources(rng, rng.randint(1, 4)), existing[: rng.randint(0, 2)]
    lines += [
        "",
        "Terraform used the selected providers to generate the following execution",
        "plan. Resource actions are indicated with the following symbols:",
        "  + create",
        "  ~ update in-place",
        "",
        "Terraform will perform the following actions:",
    ]
    for t, n, attr in add:
        value = f"acme-{repo.split('/')[1]}-{n.replace('_', '-')}"
        lines += [
            "",
            f"  # {t}.{n} will be created",
            f'  + resource "{t}" "{n}" {{',
            "      + arn        = (known after apply)",
            f'      + {attr:<10} = "{value}"',
            "      + id         = (known after apply)",
            "      + tags_all   = {",
            f'          + "team" = "{repo.split("/")[1]}"',
            "        }",
            "    }",
        ]
    for t, n, _ in change:
        lines += [
            "",
            f"  # {t}.{n} will be updated in-place",
            f'  ~ resource "{t}" "{n}" {{',
            f'        id       = "{n}"',
            "      ~ tags     = {",
            f'          ~ "revision" = "{rng.randint(10, 99)}" -> "{rng.randint(100, 999)}"',
            "        }",
            "        # (4 unchanged attributes hidden)",
            "    }",
        ]
    counts = (len(add), len(change), 0)
    lines += ["", f"Plan: {counts[0]} to add, {counts[1]} to change, 0 to destroy."]
    lines += [
        "",
        "Saved the plan to: tfplan",
        "Releasing state lock. This may take a few moments...",
    ]
    return lines, counts


def terraform_apply(counts: tuple[int, int, int], rng: random.Random) -> list[str]:
    lines = ["Acquiring state lock. This may take a few moments..."]
    for i in range(counts[0]):
        lines += [
            f"aws_s3_object.part{i}: Creating...",
            f"aws_s3_object.part{i}: Creation complete after {rng.randint(1, 9)}s",
        ]
    for i in range(counts[1]):
        lines += [
            f"aws_iam_role.r{i}: Modifying... [id=r{i}]",
            f"aws_iam_role.r{i}: Modifications complete after 1s [id=r{i}]",
        ]
    lines += ["Releasing state lock. This may take a few moments...", ""]
    lines.append(f"Apply complete! Resources: {counts[0]} added, {counts[1]} changed, 0 destroyed.")
    return lines


def fill(template: str, rng: random.Random) -> str:
    return template.format(
        name=rng.choice(NAMES), zone="Z0" + str(rng.randint(10**8, 10**9)), line=rng.randint(3, 220)
    )


def framed(text: str) -> list[str]:
    """Terraform ≥ 0.15's frame around one diagnostic."""
    return ["╷"] + [("│ " + ln).rstrip() for ln in text.split("\n")] + ["╵"]


def colour(line: str) -> str:
    """Terraform's ANSI colours as GitLab keeps them: red frame, bold red "Error: "."""
    if line and line[0] in "╷│╵":
        rest = line[1:]
        rest = rest.replace("Error: ", "\x1b[1m\x1b[31mError: \x1b[0m\x1b[0m\x1b[1m", 1)
        rest = rest.replace("Warning: ", "\x1b[1m\x1b[33mWarning: \x1b[0m\x1b[0m\x1b[1m", 1)
        return f"\x1b[31m{line[0]}\x1b[0m{rest}\x1b[0m" if "Error" in line else line
    if line.startswith(("Plan:", "Apply complete!")):
        return f"\x1b[1m\x1b[32m{line}\x1b[0m"
    return line


@dataclass
class Seen:
    """What the generator injected for one KB entry."""

    jobs: set[str]
    first: float
    last: float


@dataclass(frozen=True)
class Execution:
    """One job run attempt as its job_end event tells it."""

    repo: str
    pipeline: str
    job: str
    run_id: str
    attempt: int
    status: str
    end: float
    versions: tuple[str, str] | None


@dataclass
class Stream:
    """Collects events and the ground truth as the jobs are rendered."""

    entries: dict[str, Entry]
    rng: random.Random
    events: list[tuple[float, int, int, dict[str, object]]] = field(default_factory=list)
    examples: dict[str, list[str]] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    truth: dict[str, Seen] = field(default_factory=dict)
    per_repo: Counter[tuple[str, str]] = field(default_factory=Counter)
    unclassified: list[dict[str, object]] = field(default_factory=list)
    dead_ends: list[dict[str, object]] = field(default_factory=list)
    seen: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    seq: int = 0
    # every job as it ended: key -> (repo, pipeline, job, run_id, attempt, status, end, versions)
    executions: dict[str, Execution] = field(default_factory=dict)
    occurrences: list[tuple[str, str, float]] = field(default_factory=list)  # kb_id, job, ts

    def emit(
        self,
        run: Run,
        attempt: int,
        job: str,
        pieces: list[tuple[float, list[str]]],
        status: str,
        pipeline: str,
    ) -> None:
        """pieces: (event time, raw lines) in order; Atlantis ships each piece as one chunk."""
        self.seq += 1
        base: dict[str, object] = {
            "provider": run.provider,
            "repo": run.repo,
            "pipeline": pipeline,
            "job": job,
            "run_id": run.run_id,
            "run_attempt": attempt,
        }
        if run.team:
            base["team"] = run.team
        number = 0
        last = 0.0
        for ts, lines in pieces:
            chunks = [lines] if run.provider == "atlantis" else [[ln] for ln in lines]
            for chunk in chunks:
                rendered = [self.decorate(run.provider, ts, ln) for ln in chunk]
                event = dict(
                    base, message="\n".join(rendered), timestamp=rfc3339(ts), line_number=number + 1
                )
                number += len(chunk)
                self.events.append((ts, self.seq, number, event))
                last = ts
        end = dict(base, type="job_end", status=status, timestamp=rfc3339(last + 0.5))
        self.events.append((last + 0.5, self.seq, number + 1, end))
        key = f"{run.repo}|{run.run_id}|{attempt}|{job}"
        self.executions[key] = Execution(run.repo, pipeline, job, run.run_id, attempt, status,
                                         ms(last + 0.5), versions_of(run))

    def decorate(self, provider: str, ts: float, line: str) -> str:
        if provider == "github_actions":
            stamp = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
            return f"{stamp}0Z {line}"
        if provider == "gitlab":
            return colour(line)
        return line

    def record(self, kb_id: str, run: Run, attempt: int, job: str, ts: float) -> None:
        key = f"{run.repo}|{run.run_id}|{attempt}|{job}"
        seen = self.truth.setdefault(kb_id, Seen(set(), ts, ts))
        if key in seen.jobs:  # the same error again in one job: counts once
            return
        seen.jobs.add(key)
        self.occurrences.append((kb_id, key, ts))
        seen.first, seen.last = min(seen.first, ts), max(seen.last, ts)
        self.per_repo[(kb_id, run.repo)] += 1
        self.seen[run.repo].add(kb_id)


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def ms(t: float) -> float:
    return round(t, 3)


PIPELINES = {"github_actions": "terraform", "gitlab": "terraform-ci", "atlantis": "atlantis"}
GITLAB_STEP = '\x1b[0K\x1b[36;1mExecuting "step_script" stage of the job script\x1b[0;m'
FAILED = {
    "github_actions": [
        "##[error]Terraform exited with code 1.",
        "##[error]Process completed with exit code 1.",
    ],
    "gitlab": [
        "section_end:{t}:step_script\r\x1b[0K",
        "\x1b[31;1mERROR: Job failed: exit code 1\x1b[0;m",
    ],
    "atlantis": ["```"],
}
SUCCEEDED = {
    "github_actions": ["##[endgroup]"],
    "gitlab": ["section_end:{t}:step_script\r\x1b[0K", "\x1b[32;1mJob succeeded\x1b[0;m"],
    "atlantis": ["```"],
}


@dataclass
class JobLog:
    """The pieces of one job's log, each (event time, lines), on a ticking clock."""

    rng: random.Random
    t: float
    pieces: list[tuple[float, list[str]]] = field(default_factory=list)

    def step(self, lines: list[str], dt: float = 0.2) -> None:
        self.t = ms(self.t + dt * self.rng.uniform(0.5, 1.5))
        self.pieces.append((self.t, lines))

    def trailer(self, lines: list[str]) -> None:
        self.step([ln.format(t=int(self.t) + 1) for ln in lines], 1)


def job_header(log: JobLog, run: Run, job: str, command: str) -> None:
    """What the CI prints before Terraform's own output: set-up, version, init, the command."""
    provider, versions = run.provider, versions_of(run)
    tf, aws = versions or VERSIONS["new"]
    init = terraform_init(log.rng, aws)
    version = [f"Terraform v{tf}", "on linux_amd64"]
    if provider == "github_actions":
        setup = ["##[group]Run hashicorp/setup-terraform@v3", "with:", f"  terraform_version: {tf}"]
        log.step([*setup, "##[endgroup]"], 2)
        log.step(["##[group]Run terraform version", *version, "##[endgroup]"], 1)
        log.step(["##[group]Run terraform init -input=false"], 1)
        log.step(init[:5], 3)
        log.step([*init[5:], "##[endgroup]"], 4)
        log.step([f"##[group]Run {command}"], 1)
    elif provider == "gitlab":
        gl = int(log.t)
        log.step(
            [
                f"section_start:{gl}:prepare_script\r\x1b[0K\x1b[0K\x1b[36;1mPreparing environment\x1b[0;m",
                "Running on runner-abc123-project-4211-concurrent-0 via runner-abc123...",
                f"section_end:{gl + 3}:prepare_script\r\x1b[0K",
            ],
            3,
        )
        log.step(
            [
                f"section_start:{gl + 4}:step_script\r\x1b[0K{GITLAB_STEP}",
                "\x1b[32;1m$ terraform version\x1b[0;m",
                *version,
                "\x1b[32;1m$ terraform init -input=false\x1b[0;m",
            ],
            2,
        )
        log.step(init, 6)
        log.step([f"\x1b[32;1m$ {command}\x1b[0;m"], 1)
    else:
        log.step([f"Ran {job.capitalize()} for dir: `live` workspace: `default`", "", "```diff"], 1)


def render_run(stream: Stream, run: Run, attempt: int, fails: bool) -> None:
    """Render one attempt of a run: plan (and apply), the failing job stops the run."""
    rng = stream.rng
    t = run.start.timestamp() + (attempt - 1) * rng.randint(600, 2400) + rng.randint(5, 40)
    counts = (0, 0, 0)
    lock_like = run.failure not in (None, "unclassified") and bool(
        {"state-lock", "permission", "credentials"} & set(stream.entries[run.failure].tags)
    )
    fail_job = ""
    if fails:
        fail_job = "apply" if run.apply and lock_like and rng.random() < 0.5 else "plan"
    for job in ["plan", "apply"] if run.apply else ["plan"]:
        name = {"gitlab": f"tf:{job}", "atlantis": f"{job} live/{run.env}"}
        name_ = name.get(run.provider, job)
        log = JobLog(rng, ms(t))
        command = f"terraform {job} -input=false" + (" -out=tfplan" if job == "plan" else " tfplan")
        dead_end = run.dead_end if job == "plan" else None
        if job == "plan" and not fails and run.provider != "atlantis" and rng.random() < 0.06:
            dead_end = pick_dead_end(stream, run.repo, rng)
        command = dead_end or command
        job_header(log, run, job, command)
        if dead_end:  # Atlantis prints no command: its runs never try one here
            stream.dead_ends.append(dead_end_truth(stream, run, attempt, name_, dead_end, log.t))
        if fail_job == job:
            job_failure(stream, log, run, attempt, name_, command, lock_like)
            stream.emit(run, attempt, name_, log.pieces, "failure", PIPELINES[run.provider])
            return
        if job == "plan":
            lines, counts = terraform_plan(rng, run.repo)
            if rng.random() < 0.08:
                lines += ["", *framed(fill(rng.choice(WARNINGS), rng))]
        else:
            lines = terraform_apply(counts, rng)
        for i in range(0, len(lines), 12):
            log.step(lines[i : i + 12], 1.5)
        log.trailer(SUCCEEDED[run.provider])
        stream.emit(run, attempt, name_, log.pieces, "success", PIPELINES[run.provider])
        t = log.t + rng.randint(20, 90)


def job_failure(
    stream: Stream, log: JobLog, run: Run, attempt: int, job: str, command: str, lock_like: bool
) -> None:
    """The error (twice for a few jobs: a wrapper script that retries once) and the CI's exit."""
    if lock_like and log.rng.random() < 0.3:
        log.step(["Acquiring state lock. This may take a few moments..."], 5)
    for k in range(2 if run.twice else 1):
        if k:
            log.step(["Retrying in 10s (attempt 2/2)...", command], 10)
        log.t = ms(log.t + log.rng.uniform(1, 20))
        text = failure_text(stream, run, attempt, job, log.rng, log.t)
        log.pieces.append((log.t, as_printed(text, run.provider, log.rng)))
    log.trailer(FAILED[run.provider])


def as_printed(text: str, provider: str, rng: random.Random) -> list[str]:
    """Examples keep their own frame; bare ones get Terraform's (Atlantis: sometimes not,
    when the text has no blank line: an unframed diagnostic ends at one, for tfpulse)."""
    bare_ok = provider == "atlantis" and "\n\n" not in text.strip()
    if any(ch in text for ch in "╷│╵") or (bare_ok and rng.random() < 0.3):
        return text.split("\n")
    return framed(text)


def failure_text(
    stream: Stream, run: Run, attempt: int, job: str, rng: random.Random, ts: float
) -> str:
    """The error printed; recorded in the truth at the time of its first line."""
    ts = ms(ts)
    if run.failure == "unclassified":
        text = fill(rng.choice(stream.unknown), rng)
        stream.unclassified.append(
            {
                "repo": run.repo,
                "run_id": run.run_id,
                "run_attempt": attempt,
                "job": job,
                "at": rfc3339(ts),
            }
        )
        return text
    assert run.failure is not None
    stream.record(run.failure, run, attempt, job, ts)
    text = rng.choice(stream.examples[run.failure])
    # Examples may be framed already: show them as they are, the frame is then theirs.
    return text


def pick_dead_end(stream: Stream, repo: str, rng: random.Random) -> str | None:
    options = [c for c in DEAD_END_COMMANDS if signals_for(stream, repo, c)]
    return rng.choice(options) if options else None


def signals_for(stream: Stream, repo: str, command: str) -> list[tuple[str, int]]:
    return [
        (kb_id, idx)
        for kb_id in sorted(stream.seen[repo])
        for pattern, idx in stream.entries[kb_id].dead_end_signals
        if pattern.search(command)
    ]


def dead_end_truth(
    stream: Stream, run: Run, attempt: int, job: str, command: str, ts: float
) -> dict[str, object]:
    return {
        "repo": run.repo,
        "run_id": run.run_id,
        "run_attempt": attempt,
        "job": job,
        "command": command,
        "at_epoch": ts,
        "signals": [list(s) for s in signals_for(stream, run.repo, command)],
    }


# -- truth of what happened next, versions, lifecycle, incidents --------------------------
# The same definitions as docs/design.md ("What happened next"), written again here so
# that the truth does not come from the code it checks.


def p90(values: list[float]) -> float:
    """Nearest rank: the smallest value with at least 90% of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, -(-9 * len(ordered) // 10) - 1)]


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@dataclass(frozen=True)
class Next:
    """What followed one occurrence's job (same repo, pipeline and job)."""

    has_next: bool
    green: bool  # the next job (attempt or run) passed
    retry: bool  # ... and it was the next run_attempt of the same run
    ttg: float | None  # seconds from this job's end to the end of the next green one
    recurred: bool  # the entry again in the same repo, in another run, within a week


def summary(rows: list[Next]) -> dict[str, Any]:
    ttgs = [r.ttg for r in rows if r.ttg is not None]
    n = len(rows)
    return {
        "occurrences": n,
        "with_next": sum(r.has_next for r in rows),
        "next_green": sum(r.green for r in rows),
        "retry_resolved": sum(r.retry for r in rows),
        "recurred_7d": sum(r.recurred for r in rows),
        "reached_green": len(ttgs),
        "ttg_median": median(ttgs) if ttgs else None,
        "ttg_p90": p90(ttgs) if ttgs else None,
        "retry_share": sum(r.retry for r in rows) / n,
        "recurred_share": sum(r.recurred for r in rows) / n,
    }


def next_truth(stream: Stream) -> dict[str, Any]:
    groups: dict[tuple[str, str, str], list[Execution]] = defaultdict(list)
    for ex in stream.executions.values():
        groups[(ex.repo, ex.pipeline, ex.job)].append(ex)
    for group in groups.values():
        group.sort(key=lambda e: (e.end, e.run_id, e.attempt))
    runs_of: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
    for kb_id, key, ts in stream.occurrences:
        ex = stream.executions[key]
        runs_of[(kb_id, ex.repo)].append((ts, ex.run_id))
    per: list[list[Any]] = []
    by_entry: dict[str, list[Next]] = defaultdict(list)
    by_family: dict[str, list[Next]] = defaultdict(list)
    for kb_id, key, ts in sorted(stream.occurrences, key=lambda o: (o[1], o[0])):
        ex = stream.executions[key]
        later = [g for g in groups[(ex.repo, ex.pipeline, ex.job)] if g.end > ex.end]
        nxt = later[0] if later else None
        green = nxt is not None and nxt.status == "success"
        retry = nxt is not None and green and (nxt.run_id, nxt.attempt) == (
            ex.run_id, ex.attempt + 1)
        ttg = next((round(g.end - ex.end, 3) for g in later if g.status == "success"), None)
        recurred = any(run != ex.run_id and ts < t <= ts + WEEK
                       for t, run in runs_of[(kb_id, ex.repo)])
        fact = Next(nxt is not None, green, retry, ttg, recurred)
        by_entry[kb_id].append(fact)
        family = stream.entries[kb_id].family
        if family:
            by_family[family].append(fact)
        per.append([ex.repo, ex.run_id, ex.attempt, ex.job, kb_id,
                    None if nxt is None else green,
                    None if nxt is None else round(nxt.end - ex.end, 3), retry])
    return {
        "per_entry": {k: summary(v) for k, v in sorted(by_entry.items())},
        "per_family": {k: summary(v) for k, v in sorted(by_family.items())},
        "occurrences": per,  # [repo, run_id, attempt, job, kb_id, next green, after s, retry]
    }


def dead_end_truth_observed(stream: Stream) -> dict[str, Any]:
    """Per (kb_id, dead end): attempts, and how many the entry came back after (same repo,
    at or after the attempt, within a week): the observed fail_rate."""
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    for kb_id, key, ts in stream.occurrences:
        times[(kb_id, stream.executions[key].repo)].append(ts)
    seen: set[tuple[str, str, str]] = set()
    out: dict[str, dict[str, Any]] = {}
    for d in stream.dead_ends:
        key = f"{d['repo']}|{d['run_id']}|{d['run_attempt']}|{d['job']}"
        at = float(d["at_epoch"])  # type: ignore[arg-type]
        for kb_id, idx in d["signals"]:  # type: ignore[attr-defined]
            entry = stream.entries[kb_id]
            name, claimed = entry.signal_names[
                [i for _, i in entry.dead_end_signals].index(idx)]
            if (key, kb_id, name) in seen:
                continue
            seen.add((key, kb_id, name))
            back = any(at <= t <= at + WEEK for t in times[(kb_id, str(d["repo"]))])
            row = out.setdefault(f"{kb_id}|{name}", {
                "kb_id": kb_id, "dead_end": name, "claimed_fail_rate": claimed,
                "attempts": 0, "came_back": 0})
            row["attempts"] += 1
            row["came_back"] += int(back)
    for row in out.values():
        row["observed_fail_rate"] = row["came_back"] / row["attempts"]
    return dict(sorted(out.items()))


def lifecycle_at(times: list[float], now: float, weeks: int = 8, chronic: int = 4) -> str | None:
    """new, regressed, chronic, dormant or None: docs/design.md "Lifecycle of an entry"."""
    ages = {int((now - t) // WEEK) for t in times if t <= now}
    if not ages:
        return None
    if max(ages) == 0:
        return "new"
    if 0 in ages and 1 not in ages and 2 not in ages:
        return "regressed"
    if 0 not in ages and 1 not in ages:
        return "dormant"
    return "chronic" if len({a for a in ages if a < weeks}) >= chronic else None


def version_truth(stream: Stream) -> dict[str, Any]:
    per_entry: dict[str, Counter[str]] = defaultdict(Counter)
    tf_total: Counter[str] = Counter()
    aws_total: Counter[str] = Counter()
    for kb_id, key, _ts in stream.occurrences:
        versions = stream.executions[key].versions
        tf = versions[0] if versions else "unknown"
        per_entry[kb_id][tf] += 1
        tf_total[tf] += 1
        aws_total[versions[1] if versions else "unknown"] += 1
    known = {v for c in per_entry.values() for v in c if v != "unknown"}
    newest = max(known, key=lambda v: tuple(int(x) for x in v.split(".")))
    only_old = sorted(k for k, c in per_entry.items()
                      if {v for v in c if v != "unknown"} and newest not in c)
    return {
        "terraform": dict(sorted(tf_total.items())),
        "hashicorp/aws": dict(sorted(aws_total.items())),
        "per_entry": {k: dict(sorted(c.items())) for k, c in sorted(per_entry.items())},
        "newest_terraform": newest,
        "only_old_versions": only_old,
    }


def incident_truth(stream: Stream, storm: str | None) -> list[dict[str, Any]]:
    if storm is None:
        return []
    lo, hi = STORM_AT.timestamp(), STORM_AT.timestamp() + 3600
    hits = [(ts, key.split("|")[0]) for kb_id, key, ts in stream.occurrences
            if kb_id == storm and lo <= ts <= hi]
    near = [ts for kb_id, _key, ts in stream.occurrences
            if kb_id == storm and lo - 2 * 3600 <= ts <= hi + 2 * 3600]
    assert len(near) == len(hits), "another occurrence of the storm's entry falls near it"
    return [{
        "kb_id": storm,
        "repos": sorted({repo for _, repo in hits}),
        "occurrences": len(hits),
        "start": rfc3339(min(t for t, _ in hits)),
        "end": rfc3339(max(t for t, _ in hits)),
        "start_epoch": min(t for t, _ in hits),
        "end_epoch": max(t for t, _ in hits),
    }]


# -- main ---------------------------------------------------------------------------------


def build(kb_dir: Path, seed: int) -> tuple[list[dict[str, object]], dict[str, Any]]:
    rng = random.Random(seed)
    entries = load_kb(kb_dir)
    if not entries:
        raise SystemExit(f"no KB entries under {kb_dir}")
    examples = {e.kb_id: usable_examples(e, entries) for e in entries}
    skipped = sorted(k for k, v in examples.items() if not v)
    injectable = [e for e in entries if examples[e.kb_id]]
    unknown = [u for u in UNKNOWN_ERRORS if not matching(entries, fill(u, random.Random(0)))]
    warnings_ok = all(not matching(entries, fill(w, random.Random(0))) for w in WARNINGS)
    assert warnings_ok, "a WARNINGS text matches a KB entry: change it"
    runs = make_runs(rng)
    roles = schedule(runs, injectable, rng)
    runs = add_scenarios(runs, injectable, roles, rng)
    stream = Stream({e.kb_id: e for e in entries}, rng, examples=examples, unknown=unknown)
    for run in runs:
        if run.failure is None:
            render_run(stream, run, 1, False)
        elif run.fail_attempts == 1:
            render_run(stream, run, 1, True)
        else:
            render_run(stream, run, 1, True)
            render_run(stream, run, 2, run.fail_attempts == 2)
    stream.events.sort(key=lambda e: (e[0], e[1], e[2]))
    storm = next((k for k, r in sorted(roles.items()) if r == "credentials"), None)
    truth = make_truth(stream, roles, skipped, seed, kb_dir, len(runs), storm)
    return [e[3] for e in stream.events], truth


def make_truth(
    stream: Stream, roles: dict[str, str], skipped: list[str], seed: int, kb_dir: Path, runs: int,
    storm: str | None,
) -> dict[str, Any]:
    entries: dict[str, dict[str, Any]] = {}
    seen_times: dict[str, list[float]] = defaultdict(list)
    for kb_id, _key, ts in stream.occurrences:
        seen_times[kb_id].append(ts)
    for kb_id in sorted(stream.truth):
        seen = stream.truth[kb_id]
        entries[kb_id] = {
            "occurrences": len(seen.jobs),
            "first_seen": rfc3339(seen.first),
            "last_seen": rfc3339(seen.last),
            "first_seen_epoch": seen.first,
            "last_seen_epoch": seen.last,
            "role": roles.get(kb_id),
            "family": stream.entries[kb_id].family,
            "lifecycle": lifecycle_at(sorted(seen_times[kb_id]), END.timestamp()),
            "per_repo": {repo: n for (k, repo), n in sorted(stream.per_repo.items()) if k == kb_id},
        }
    dead_end_counts: Counter[str] = Counter()
    for d in stream.dead_ends:
        for kb_id, _idx in d["signals"]:  # type: ignore[attr-defined]
            dead_end_counts[kb_id] += 1
    return {
        "generator": "examples/generate_sample_stream.py",
        "seed": seed,
        "kb_dir": kb_dir.name,
        "window": {"start": rfc3339(START.timestamp()), "end": rfc3339(END.timestamp())},
        "runs": runs,
        "entries": entries,
        "occurrences_total": sum(e["occurrences"] for e in entries.values()),
        "unclassified": {"occurrences": len(stream.unclassified), "jobs": stream.unclassified},
        "dead_end_commands": {
            "per_kb_id": dict(sorted(dead_end_counts.items())),
            "jobs": stream.dead_ends,
            "observed": dead_end_truth_observed(stream),
        },
        "jobs": {
            "total": len(stream.executions),
            "success": sum(e.status == "success" for e in stream.executions.values()),
            "failure": sum(e.status == "failure" for e in stream.executions.values()),
        },
        "next": next_truth(stream),
        "versions": version_truth(stream),
        "incidents": incident_truth(stream, storm),
        "lifecycle_as_of": rfc3339(END.timestamp()),
        "kb_entries_not_injected": skipped,
        "teams": {repo: team for repo, team, _, _ in REPOS},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "examples" / "sample-ci-stream.jsonl.gz")
    ap.add_argument("--truth", type=Path, help="default: next to --out, .truth.json")
    ap.add_argument("--kb", type=Path, default=ROOT / "kb")
    ap.add_argument("--seed", type=int, default=20261122)
    args = ap.parse_args(argv)
    truth_path = args.truth or args.out.with_name(
        args.out.name.removesuffix(".gz").removesuffix(".jsonl") + ".truth.json"
    )
    events, truth = build(args.kb, args.seed)
    with (
        args.out.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
    ):
        for event in events:
            gz.write(json.dumps(event, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n")
    truth_path.write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    lines = sum(str(e.get("message", "")).count("\n") + 1 for e in events if "message" in e)
    print(
        f"{args.out}: {len(events)} events, {lines} log lines, {args.out.stat().st_size} bytes; "
        f"{truth['occurrences_total']} classified + {truth['unclassified']['occurrences']} "
        f"unclassified occurrences -> {truth_path}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

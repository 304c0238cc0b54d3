"""A realistic CI log corpus, generated deterministically from real log snippets.

    python benchmarks/realistic/generate.py --lines 1000000 [--seed 20261201] [--out DIR]

writes into benchmarks/corpus/realistic/<lines>/ (not committed):
- raw.log: every line as a CI system writes it (input of `tfpulse classify`);
- <shape>.jsonl for each shipper shape in SHAPES: the same lines as the events that
  shipper sends to Kafka (Vector file and kubernetes_logs sources, Fluent Bit, Filebeat
  / Logstash ECS, Promtail / Alloy), aliased field names, integer run and job ids,
  nested metadata;
- failures.jsonl: each inserted failure (job, first line, line count, where the text is from);
- stats.json: line and job counts, how many lines hold error words, how many lines the
  worker's TRIGGER flags.

The stream: 40 jobs run at once and write in bursts, interleaved (a shipper's view of a
CI fleet). Each job is a GitHub Actions, GitLab, Jenkins or Atlantis job doing Terraform
work, tests or dependency installs, built from the snippets in snippets/ (real CI output
collected from public issues and logs; each file names its sources). Most jobs are green;
a failed job ends with a real failure text from tests/data/realworld/fit.jsonl (never the
holdout split) or a KB example, of those pinned in pinned-texts.txt (so the corpus stays the
same as fit.jsonl and the KB grow), then its CI system's closing lines. A third of the
Terraform jobs run with TF_LOG=DEBUG: provider and core debug lines, of which ~6% hold
words such as error, fail or invalid (`rpc error` at plugin shutdown,
`diagnostic_error_count=0`, `produced an invalid plan ... tolerating it`) without being a
failure. Snippet lines are varied (timestamps follow the event time, numbers of three or
more digits are redrawn) so the stream does not repeat itself.

Event time grows 50 ms a line, as in the easy corpus (generate_corpus.py).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SNIPPETS = HERE / "snippets"
FIT = ROOT / "tests" / "data" / "realworld" / "fit.jsonl"  # never the holdout split
KB = ROOT / "kb"
PINNED = HERE / "pinned-texts.txt"  # the fit texts and KB entries drawn from, fixed
DEFAULT_SEED = 20261201
DEFAULT_OUT = ROOT / "benchmarks" / "corpus" / "realistic"
START = datetime(2026, 11, 2, 8, 0, 0, tzinfo=UTC).timestamp()
STEP = 0.05  # seconds of event time per line
CONCURRENT_JOBS = 40
SHAPES = ("vector_file", "vector_kubernetes", "fluentbit", "filebeat_ecs", "promtail")
# The words the issue counts as debug-level noise (the worker's TRIGGER is wider).
NOISE_WORDS = re.compile(r"(?i)error|fail|invalid")
DEBUG_NOISE_RATE = 0.06
JOB_FAILURE_RATE = 0.06  # Terraform failures, of all jobs
NEAR_MISS_RATE = 0.10  # Terraform jobs that print a near miss from fit.jsonl
REPOS = ("platform-infra", "network", "iam-baseline", "eks-clusters", "data-lake",
         "billing-api", "edge-cdn", "observability", "ci-runners", "dns", "payments",
         "search", "identity", "landing-zone", "analytics", "ml-platform")


# -- snippets --------------------------------------------------------------------------


def load_snippet(name: str) -> list[str]:
    """A snippet's lines, without its header (leading `# ` lines naming the sources)."""
    lines = (SNIPPETS / f"{name}.log").read_text(encoding="utf-8").split("\n")
    while lines and lines[0].startswith("# "):
        lines.pop(0)
    return [line for line in lines if line.strip()]


@functools.cache
def pinned() -> frozenset[str]:
    """The source ids (fit:<id>, kb:<path>) the corpus may draw from: a fixed list, so a
    grown fit.jsonl or KB does not change the corpus under the benchmark's figures."""
    return frozenset(line for line in PINNED.read_text(encoding="utf-8").split("\n")
                     if line and not line.startswith("#"))


def _fit_rows() -> list[dict[str, Any]]:
    keep = pinned()
    with open(FIT, encoding="utf-8") as fh:
        rows = [json.loads(raw) for raw in fh]
    return [r for r in rows if f"fit:{r['id']}" in keep]


def load_failures() -> list[tuple[str, list[str]]]:
    """(source id, lines) of every pinned real failure text: fit.jsonl's failures, then the
    first examples of the KB's entries (sorted by path, so the order is fixed)."""
    out = [(f"fit:{r['id']}", _text_lines(r["text"])) for r in _fit_rows() if r["failure"]]
    keep = pinned()
    for path in sorted(KB.rglob("*.yaml")):
        if path.name.startswith("_") or f"kb:{path.relative_to(KB)}" not in keep:
            continue
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for ex in (doc.get("examples") or [])[:1]:
            out.append((f"kb:{path.relative_to(KB)}", _text_lines(ex["text"])))
    return out


def load_near_misses() -> list[tuple[str, list[str]]]:
    """fit.jsonl's pinned texts that look like failures and are not (failure: false)."""
    return [(f"fit:{r['id']}", _text_lines(r["text"])) for r in _fit_rows() if not r["failure"]]


def _text_lines(text: str) -> list[str]:
    return text.rstrip("\n").split("\n")


@dataclass(frozen=True)
class Snippets:
    gha: list[str]
    gitlab: list[str]
    gitlab_failed: list[str]
    gitlab_succeeded: list[str]
    gha_closing: list[str]
    gha_failed: list[str]
    jenkins: list[str]
    jenkins_failed: list[str]
    atlantis: list[str]
    plan: list[str]
    warnings: list[str]
    debug: list[str]
    debug_noise: list[str]
    pytest: list[str]
    jest: list[str]
    gotest: list[str]
    npm: list[str]
    pip: list[str]
    apt: list[str]
    failures: list[tuple[str, list[str]]]
    near_misses: list[tuple[str, list[str]]]

    @classmethod
    @functools.cache
    def load(cls) -> Snippets:
        """The snippets and texts, read once per process (the KB's YAML is slow to parse)."""
        s = load_snippet
        return cls(s("github-actions"), s("gitlab-runner"), s("gitlab-runner-failed"),
                   s("gitlab-runner-succeeded"), s("github-actions-closing"),
                   s("github-actions-failed"),
                   s("jenkins"), s("jenkins-failed"), s("atlantis"), s("terraform-plan"),
                   s("terraform-warnings"), s("tf-debug"), s("tf-debug-noise"), s("pytest"),
                   s("jest"), s("go-test"), s("npm"), s("pip"), s("apt"), load_failures(),
                   load_near_misses())


# -- variation: timestamps follow the event time, long numbers are redrawn -------------

_VARY = re.compile(
    r"(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?P<frac>\.\d+)?(?P<tz>Z|[+-]\d\d:?\d\d)?)"
    r"|(?P<slash>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)"
    r"|(?P<num>\d{3,})")
_GHA_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z ")


def _iso(stamp: float, frac: str | None, tz: str | None) -> str:
    dt = datetime.fromtimestamp(stamp, UTC)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        digits = len(frac) - 1
        text += "." + f"{dt.microsecond:06d}{'0' * max(0, digits - 6)}"[:digits]
    if tz:
        text += "Z" if tz == "Z" else ("+00:00" if ":" in tz else "+0000")
    return text


def vary(line: str, stamp: float, rnd: random.Random) -> str:
    """The line with its timestamps set to `stamp` and numbers of 3+ digits redrawn
    (same length, no leading zero), so ids, pids and sizes differ from line to line."""
    def sub(m: re.Match[str]) -> str:
        if m.group("iso"):
            return _iso(stamp, m.group("frac"), m.group("tz"))
        if m.group("slash"):
            return datetime.fromtimestamp(stamp, UTC).strftime("%Y/%m/%d %H:%M:%S")
        n = len(m.group("num"))
        return str(rnd.randrange(10 ** (n - 1), 10 ** n))
    return _VARY.sub(sub, line)


# -- jobs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    provider: str  # github_actions, gitlab, jenkins, atlantis
    repo: str
    run_id: int
    job_id: int
    name: str
    pipeline: str
    host: str
    namespace: str
    pod: str
    debug: bool
    index: int  # the job's number in the stream

    @property
    def key(self) -> str:
        """The record key the events of this job carry (repo/run_id/job): every shape
        gives the job as its integer id, as CI systems number them."""
        return f"{self.repo}/{self.run_id}/{self.job_id}"


# A line source: called with the event time of the next line, returns its text
# (the text is drawn when the line is written, so embedded timestamps are current).
Source = Callable[[float], str]


@dataclass
class Script:
    """What a job still has to write: (source, is_failure) steps, in order."""
    steps: list[tuple[Source, bool]] = field(default_factory=list)
    failure: tuple[str, int] | None = None  # (source id, lines) if the job fails

    def add(self, sources: Sequence[Source], failure: bool = False) -> None:
        self.steps.extend((s, failure) for s in sources)


class Builder:
    """Builds the job scripts; all randomness from one seeded Random."""

    def __init__(self, rnd: random.Random, snip: Snippets):
        self.rnd, self.snip = rnd, snip
        self.debug_pool = [x for x in snip.debug if not NOISE_WORDS.search(x)]
        self.noise_pool = snip.debug_noise + [x for x in snip.debug if NOISE_WORDS.search(x)]

    def fixed(self, text: str, gha: bool) -> Source:
        rnd = self.rnd

        def source(stamp: float) -> str:
            line = vary(_GHA_STAMP.sub("", text), stamp, rnd)
            return _gha(line, stamp) if gha else line
        return source

    def verbatim(self, text: str, gha: bool) -> Source:
        """A failure or wrapper line: never varied (it must stay the real text)."""
        return (lambda stamp: _gha(text, stamp)) if gha else (lambda stamp: text)

    def run(self, lines: Sequence[str], gha: bool, start: int = 0, count: int | None = None
            ) -> list[Source]:
        """`count` lines of a snippet in order from `start`, wrapping around."""
        count = len(lines) if count is None else count
        return [self.fixed(lines[(start + i) % len(lines)], gha) for i in range(count)]

    def debug_lines(self, n: int, gha: bool) -> list[Source]:
        rnd = self.rnd
        return [self.fixed(rnd.choice(self.noise_pool if rnd.random() < DEBUG_NOISE_RATE
                                      else self.debug_pool), gha) for _ in range(n)]

    def job(self, index: int) -> tuple[Job, Script]:
        rnd, snip = self.rnd, self.snip
        provider = rnd.choices(("github_actions", "gitlab", "jenkins", "atlantis"),
                               (45, 30, 17, 8))[0]
        kind = "terraform" if provider == "atlantis" else rnd.choices(
            ("terraform", "tests", "deps"), (60, 22, 18))[0]
        debug = kind == "terraform" and rnd.random() < 0.33
        repo = f"acme/{rnd.choice(REPOS)}"
        env = rnd.choice(("prod", "staging", "dev"))
        region = rnd.choice(("us-east-1", "eu-west-1", "ap-southeast-2"))
        name = {"terraform": rnd.choice((f"plan ({env}, {region})", f"apply-{env}", "plan")),
                "tests": rnd.choice(("unit-tests", "test (3.12)", "go-test")),
                "deps": rnd.choice(("install", "build", "lint"))}[kind]
        job = Job(provider, repo, 7_000_000_000 + index * 37 + rnd.randrange(37),
                  40_000_000 + index * 11 + rnd.randrange(11), name,
                  {"terraform": "terraform", "tests": "ci", "deps": "ci"}[kind],
                  f"runner-{rnd.randrange(100, 999)}", f"ci-{env}",
                  f"runner-{rnd.getrandbits(32):08x}-project-{rnd.randrange(1000, 9999)}",
                  debug, index)
        gha = provider == "github_actions"
        script = Script()
        script.add(self.prelude(provider, gha))
        if kind == "terraform":
            self.terraform(script, gha, debug)
        elif kind == "tests":
            script.add(self.tests(gha))
        else:
            script.add(self.deps(gha))
        if kind == "terraform" and rnd.random() < JOB_FAILURE_RATE / 0.6:
            source, text = rnd.choice(snip.failures)
            script.add([self.verbatim(t, gha) for t in text], failure=True)
            script.failure = (source, len(text))
            script.add(self.run(self.closing(provider, failed=True), gha))
        else:
            script.add(self.run(self.closing(provider, failed=False), gha))
        return job, script

    def prelude(self, provider: str, gha: bool) -> list[Source]:
        snip, rnd = self.snip, self.rnd
        if provider == "github_actions":
            return self.run(snip.gha, gha)
        if provider == "gitlab":
            return self.run(snip.gitlab, gha)
        if provider == "jenkins":
            return self.run(snip.jenkins, gha, 0, rnd.randrange(20, len(snip.jenkins) - 3))
        return self.run(snip.atlantis, gha, 0, 5)

    def closing(self, provider: str, failed: bool) -> list[str]:
        """The lines a CI system writes after the job's work (its wrapper lines)."""
        snip = self.snip
        if provider == "gitlab":
            return snip.gitlab_failed if failed else snip.gitlab_succeeded
        if provider == "jenkins":
            return snip.jenkins_failed if failed else snip.jenkins[-3:]
        if provider == "github_actions":
            return (snip.gha_failed if failed else []) + snip.gha_closing
        return ["Ran Plan for dir: `terraform` workspace: `default`"] if not failed else []

    def terraform(self, script: Script, gha: bool, debug: bool) -> None:
        rnd, snip = self.rnd, self.snip
        for _ in range(rnd.randrange(4, 16)):  # plan output, resource by resource
            script.add(self.run(snip.plan, gha, rnd.randrange(len(snip.plan)),
                                rnd.randrange(6, 24)))
            if debug:
                script.add(self.debug_lines(rnd.randrange(60, 400), gha))
        if rnd.random() < 0.3:
            script.add(self.run(snip.warnings, gha, rnd.choice((0, 11)), 11))
        if rnd.random() < NEAR_MISS_RATE:
            _, text = rnd.choice(snip.near_misses)
            script.add([self.verbatim(t, gha) for t in text])

    def tests(self, gha: bool) -> list[Source]:
        rnd, snip = self.rnd, self.snip
        out: list[Source] = []
        for _ in range(rnd.randrange(10, 40)):
            out += self.run(snip.gotest, gha, rnd.randrange(len(snip.gotest)), 8)
        if rnd.random() < 0.15:  # a failing test run: not a Terraform failure
            out += self.run(rnd.choice((snip.pytest, snip.jest)), gha)
        return out

    def deps(self, gha: bool) -> list[Source]:
        rnd, snip = self.rnd, self.snip
        out: list[Source] = []
        for _ in range(rnd.randrange(8, 30)):
            lines = rnd.choice((snip.npm, snip.pip, snip.apt))
            out += self.run(lines, gha, rnd.randrange(len(lines)), rnd.randrange(5, 15))
        return out


def _gha(line: str, stamp: float) -> str:
    return f"{_iso(stamp, '.0000000', 'Z')} {line}"


# -- the stream ------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    job: Job
    text: str
    stamp: float
    number: int  # the line's number within its job, from 1
    failure: bool


@dataclass(frozen=True)
class Failure:
    job: str  # the job's record key
    first_line: int  # index of its first line in the stream (0-based)
    lines: int
    source: str  # fit:<id> or kb:<path>


def iter_lines(lines: int, seed: int = DEFAULT_SEED,
               failures: list[Failure] | None = None) -> Iterator[Line]:
    """The stream, line by line: `lines` lines of jobs interleaved in bursts. Inserted
    failures are appended to `failures` (if given) as they are written."""
    rnd = random.Random(seed)
    builder = Builder(rnd, Snippets.load())
    active: list[tuple[Job, Script, list[int]]] = []  # job, script, [position, count]
    next_index = 0
    written = 0
    while written < lines:
        while len(active) < CONCURRENT_JOBS:
            job, script = builder.job(next_index)
            next_index += 1
            active.append((job, script, [0, 0]))
        slot = rnd.randrange(len(active))
        job, script, state = active[slot]
        burst = rnd.randrange(1, 200 if job.debug else 40)
        # A failure is written in one burst, as a CI system flushes it (its lines are
        # never split by another job's).
        pos = state[0]
        while pos + burst < len(script.steps) and script.steps[pos + burst - 1][1] \
                and script.steps[pos + burst][1]:
            burst += 1
        for source, is_failure in script.steps[pos:pos + burst]:
            if written >= lines:
                break
            stamp = START + STEP * written
            if is_failure and failures is not None and (
                    pos == 0 or not script.steps[pos - 1][1]) and script.failure:
                failures.append(Failure(job.key, written, script.failure[1],
                                        script.failure[0]))
            state[1] += 1
            yield Line(job, source(stamp), stamp, state[1], is_failure)
            written += 1
            pos += 1
        state[0] = pos
        if pos >= len(script.steps):
            active.pop(slot)


# -- shipper shapes --------------------------------------------------------------------


def _rfc3339(stamp: float, digits: int) -> str:
    return _iso(stamp, "." + "0" * digits, "Z")


def event(shape: str, line: Line) -> dict[str, Any]:
    """The event a shipper of this shape sends for the line (field names as each
    shipper writes them; the CI ids are the fields a transform or the shipper's own
    `fields` option adds, named with the contract's aliases)."""
    j, text, t = line.job, line.text, line.stamp
    if shape == "vector_file":  # Vector `file` source + a remap adding the CI fields
        return {"file": f"/home/runner/_diag/logs/{j.run_id}/{j.job_id}.log", "host": j.host,
                "message": text, "source_type": "file", "timestamp": _rfc3339(t, 6),
                "provider": j.provider, "repo": j.repo, "run_id": j.run_id,
                "job": j.job_id, "pipeline": j.name}
    if shape == "vector_kubernetes":  # Vector `kubernetes_logs` source (GitLab k8s runner)
        uid = f"{j.job_id:08x}-6a1f-4c3e-9d2b-{j.run_id:012x}"[:36]
        return {"file": f"/var/log/pods/{j.namespace}_{j.pod}_{uid}/build/0.log",
                "kubernetes": {
                    "container_id": f"containerd://{j.run_id:016x}{j.job_id:048x}"[:77],
                    "container_image": "registry.gitlab.com/gitlab-org/terraform-images/"
                                       "stable:latest",
                    "container_name": "build", "namespace_labels": {
                        "kubernetes.io/metadata.name": j.namespace},
                    "node_labels": {"kubernetes.io/hostname": j.host,
                                    "node.kubernetes.io/instance-type": "m6i.xlarge"},
                    "pod_ip": f"10.42.{j.index % 250}.{j.job_id % 250}",
                    "pod_labels": {"pod": j.pod}, "pod_name": j.pod,
                    "pod_namespace": j.namespace, "pod_node_name": j.host, "pod_uid": uid},
                "message": text, "source_type": "kubernetes_logs", "stream": "stdout",
                "timestamp": _rfc3339(t, 9), "repository": j.repo,
                "pipeline_id": j.run_id, "job": j.job_id}
    if shape == "fluentbit":  # tail + CRI parser + kubernetes filter, JSON to Kafka
        return {"date": round(t, 6), "time": _rfc3339(t, 9), "stream": "stdout",
                "logtag": "F", "log": text,
                "kubernetes": {"pod_name": j.pod, "namespace_name": j.namespace,
                               "pod_id": f"{j.job_id:08x}", "labels": {"pod": j.pod},
                               "host": j.host, "container_name": "build",
                               "docker_id": f"{j.run_id:016x}",
                               "container_image": "hashicorp/terraform:1.9"},
                "project": j.repo, "build_id": j.run_id, "job_name": j.job_id}
    if shape == "filebeat_ecs":  # Filebeat filestream -> Logstash, ECS fields
        return {"@timestamp": _rfc3339(t, 3), "@version": "1", "message": text,
                "log": {"offset": line.number * 120, "file": {
                    "path": f"/var/lib/jenkins/jobs/{j.repo.split('/')[1]}/builds/"
                            f"{j.run_id}/log"}},
                "input": {"type": "filestream"}, "ecs": {"version": "8.0.0"},
                "host": {"name": j.host}, "agent": {"type": "filebeat", "version": "8.11.0"},
                "tags": ["ci"], "repo": j.repo, "build_id": j.run_id,
                "job_name": j.job_id, "provider": j.provider}
    if shape == "promtail":  # Promtail / Alloy entries written to Kafka as JSON
        return {"ts": _rfc3339(t, 9), "line": text,
                "labels": {"job": "ci/runners", "host": j.host, "filename":
                           f"/var/log/ci/{j.run_id}/{j.job_id}.log"},
                "repository": j.repo, "run_id": j.run_id, "job": j.job_id}
    raise ValueError(f"unknown shape {shape!r}")


# -- output ----------------------------------------------------------------------------


@dataclass
class Rendered:
    """A corpus in memory (for tests): raw lines and each shape's JSONL lines."""
    raw: list[str]
    events: dict[str, list[bytes]]
    failures: list[Failure]


def render(lines: int, seed: int = DEFAULT_SEED) -> Rendered:
    failures: list[Failure] = []
    raw: list[str] = []
    events: dict[str, list[bytes]] = {s: [] for s in SHAPES}
    for line in iter_lines(lines, seed, failures):
        raw.append(line.text)
        for shape in SHAPES:
            events[shape].append(orjson.dumps(event(shape, line)))
    return Rendered(raw, events, failures)


@dataclass
class Written:
    """Where generate() wrote a corpus."""
    out: Path
    raw: Path
    jsonl: dict[str, Path]
    failures: Path
    stats: dict[str, Any]


def generate(lines: int, seed: int = DEFAULT_SEED, out: Path | None = None) -> Written:
    """Write the corpus of `lines` lines into `out` (default corpus/realistic/<lines>)."""
    from worker.core.blocks import TRIGGER  # only for the stats: the worker's own prefilter

    out = out or DEFAULT_OUT / str(lines)
    out.mkdir(parents=True, exist_ok=True)
    trigger = re.compile(TRIGGER)
    failures: list[Failure] = []
    counts = {"lines": 0, "noise_word_lines": 0, "trigger_lines": 0, "failure_lines": 0,
              "debug_job_lines": 0, "debug_noise_word_lines": 0}
    jobs: dict[int, Job] = {}
    paths = {s: out / f"{s}.jsonl" for s in SHAPES}
    with contextlib.ExitStack() as stack:
        handles = {s: stack.enter_context(open(p, "wb")) for s, p in paths.items()}
        raw = stack.enter_context(open(out / "raw.log", "w", encoding="utf-8"))
        for line in iter_lines(lines, seed, failures):
            raw.write(line.text + "\n")
            for shape, fh in handles.items():
                fh.write(orjson.dumps(event(shape, line)) + b"\n")
            jobs[line.job.index] = line.job
            counts["lines"] += 1
            noisy = bool(NOISE_WORDS.search(line.text))
            counts["noise_word_lines"] += noisy
            counts["trigger_lines"] += bool(trigger.search(line.text))
            counts["failure_lines"] += line.failure
            if line.job.debug:
                counts["debug_job_lines"] += 1
                counts["debug_noise_word_lines"] += noisy and not line.failure
    with open(out / "failures.jsonl", "w", encoding="utf-8") as fh:
        for f in failures:
            fh.write(json.dumps(f.__dict__) + "\n")
    stats: dict[str, Any] = {
        "seed": seed, **counts, "jobs": len(jobs),
        "debug_jobs": sum(j.debug for j in jobs.values()), "failed_jobs": len(failures),
        "providers": {p: sum(j.provider == p for j in jobs.values())
                      for p in ("github_actions", "gitlab", "jenkins", "atlantis")},
        "shapes": list(SHAPES)}
    (out / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    return Written(out, out / "raw.log", paths, out / "failures.jsonl", stats)


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    written = generate(args.lines, args.seed, args.out)
    print(json.dumps(written.stats, indent=2))
    print(f"written to {written.out}")

"""Worker configuration: one documented table of keys, from YAML, TFPULSE_* and flags.

Precedence: defaults < config file < environment (TFPULSE_<KEY>) < command-line flags.
The YAML file may group keys in sections (`kafka: {topic: x}` is `kafka_topic`); an
unknown key is an error naming the file and line, never silently ignored.

Every key is documented once, here: its `key(...)` gives the section, the default and
the help text. `describe()` renders them for `tfpulse run --help`, `markdown_table()` for
docs/configuration.md (`python -m worker.config --write-docs` rewrites the table there).
It imports only the two pure classes whose defaults are the pipeline limits, so any
adapter may import it (the core does not: it takes its limits as arguments).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

import yaml

# The pipeline's limits are written once, as the defaults of the classes that apply them.
from worker.core.blocks import BlockAssembler
from worker.decode.contract import DecodeOptions

T = TypeVar("T")

FILE_ONLY = ("teams", "aliases")  # mappings: from the config file, never the environment
KB_ENV = "TFPULSE_KB"  # read by the KB loader when `kb` is empty, not by load_config
DOCS = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
DOCS_BEGIN, DOCS_END = "<!-- keys:begin -->", "<!-- keys:end -->"
REGENERATE = ".venv/bin/python -m worker.config --write-docs"


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Section:
    title: str
    intro: str  # a phrase: "Kafka: <intro>" in --help, capitalized in the docs


KAFKA = Section("Kafka", "settings of the kafka-python consumer and producer; the security "
                         "keys are passed to kafka-python as they are.")
STORE = Section("Store", "where occurrences, aggregates and the Kafka positions are kept.")
METRICS = Section("Metrics", "the Prometheus exporter and its label limits.")
PIPELINE = Section("Pipeline", "decoding events and rebuilding Terraform diagnostics.")
SECTIONS = (KAFKA, STORE, METRICS, PIPELINE)


def key(section: Section, default: T, help: str) -> T:
    """A documented configuration key: its section, default and help text.

    A mapping default becomes a default_factory (a fresh copy for every Config).
    """
    metadata = {"section": section, "help": help}
    if isinstance(default, dict):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class Config:
    kafka_bootstrap_servers: str = key(
        KAFKA, "127.0.0.1:9092",
        "Brokers to bootstrap from: a comma-separated host:port list, e.g. "
        "`kafka-1:9093,kafka-2:9093`.")
    kafka_topic: str = key(KAFKA, "ci-logs", "Topic of the CI log events to consume.")
    kafka_group_id: str = key(
        KAFKA, "tfpulse",
        "Consumer group; the workers of one group share the topic's partitions.")
    kafka_dlq_topic: str = key(
        KAFKA, "",
        "Dead-letter topic for events that do not decode or fail in the pipeline (each "
        "with a `tfpulse-reason` header); empty means `<kafka_topic>.dlq`.")
    kafka_client_id: str = key(
        KAFKA, "tfpulse",
        "Client id the consumer and producer give the brokers (broker logs, quotas).")
    kafka_max_poll_records: int = key(
        KAFKA, 20000, "Most records per poll; each poll is one store transaction.")
    kafka_max_poll_bytes: int = key(
        KAFKA, 4 * 1024 * 1024,
        "About how many bytes of record values one poll asks for (the record count "
        "follows the mean record size; kafka_max_poll_records caps it): what bounds the "
        "worker's memory per batch.")
    kafka_fetch_max_bytes: int = key(
        KAFKA, 8 * 1024 * 1024,
        "Most bytes one fetch response may carry, all partitions together; the consumer "
        "buffers about this much (larger did not read faster, and took more memory: "
        "docs/operations.md, Sizing).")
    kafka_max_partition_fetch_bytes: int = key(
        KAFKA, 1024 * 1024,
        "Most bytes one fetch response may carry for one partition (a larger record "
        "still comes whole: the broker sends at least one batch).")
    kafka_poll_timeout_ms: int = key(
        KAFKA, 1000,
        "Longest wait of one poll for records, in ms; also how long SIGTERM may wait for "
        "the poll to return.")
    kafka_session_timeout_ms: int = key(
        KAFKA, 45000,
        "A worker that stops heartbeating leaves the group after this many ms, and its "
        "partitions go to the others.")
    kafka_heartbeat_interval_ms: int = key(
        KAFKA, 3000,
        "Heartbeat interval to the group coordinator, in ms; keep it well under a third "
        "of kafka_session_timeout_ms.")
    kafka_max_poll_interval_ms: int = key(
        KAFKA, 300000,
        "Longest allowed time between two polls, in ms; a slower worker is removed from "
        "the group.")
    kafka_poll_failure_exit_seconds: float = key(
        KAFKA, 60.0,
        "A poll that keeps failing (raising, or stuck inside the Kafka client past "
        "kafka_poll_timeout_ms, e.g. a batch it cannot decompress) makes /readyz answer 503 "
        "at once and counts in tfpulse_poll_errors_total; after failing this many seconds "
        "in a row the worker exits with code 5 so that its orchestrator restarts it.")
    kafka_reconnect_backoff_max_ms: int = key(
        KAFKA, 10000, "Longest wait between reconnects to a broker, in ms.")
    kafka_security_protocol: str = key(
        KAFKA, "PLAINTEXT", "`PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`.")
    kafka_sasl_mechanism: str = key(
        KAFKA, "",
        "SASL mechanism with a SASL_* protocol: `PLAIN`, `SCRAM-SHA-256` or "
        "`SCRAM-SHA-512` (`OAUTHBEARER` needs a token provider object, which no key sets).")
    kafka_sasl_plain_username: str = key(
        KAFKA, "", "SASL user name (PLAIN and SCRAM).")
    kafka_sasl_plain_password: str = key(
        KAFKA, "",
        "SASL password (PLAIN and SCRAM); a secret, so set it in the environment "
        "(`TFPULSE_KAFKA_SASL_PLAIN_PASSWORD`), not in the file.")
    kafka_ssl_cafile: str = key(
        KAFKA, "",
        "CA bundle (PEM) to verify the brokers, e.g. `/etc/ssl/certs/kafka-ca.pem`; empty: "
        "the system's CAs.")
    kafka_ssl_certfile: str = key(KAFKA, "", "Client certificate (PEM), for mTLS.")
    kafka_ssl_keyfile: str = key(KAFKA, "", "Client private key (PEM), for mTLS.")

    store: str = key(
        STORE, "sqlite:///tfpulse.db",
        "SQLAlchemy URL of the store: `sqlite:///FILE` or "
        "`postgresql://user@host:5432/db` (psycopg 3).")

    metrics_address: str = key(
        METRICS, "0.0.0.0:9464",
        "host:port of the HTTP endpoint serving `/metrics`, `/healthz` and `/readyz`; "
        "empty disables it.")
    metrics_max_repos: int = key(
        METRICS, 100,
        "Distinct `repo` label values kept; later repos are counted as `other`.")
    metrics_max_teams: int = key(
        METRICS, 30,
        "Distinct `team` label values kept; later teams are counted as `other`.")
    metrics_runbook_base: str = key(
        METRICS, "",
        "Each KB entry's `runbook_url` label is this base + its kb_id, e.g. "
        "`https://git.example.com/platform/tfpulse/-/blob/main/kb/`; empty leaves it empty.")

    kb: str = key(
        PIPELINE, "",
        "Knowledge base folder; empty means `$TFPULSE_KB`, else the bundled `kb/`. "
        "TFPULSE_KB is read by the KB loader, so a `kb` in the config file wins over it.")
    block_idle_seconds: float = key(
        PIPELINE, BlockAssembler.idle_seconds,
        "Close a job's open diagnostic block after this many seconds of event time "
        "without a line from the job.")
    block_max_lines: int = key(
        PIPELINE, BlockAssembler.max_lines,
        "Most lines kept per block; later lines are dropped and the block is marked "
        "truncated.")
    block_max_bytes: int = key(
        PIPELINE, BlockAssembler.max_bytes,
        "Most bytes kept per block; later lines are dropped and the block is marked "
        "truncated.")
    max_jobs: int = key(
        PIPELINE, BlockAssembler.max_jobs,
        "Jobs tracked at once; past it, the least recently active job is closed first.")
    max_event_bytes: int = key(
        PIPELINE, DecodeOptions.max_event_bytes,
        "Larger events (in bytes, as received) go to the dead-letter topic.")
    teams: dict[str, str] = key(
        PIPELINE, {},
        "Mapping repo -> team, for events without a team, e.g. "
        "`{acme/infra-live: platform}`.")
    aliases: dict[str, list[str]] = key(
        PIPELINE, {},
        "Mapping event field -> the JSON names accepted for it; replaces the built-in "
        "names of that field, e.g. `{repo: [repo, repository, project_path]}`.")

    @property
    def dlq_topic(self) -> str:
        return self.kafka_dlq_topic or f"{self.kafka_topic}.dlq"

    def kafka_security(self) -> dict[str, Any]:
        """kafka-python keyword arguments for the security settings that are set."""
        out: dict[str, Any] = {"security_protocol": self.kafka_security_protocol}
        for key in ("sasl_mechanism", "sasl_plain_username", "sasl_plain_password",
                    "ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            value = getattr(self, f"kafka_{key}")
            if value:
                out[key] = value
        return out


KEYS: dict[str, Field[Any]] = {f.name: f for f in fields(Config)}
DEFAULTS = Config()  # the defaults, for other modules' flags (read it, never change it)


def load_config(path: str | None = None, env: dict[str, str] | None = None,
                overrides: dict[str, Any] | None = None) -> Config:
    cfg = Config()
    if path:
        _apply_file(cfg, Path(path))
    for name, value in (env if env is not None else dict(os.environ)).items():
        if name.startswith("TFPULSE_") and name != KB_ENV:
            key = name[len("TFPULSE_"):].lower()
            if key in KEYS and key not in FILE_ONLY:
                _set(cfg, key, value, f"environment {name}")
    for key, value in (overrides or {}).items():
        if value is not None:
            _set(cfg, key, value, f"flag --{key.replace('_', '-')}")
    return cfg


def _apply_file(cfg: Config, path: Path) -> None:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the config must be a mapping of keys")
    lines = {k.value: k.start_mark.line + 1 for k, _ in root.value} if root else {}
    for key, value in data.items():
        line = lines.get(key, 1)
        if isinstance(value, dict) and key not in FILE_ONLY:
            sub = next((v for k, v in root.value if k.value == key), None) if root else None
            sublines = {k.value: k.start_mark.line + 1 for k, _ in sub.value} if sub else {}
            for subkey, subvalue in value.items():
                _set(cfg, f"{key}_{subkey}", subvalue, f"{path}:{sublines.get(subkey, line)}")
        else:
            _set(cfg, key, value, f"{path}:{line}")


def _set(cfg: Config, key: str, value: Any, where: str) -> None:
    if key not in KEYS:
        raise ConfigError(f"{where}: unknown key {key!r}; the keys are listed in "
                          "docs/configuration.md (`tfpulse run --help` too)")
    default = getattr(Config(), key)
    try:
        if isinstance(default, bool):
            value = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        elif isinstance(default, int):
            value = int(value)
        elif isinstance(default, float):
            value = float(value)
        elif isinstance(default, dict):
            if not isinstance(value, dict):
                raise TypeError("a mapping")
        else:
            value = str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {key} must be {type(default).__name__}, got {value!r}") \
            from None
    setattr(cfg, key, value)


def env_var(name: str) -> str | None:
    """The environment variable of a key; None for the file-only mappings."""
    if name in FILE_ONLY:
        return None
    return KB_ENV if name == "kb" else f"TFPULSE_{name.upper()}"


def show_default(name: str) -> str:
    """A key's default as it would be written in YAML: `"ci-logs"`, `5000`, `{}`."""
    value = getattr(DEFAULTS, name)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | dict):
        return json.dumps(value)
    return repr(value)


def _sections() -> list[tuple[Section, list[Field[Any]]]]:
    out: list[tuple[Section, list[Field[Any]]]] = []
    for f in KEYS.values():
        section = f.metadata["section"]
        if not out or out[-1][0] is not section:
            out.append((section, []))
        out[-1][1].append(f)
    return out


def _wrap(text: str, width: int, indent: str, first: str | None = None) -> list[str]:
    """textwrap.wrap that never breaks inside a `code span`."""
    parts = text.split("`")
    text = "`".join(p.replace(" ", "\0") if i % 2 else p for i, p in enumerate(parts))
    lines = textwrap.wrap(text, width, initial_indent=indent if first is None else first,
                          subsequent_indent=indent, break_on_hyphens=False,
                          break_long_words=False)
    return [line.replace("\0", " ") for line in lines]


def describe(width: int = 88) -> str:
    """Every key by section: `name: type = default  $ENV`, then its help; for --help."""
    out: list[str] = []
    for section, keys in _sections():
        out.extend(_wrap(f"{section.title}: {section.intro}", width, "  ", first=""))
        for f in keys:
            env = env_var(f.name)
            head = f"  {f.name}: {f.type} = {show_default(f.name)}"
            tail = f"${env}" if env else "(config file only)"
            out.append(f"{head}  {tail}" if len(head) + 2 + len(tail) <= width
                       else f"{head}\n      {tail}")
            out.extend(_wrap(f.metadata["help"], width, " " * 6))
        out.append("")
    return "\n".join(out).rstrip("\n")


def markdown_table() -> str:
    """The keys as Markdown, one table per section, for docs/configuration.md."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    # No "--" inside the comment: CommonMark 0.29 (GitHub) would not end it at "-->".
    out = ["<!-- generated from worker/config.py: edit the keys there and regenerate (see "
           "above); do not edit this table -->"]
    for section, keys in _sections():
        intro = section.intro[:1].upper() + section.intro[1:]
        out += ["", f"### {section.title}", "", intro, "",
                "| key | type | default | environment | meaning |", "|---|---|---|---|---|"]
        for f in keys:
            env = env_var(f.name)
            out.append(f"| `{f.name}` | `{cell(str(f.type))}` | `{cell(show_default(f.name))}` "
                       f"| {f'`{env}`' if env else 'file only'} | {cell(f.metadata['help'])} |")
    return "\n".join(out)


def render_docs(text: str) -> str:
    """text (docs/configuration.md) with the keys table between the markers regenerated."""
    begin, end = text.find(DOCS_BEGIN), text.find(DOCS_END)
    if begin < 0 or end < begin:
        raise ValueError(f"the markers {DOCS_BEGIN} and {DOCS_END} are missing, or out of "
                         "order")
    return f"{text[:begin]}{DOCS_BEGIN}\n{markdown_table()}\n{text[end:]}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m worker.config",
        description="Print the configuration keys, or regenerate their table in the docs.")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--markdown", action="store_true", help="print the Markdown tables")
    action.add_argument("--write-docs", action="store_true",
                        help="rewrite the table between the markers in FILE")
    action.add_argument("--check-docs", action="store_true",
                        help="exit 1 if the table in FILE is out of date")
    parser.add_argument("file", nargs="?", type=Path, default=DOCS, metavar="FILE",
                        help=f"default: {DOCS}")
    args = parser.parse_args(argv)
    if not (args.write_docs or args.check_docs):
        print(markdown_table() if args.markdown else describe())
        return 0
    text = args.file.read_text()
    try:
        new = render_docs(text)
    except ValueError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 2
    if new == text:
        return 0
    if args.check_docs:
        print(f"{args.file}: the keys table is out of date; run `{REGENERATE}`",
              file=sys.stderr)
        return 1
    args.file.write_text(new)
    print(f"{args.file}: keys table rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())

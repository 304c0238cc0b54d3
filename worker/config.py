"""Worker configuration: one documented table of keys, from YAML, TFPULSE_* and flags.

Precedence: defaults < config file < environment (TFPULSE_<KEY>) < command-line flags.
The YAML file may group keys in sections (`kafka: {topic: x}` is `kafka_topic`); an
unknown key is an error naming the file and line, never silently ignored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    pass


@dataclass
class Config:
    # Kafka (kafka-python settings; security keys passed through as they are)
    kafka_bootstrap_servers: str = "127.0.0.1:9092"  # comma-separated host:port list
    kafka_topic: str = "ci-logs"  # topic of CI log events
    kafka_group_id: str = "tfpulse"  # consumer group; workers in one group share partitions
    kafka_dlq_topic: str = ""  # dead-letter topic; default "<topic>.dlq"
    kafka_client_id: str = "tfpulse"
    kafka_max_poll_records: int = 5000  # records per poll = per store transaction, at most
    kafka_poll_timeout_ms: int = 1000
    kafka_session_timeout_ms: int = 45000  # a worker that stops heartbeating leaves the group after this
    kafka_heartbeat_interval_ms: int = 3000  # keep well under a third of the session timeout
    kafka_max_poll_interval_ms: int = 300000  # longest allowed time between two polls
    kafka_reconnect_backoff_max_ms: int = 10000  # longest wait between reconnects to a broker
    kafka_security_protocol: str = "PLAINTEXT"  # PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
    kafka_sasl_mechanism: str = ""  # PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER
    kafka_sasl_plain_username: str = ""
    kafka_sasl_plain_password: str = ""
    kafka_ssl_cafile: str = ""  # CA bundle to verify the brokers
    kafka_ssl_certfile: str = ""  # client certificate (mTLS)
    kafka_ssl_keyfile: str = ""  # client key (mTLS)
    # Store
    store: str = "sqlite:///tfpulse.db"  # sqlite:///FILE or postgresql://user@host:5432/db
    # Metrics
    metrics_address: str = "0.0.0.0:9464"  # /metrics, /healthz, /readyz; "" disables
    metrics_max_repos: int = 100  # repo label values beyond this fold into "other"
    metrics_max_teams: int = 30
    metrics_runbook_base: str = ""  # runbook_url = base + kb_id (e.g. a docs site)
    # Pipeline
    kb: str = ""  # knowledge base folder; default $TFPULSE_KB or the bundled kb/
    block_idle_seconds: float = 600.0  # close a job's open block after this much event time
    block_max_lines: int = 200
    block_max_bytes: int = 32768
    max_jobs: int = 20000  # jobs tracked at once; the least recently active is closed first
    max_event_bytes: int = 1048576  # larger events go to the dead-letter topic
    teams: dict[str, str] = field(default_factory=dict)  # repo -> team, for events without team
    aliases: dict[str, list[str]] = field(default_factory=dict)  # event field -> names to accept

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


KEYS = {f.name: f for f in fields(Config)}


def load_config(path: str | None = None, env: dict[str, str] | None = None,
                overrides: dict[str, Any] | None = None) -> Config:
    cfg = Config()
    if path:
        _apply_file(cfg, Path(path))
    for name, value in (env if env is not None else dict(os.environ)).items():
        if name.startswith("TFPULSE_") and name != "TFPULSE_KB":
            key = name[len("TFPULSE_"):].lower()
            if key in KEYS and key not in ("teams", "aliases"):
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
        if isinstance(value, dict) and key not in ("teams", "aliases"):
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


def describe() -> str:
    """Every key with its default, for --help and docs/configuration.md."""
    out = []
    for name, f in KEYS.items():
        default = f.default
        out.append(f"  {name:<28} default {default!r}" if not isinstance(default, dict)
                   else f"  {name:<28} mapping")
    return "\n".join(out)

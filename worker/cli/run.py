"""`tfpulse run`: the Kafka consumer worker, with its metrics endpoint."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from typing import Any

from worker.cli.common import load_kb_or_exit, open_store_or_exit, settle_heap
from worker.cli.exits import Exit
from worker.config import ConfigError, describe, load_config

log = logging.getLogger("tfpulse.run")

HELP = f"""\
Consume CI log events from Kafka (the kafka_topic key below), find and classify the
Terraform failures, store each occurrence once with its first/last seen, and serve
/metrics, /healthz and /readyz. Invalid events go to the dead-letter topic
(<topic>.dlq) with a `tfpulse-reason` header. SIGTERM or Ctrl-C: finish the current
batch, store it with its offsets, and exit (within 20 s whatever Kafka or the store
do: past that it exits with code 5 and the next start resumes from the stored offsets).
A poll that keeps failing for kafka_poll_failure_exit_seconds, or a store that stays
unavailable past its retry bound (10 minutes), also exits with code 5, for a restart.

Configuration: defaults < --config FILE (YAML) < TFPULSE_<KEY> environment < flags.
In the file a key may sit in its section: `kafka: {{topic: x}}` is kafka_topic; an
unknown key is an error. Each key: `name: type = default  $ENVIRONMENT_VARIABLE`, then
what it does (docs/configuration.md has the same table and an example file).

{describe()}
"""


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="the Kafka consumer worker", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", metavar="FILE", help="YAML config file (keys above)")
    p.add_argument("--bootstrap-servers", dest="kafka_bootstrap_servers", metavar="HOST:PORT",
                   help="sets kafka_bootstrap_servers")
    p.add_argument("--topic", dest="kafka_topic", metavar="TOPIC", help="sets kafka_topic")
    p.add_argument("--group-id", dest="kafka_group_id", metavar="GROUP",
                   help="sets kafka_group_id")
    p.add_argument("--store", dest="store", metavar="URL", help="sets store")
    p.add_argument("--metrics-address", dest="metrics_address", metavar="HOST:PORT",
                   help="sets metrics_address; '' disables the HTTP endpoint")
    p.add_argument("--kb", dest="kb", metavar="DIR", help="sets kb")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from worker.metrics.collector import LifecycleCollector, NextCollector, StoreCollector
    from worker.metrics.counters import Metrics
    from worker.metrics.endpoints import Exporter
    from worker.sources.kafka import KafkaWorker, PollFailing
    from worker.store.retry import transient

    # Before anything slow (the KB, the store): a SIGTERM during start-up must stop the
    # worker cleanly, not kill it with the default action.
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    keys = ("kafka_bootstrap_servers", "kafka_topic", "kafka_group_id", "store",
            "metrics_address", "kb")
    try:
        cfg = load_config(args.config, overrides={k: getattr(args, k) for k in keys})
    except ConfigError as exc:
        print(f"tfpulse run: {exc}", file=sys.stderr)
        return Exit.USAGE
    args.kb = Path(cfg.kb) if cfg.kb else None
    kb = load_kb_or_exit(args)
    store = open_store_or_exit(cfg.store)
    metrics = Metrics(kb, max_repos=cfg.metrics_max_repos, max_teams=cfg.metrics_max_teams,
                      runbook_base=cfg.metrics_runbook_base)
    metrics.registry.register(StoreCollector(store, kb))
    metrics.registry.register(LifecycleCollector(store))
    metrics.registry.register(NextCollector(store))
    worker = KafkaWorker(cfg, kb, store, metrics)
    exporter = Exporter(metrics.registry, cfg.metrics_address, worker.ready).start() \
        if cfg.metrics_address else None
    settle_heap()
    log.info("starting", extra={"kb_entries": len(kb), "kb_version": kb.version,
                                "store": cfg.store.split("@")[-1],
                                "bootstrap": cfg.kafka_bootstrap_servers})
    try:
        worker.run(stop, lambda: os._exit(Exit.UNAVAILABLE))
    except PollFailing as exc:
        log.error("kafka poll kept failing: exiting for a restart", extra={"error": str(exc)})
        return Exit.UNAVAILABLE
    except Exception as exc:
        if not transient(exc):
            raise
        log.error("the store stayed unavailable past its retry bound: exiting for a restart",
                  extra={"error": f"{type(exc).__name__}"})
        return Exit.UNAVAILABLE
    finally:
        if exporter:
            exporter.stop()
        store.close()
    log.info("stopped cleanly")
    return Exit.OK

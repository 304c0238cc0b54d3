"""The Kafka adapter: consume CI log events, feed the pipeline, store counts and offsets.

Once per poll:

  1. decode each record; a record that does not decode is queued for the dead-letter
     topic with its reason (sources/kafka_dlq.py: whole, or as a bounded envelope);
  2. produce the dead letters and wait for their acks (a crash before step 3 may
     dead-letter a record twice; it never loses one);
  3. the commit path of every source (sources/commit.py): ONE store transaction with the
     next position of every partition still owned (held back to the first line of any
     open block), then the metrics, from what the store accepted as new, then the same
     positions copied to Kafka so that standard lag tools work;
  4. items the store quarantined in step 3 for their values (store.Quarantined) go to the
     dead-letter topic as JSON letters (sources/deadletter.quarantine_letter), offset -1.

On partition assignment the consumer seeks to the positions in the store: the store is
the truth, Kafka's committed offsets are a copy. A crash at any instant therefore loses
nothing (nothing past a stored position was counted without it being stored) and counts
nothing twice (occurrences are keyed by job run attempt and entry). That is also why a
poll that keeps failing, or a shutdown that cannot finish, may simply exit
(sources/pollwatch.py): every call to Kafka here is bounded in time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.structs import OffsetAndMetadata

from worker.config import Config
from worker.core.blocks import BlockAssembler
from worker.core.pipeline import Pipeline
from worker.decode.batch import decode_values
from worker.decode.contract import DecodeOptions
from worker.knowledge.entry import KnowledgeBase
from worker.metrics.counters import Metrics
from worker.model import Partition
from worker.sources.commit import commit
from worker.sources.deadletter import letter_bytes, quarantine_letter
from worker.sources.kafka_dlq import DeadLetter, DeadLetterProducer
from worker.sources.pollwatch import PollWatch, start_watchdog
from worker.sources.quietclock import QuietClock
from worker.store.retry import OUTAGE
from worker.store.store import Store

log = logging.getLogger("tfpulse.consumer")
KAFKA_COMMIT_TIMEOUT_MS = 5000  # Kafka's copy of the offsets is best effort: never wait long
CLOSE_TIMEOUT_S = 3.0  # leaving the group and flushing on exit, each
MAX_REQUEST_SIZE = 16 * 1024 * 1024
_VALUE, _KEY, _TIMESTAMP, _OFFSET = (attrgetter(name) for name in
                                      ("value", "key", "timestamp", "offset"))
# A poll is decoded in chunks of about this many bytes: the batch decoder was ~25% faster
# per record on 1 MiB than on 4 MiB (cache, and no per-line length check below
# max_event_bytes); each chunk is fed to the pipeline in turn, one commit per poll.
DECODE_CHUNK_BYTES = 1024 * 1024
_MS_TO_S = (1000.0).__rtruediv__  # t -> t / 1000.0, in C: a record's time in seconds


def fetch_settings(cfg: Config) -> dict[str, Any]:
    """How much the consumer fetches at once (benchmarks/kafka_e2e.py gives its bare
    kafka-python loop the same, and the same PollSize)."""
    return dict(max_poll_records=cfg.kafka_max_poll_records,
                fetch_max_bytes=cfg.kafka_fetch_max_bytes,
                max_partition_fetch_bytes=cfg.kafka_max_partition_fetch_bytes)


@dataclass
class PollSize:
    """How many records to ask the next poll for: about max_bytes of record values.

    A poll's records, their values joined for the decoder and the decoded messages are
    all in memory at once, so a count of records alone would let memory grow with the
    record size (one line or a few hundred per record). The count follows the mean
    value size of the polls so far; max_records caps it (the first poll assumes 1 KiB).
    """

    max_records: int
    max_bytes: int
    mean: float = 1024.0

    @classmethod
    def configured(cls, cfg: Config) -> PollSize:
        return cls(cfg.kafka_max_poll_records, cfg.kafka_max_poll_bytes)

    def next(self) -> int:
        return max(1, min(self.max_records, int(self.max_bytes / max(self.mean, 1.0))))

    def saw(self, records: int, value_bytes: int) -> None:
        if records:  # halfway to the last poll's mean: steady, yet quick to follow
            self.mean = (self.mean + value_bytes / records) / 2


class PollFailing(RuntimeError):
    """The poll kept failing for longer than kafka_poll_failure_exit_seconds."""


class KafkaWorker:
    def __init__(self, cfg: Config, kb: KnowledgeBase, store: Store, metrics: Metrics):
        self.cfg, self.kb, self.store, self.metrics = cfg, kb, store, metrics
        self.decode_opts = DecodeOptions.configured(cfg.aliases, cfg.teams,
                                                    cfg.max_event_bytes)
        self.pipeline = self._new_pipeline()
        self.assigned: set[TopicPartition] = set()
        self.consumer: KafkaConsumer | None = None
        self.producer: KafkaProducer | None = None
        self.dead_letters: DeadLetterProducer | None = None
        # Items the store quarantined at a commit inside a rebalance listener: sent to the
        # dead-letter topic at the next commit outside it (they are logged at once).
        self._quarantined: list[DeadLetter] = []
        self.poll_size = PollSize.configured(cfg)
        self.quiet = QuietClock()  # quiet partitions' time moves with the wall clock
        self.watch = PollWatch(cfg.kafka_poll_timeout_ms / 1000.0,
                               cfg.kafka_poll_failure_exit_seconds,
                               lambda error: metrics.poll_errors.labels(error).inc())

    def _new_pipeline(self) -> Pipeline:
        assembler = BlockAssembler(self.cfg.block_max_lines, self.cfg.block_max_bytes,
                                   self.cfg.block_idle_seconds, self.cfg.max_jobs)
        return Pipeline(self.kb, assembler=assembler, repo_entries=self.store.repo_entries(),
                        max_jobs=self.cfg.max_jobs)

    # -- lifecycle ------------------------------------------------------------------------

    def connect(self) -> None:
        common = dict(bootstrap_servers=self.cfg.kafka_bootstrap_servers.split(","),
                      client_id=self.cfg.kafka_client_id,
                      reconnect_backoff_max_ms=self.cfg.kafka_reconnect_backoff_max_ms,
                      **self.cfg.kafka_security())
        self.consumer = KafkaConsumer(
            group_id=self.cfg.kafka_group_id, enable_auto_commit=False,
            session_timeout_ms=self.cfg.kafka_session_timeout_ms,
            heartbeat_interval_ms=self.cfg.kafka_heartbeat_interval_ms,
            max_poll_interval_ms=self.cfg.kafka_max_poll_interval_ms,
            auto_offset_reset="earliest", **fetch_settings(self.cfg), **common)
        # max_block_ms: a send with the broker away waits this long for metadata, then
        # raises a retriable error that the dead-letter retry handles. Not idempotent: an
        # idempotent kafka-python producer turns one record the dead-letter topic refuses
        # (too large) into a fatal error for every later send; a duplicate dead letter
        # after a retry is allowed (sources/kafka_dlq.py).
        self.producer = KafkaProducer(acks="all", retries=10, linger_ms=5, max_block_ms=10000,
                                      enable_idempotence=False,
                                      max_request_size=MAX_REQUEST_SIZE, **common)
        self.dead_letters = DeadLetterProducer(
            self.producer, self.cfg.dlq_topic,
            on_envelope=lambda _d: self.metrics.dead_letter_envelopes.inc())
        self.consumer.subscribe([self.cfg.kafka_topic], listener=_Rebalance(self))
        log.info("subscribed", extra={"topic": self.cfg.kafka_topic,
                                      "group": self.cfg.kafka_group_id})

    def run(self, stop: threading.Event, exit_now: Callable[[], None]) -> None:
        """Poll until stop is set (SIGTERM), then finish the current poll and exit.
        Raises PollFailing when polls kept failing past the configured bound; the watchdog
        calls exit_now when a poll is stuck that long or a shutdown takes too long."""
        start_watchdog(self.watch, stop, exit_now)
        if self.consumer is None:
            self.connect()
        assert self.consumer is not None
        try:
            while not stop.is_set():
                try:
                    with self.watch.polling():
                        polled = self.consumer.poll(timeout_ms=self.cfg.kafka_poll_timeout_ms,
                                                    max_records=self.poll_size.next())
                except Exception as exc:  # noqa: BLE001 - surfaced by the watch, bounded
                    log.warning("poll failed, retrying", extra={
                        "error": f"{type(exc).__name__}: {str(exc)[:300]}"})
                    if self.watch.expired():
                        raise PollFailing(self.watch.problem() or "poll failing") from exc
                    stop.wait(1.0)
                    continue
                self.handle(polled)
            log.info("stopping: writing the last batch")
            self.commit()
        finally:
            self.close()

    def close(self) -> None:
        if self.consumer is not None:
            self.consumer.close(autocommit=False, timeout_ms=int(CLOSE_TIMEOUT_S * 1000))
        if self.producer is not None:
            self.producer.close(timeout=CLOSE_TIMEOUT_S)

    # -- one poll ------------------------------------------------------------------------

    def handle(self, polled: dict[TopicPartition, list[Any]]) -> None:
        dead: list[DeadLetter] = []
        n_records = value_bytes = 0
        for tp, records in polled.items():
            if not records:
                continue
            values = list(map(_VALUE, records))
            size = sum(map(len, filter(None, values)))
            n_records += len(records)
            value_bytes += size
            part = Partition(tp.topic, tp.partition)
            step = max(1, len(records) * DECODE_CHUNK_BYTES // max(size, 1))
            for i in range(0, len(records), step):
                dead.extend(self._process(part, records[i:i + step], values[i:i + step]))
            self.quiet.saw(part, self.pipeline.watermarks.get(part, 0.0))
        self.poll_size.saw(n_records, value_bytes)
        for quiet, now in self.quiet.times():
            self.pipeline.advance_time(quiet, now)
        self.pipeline.flush_idle()
        self._dead_letter(dead)
        self.commit()
        self._update_lag()

    def _process(self, part: Partition, records: list[Any], values: list[bytes | None]
                 ) -> list[DeadLetter]:
        """Decode and feed consecutive records of one partition; their dead letters."""
        batch = decode_values(values, list(map(_KEY, records)),
                              list(map(_MS_TO_S, map(_TIMESTAMP, records))), self.decode_opts)
        # Rows are numbered by index in this chunk; the pipeline wants offsets.
        batch.positions = (list(map(_OFFSET, records)) if len(batch) == len(records)
                           else [records[k].offset for k in batch.positions])
        batch.next_position = records[-1].offset + 1
        dead = [DeadLetter.of(records[k], reason) for k, reason, _raw in batch.errors]
        failed = self.pipeline.process_batch(batch, part)
        if failed:
            by_offset = {r.offset: r for r in records}
            for row, exc in failed:
                rec = by_offset[batch.positions[row]]
                log.error("event failed in the pipeline", exc_info=exc, extra={
                    "partition": part.number, "offset": rec.offset})
                dead.append(DeadLetter.of(rec, f"pipeline error: {type(exc).__name__}: {exc}"))
        return dead

    def commit(self, in_listener: bool = False) -> None:
        """Step 3 of the sequence above. in_listener: called from a rebalance listener,
        which kafka-python runs on its network thread, where a blocking commit raises."""
        def copy_to_kafka(positions: Mapping[Partition, int]) -> None:
            if not positions or self.consumer is None:
                return
            offsets = {TopicPartition(*part): OffsetAndMetadata(pos, "", -1)
                       for part, pos in positions.items()}
            try:
                if in_listener:
                    self.consumer.commit_async(offsets, callback=_commit_done)
                else:
                    self.consumer.commit(offsets, timeout_ms=KAFKA_COMMIT_TIMEOUT_MS)
            except Exception as exc:  # noqa: BLE001 - the store holds the truth; Kafka's copy can lag
                log.warning("kafka commit failed", extra={"error": str(exc)})

        _, result = commit(self.pipeline, self.store, self.metrics,
                           keep=lambda part: TopicPartition(*part) in self.assigned,
                           after_write=copy_to_kafka)
        topic = self.cfg.kafka_topic
        self._quarantined.extend(
            DeadLetter.of_item(topic, -1, letter_bytes(quarantine_letter(topic, q)), q.reason)
            for q in result.quarantined)
        if self._quarantined and not in_listener:  # the listener's thread may not block
            pending, self._quarantined = self._quarantined, []
            self._dead_letter(pending)

    def _dead_letter(self, dead: list[DeadLetter]) -> None:
        if not dead:
            return
        assert self.dead_letters is not None
        for d in dead:
            log.warning("dead-lettered", extra={"partition": d.partition, "offset": d.offset,
                                                 "reason": d.reason[:200]})
        self.dead_letters.send(dead)
        self.metrics.events.labels("dead_lettered").inc(len(dead))  # "invalid": at commit

    def _update_lag(self) -> None:
        if self.consumer is None:
            return
        for tp in self.assigned:
            high = self.consumer.highwater(tp)
            if high is None:
                continue
            try:
                pos = self.consumer.position(tp, timeout_ms=100)
            except Exception:  # noqa: BLE001 - lag is best effort
                continue
            if pos is not None:
                self.metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(high - pos)

    # -- rebalancing ---------------------------------------------------------------------

    def on_assigned(self, partitions: list[TopicPartition]) -> None:
        with self.watch.paused():
            self._seek_stored(partitions)

    def _seek_stored(self, partitions: list[TopicPartition]) -> None:
        stored = self.store.positions(self.cfg.kafka_topic)
        assert self.consumer is not None
        for tp in partitions:
            self.assigned.add(tp)
            if tp.partition in stored:
                self.consumer.seek(tp, stored[tp.partition])
            else:  # the store is the truth: nothing stored means nothing counted yet
                self.consumer.seek_to_beginning(tp)
        log.info("partitions assigned", extra={"partitions": sorted(p.partition for p in partitions),
                                               "from_store": {p: stored[p] for p in stored}})

    def on_revoked(self, partitions: list[TopicPartition]) -> None:
        try:
            with self.watch.paused():
                self.commit(in_listener=True)
        finally:
            self._forget(partitions)
        log.info("partitions revoked", extra={"partitions": sorted(p.partition for p in partitions)})

    def on_lost(self, partitions: list[TopicPartition]) -> None:
        """Evicted from the group (session expired): another worker may own these
        partitions already, so write no position for them; what was read since the last
        stored position is read again by their new owner."""
        self._forget(partitions)
        log.warning("partitions lost", extra={"partitions": sorted(p.partition for p in partitions)})

    def _forget(self, partitions: list[TopicPartition]) -> None:
        """Even when the last write failed: never write positions of partitions we lost."""
        for tp in partitions:
            self.assigned.discard(tp)
        self.quiet.forget([Partition(tp.topic, tp.partition) for tp in partitions])
        # Jobs of the revoked partitions continue elsewhere: their open blocks are re-read
        # by the new owner from the held-back positions, so drop them here.
        # A fresh pipeline forgets every open block, so partitions we keep are re-read
        # from their stored positions too (with the eager protocol none are kept).
        if partitions:
            self.pipeline = self._new_pipeline()
            stored = self.store.positions(self.cfg.kafka_topic)
            for tp in self.assigned:
                if tp.partition in stored and self.consumer is not None:
                    self.consumer.seek(tp, stored[tp.partition])

    def ready(self) -> tuple[bool, str]:
        if OUTAGE.since is not None:
            return False, f"store unavailable, retrying: {OUTAGE.last_error}"
        if not self.store.ping():
            return False, "store unreachable"
        problem = self.watch.problem()
        if problem is not None:
            return False, problem
        if not self.assigned:
            return False, "no partitions assigned yet"
        return True, f"ok: {len(self.kb)} KB entries, {len(self.assigned)} partition(s)"


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, worker: KafkaWorker):
        self.worker = worker

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.worker.on_revoked(list(revoked))

    def on_partitions_lost(self, lost: list[TopicPartition]) -> None:
        self.worker.on_lost(list(lost))

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.worker.on_assigned(list(assigned))


def _commit_done(offsets: Any, response: Any) -> None:
    if isinstance(response, Exception):
        log.warning("kafka commit failed", extra={"error": str(response)})

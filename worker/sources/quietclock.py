"""A quiet partition's event time moves on with the wall clock.

Blocks close on event time (core/blocks.py: the idle timeout, per partition). A partition
that goes quiet after a job's last lines (no `job_end`, nothing after them, as with most
real shippers) would keep that job's block open, and the partition's position held back,
until traffic resumed: the failure would be counted late, or never in a benchmark or a
demo. So the Kafka adapter moves a quiet partition's time on by the wall time it has
been quiet: a block opened in its last poll closes `block_idle_seconds` of real time
later and is counted then. While records keep coming nothing changes (the wall time
quiet is about 0); nothing is lost or counted twice either way, as the block's position
is held back until it is written.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field


@dataclass
class QuietClock:
    """Per partition: the latest event time seen and the wall time it was seen at."""

    clock: Callable[[], float] = time.monotonic
    _seen: dict[Hashable, tuple[float, float]] = field(default_factory=dict)

    def saw(self, part: Hashable, event_time: float) -> None:
        """Records of part came in this poll; event_time: the partition's latest."""
        self._seen[part] = (event_time, self.clock())

    def times(self) -> Iterator[tuple[Hashable, float]]:
        """Each partition's event time now: its latest plus the wall time since."""
        now = self.clock()
        for part, (event_time, wall) in self._seen.items():
            yield part, event_time + max(0.0, now - wall)

    def forget(self, parts: list[Hashable]) -> None:
        for part in parts:
            self._seen.pop(part, None)

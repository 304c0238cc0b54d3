"""The poll watch with a hand-driven clock (the real stuck poll: tests/test_kafka_faults.py)."""

from __future__ import annotations

import pytest

from worker.sources.pollwatch import STUCK_GRACE, PollWatch


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_raising_polls_fail_until_one_returns() -> None:
    clock, errors = Clock(), []
    watch = PollWatch(1.0, 60.0, errors.append, clock)
    for _ in range(3):
        with pytest.raises(OSError), watch.polling():
            raise OSError("broker said no")
        clock.now += 25
    assert errors == ["OSError"] * 3
    assert watch.problem() == "kafka poll failing for 75s: OSError" and watch.expired()
    with watch.polling():
        pass
    assert watch.problem() is None and not watch.expired()


def test_a_poll_that_never_returns_is_stuck_once() -> None:
    clock, errors = Clock(), []
    watch = PollWatch(1.0, 60.0, errors.append, clock)
    with watch.polling():
        clock.now += 1.0 + STUCK_GRACE - 0.1
        watch.check()
        assert errors == [] and watch.problem() is None
        clock.now += 0.2
        watch.check()
        watch.check()
        assert errors == ["stuck"] and watch.problem() is not None
        clock.now += 61
        assert watch.expired()


def test_our_own_callbacks_inside_poll_are_not_stuck() -> None:
    clock, errors = Clock(), []
    watch = PollWatch(1.0, 60.0, errors.append, clock)
    with watch.polling(), watch.paused():
        clock.now += 600  # a rebalance callback waiting on the store
        watch.check()
    assert errors == []

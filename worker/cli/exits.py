"""The exit codes of every `tfpulse` command: one table, printed by `tfpulse --help`."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0  # done; `classify`: no failure found
    FOUND = 1  # `classify` found failures
    USAGE = 2  # a usage or input error (the message says what to do)
    KB = 3  # the knowledge base does not load
    PROBLEMS = 4  # `kb lint`, `kb test` or `kb import` found problems
    UNAVAILABLE = 5  # `run`: Kafka or the store kept failing past its bound (restart me)
    INTERRUPTED = 130  # Ctrl-C


MEANING = {
    Exit.OK: "ok (classify: no failure found)",
    Exit.FOUND: "classify found failures",
    Exit.USAGE: "usage or input error",
    Exit.KB: "the knowledge base does not load",
    Exit.PROBLEMS: "kb lint/test/import found problems",
    Exit.UNAVAILABLE: "run: Kafka or the store kept failing past its bound",
}


# When one run has several outcomes (`classify a.log missing.log`: a failure in a.log, and
# an input it could not read), the code is the first of these that happened: an unread
# input makes every other answer incomplete, so it must not pass for "failures found"
# or "no failure". Every readable file is still explained.
PRECEDENCE = (Exit.KB, Exit.USAGE, Exit.FOUND, Exit.OK)


def combine(codes: list[Exit]) -> Exit:
    """The exit code of a run whose parts ended with `codes` (PRECEDENCE)."""
    return next((code for code in PRECEDENCE if code in codes), Exit.OK)


def describe() -> str:
    """The exit-code lines of --help."""
    return ("exit codes: " + ", ".join(f"{int(code)} {text}" for code, text in MEANING.items())
            + "; when several apply, the first of " + ", ".join(str(int(c)) for c in PRECEDENCE)
            + ".")

"""Rebuild Terraform diagnostics from a job's normalized log lines.

Terraform prints each diagnostic as a block: `Error: <summary>`, detail lines, the
`with <address>` / `on <file> line N` context, sometimes `Lock Info:`. Since 0.15 the block
is framed (`╷ │ … ╵`); older versions and most provider messages are not. Lines of many
jobs arrive interleaved on one stream, so there is one open block per job.

A block closes at its frame end (`╵`), when the next diagnostic starts (not its own detail:
see _is_detail), after two blank lines, on a line that is clearly other output (a shell command, Terraform's progress
messages), at the job's end, or after `idle_seconds` of event time without a line.

Formats recognized as a start: `Error…` (any version, `Error: Error applying plan:` of
0.11/0.12 included), a tool's own `error: ` / `fatal: ` / `panic: `, `<address>: Error: `,
`N error(s) occurred:` and its `* ` list items (these two also continue an open block rather
than end it; an item carrying an error, `* aws_x.y: Error …`, is a sure start), `Failed to …`, `Could not …`,
`Backend (re)initialization required`, a frame flattened onto one line (`… ╷ │ Error: …`, a
log that lost its newlines), wrapper lines (`error running Plan: rpc error: …`
of tf-controller); wrapper prefixes (Terragrunt's `ERRO[0012]`, `[terragrunt]`) are gone
in normalize. Anything else with a failure word (or an orphan `Lock Info:`, a wrapper's
`exit status N` / `exit code N`, `locked by …`) is a weak start: kept only when a KB
entry (a family's fallback included) recognizes the block; a plan's diff line
(`+ error_document = "error.html"`) is not one. TF_LOG lines (`[DEBUG]`, `[TRACE]`, `[INFO]`,
`[WARN]`) never start a block, and an unframed block does not keep them as its text: they
are logs, not diagnostics (a debug run logs `rpc error` at every plugin stop).

Memory is bounded: a block keeps at most `max_lines` lines and `max_bytes` bytes (lines
past the cap are dropped and the block is marked truncated; it still closes by the rules
above), and at most `max_jobs` jobs are tracked (the least recently active one is closed
first).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from worker.core.matcher import caseless_search
from worker.core.normalize import normalize_line
from worker.model import Block, JobKey

# A line that starts a Terraform diagnostic for sure. Not Atlantis' `Error running command:
# terraform …`: it follows the diagnostic Terraform printed (counted already), as
# setup-terraform's `Terraform exited with code N` does.
STRONG_START = re.compile(
    r"^(?:Error\b(?! message:)(?! running command: (?:terraform|tofu)\b)"
    r"(?! with plan: \[terragrunt\])"  # Terragrunt 0.23 quoting its own log lines as plan "errors"
    r"|[\w.\[\]\"-]+: Error: "
    r"|Failed to [a-z]"
    r"|Could not (?:retrieve|load|satisfy|find|download|install)"
    r"|Argument or block definition required"
    r"|[0-9]+ errors?(?:\(s\))? occurred"  # 0.11 words it `1 error(s) occurred:`
    r"|Backend (?:re)?initialization required"
    r"|error running (?:Plan|Apply|Init|Destroy|Refresh)"
    r"|\* [A-Za-z0-9_.\[\]\"-]+: (?:[0-9]+ errors?(?:\(s\))? occurred|Error )"  # a 0.11/0.12 list item's error
    r"|(?:error|fatal|panic): "  # a tool's own error line (git, kubectl, Go)
    r"|[\w .,:;'\"()/-]+(?:╷ )?│ Error: "  # a frame flattened onto one line, or quoted
    # HCL's one-line diagnostic (`main.tf:1,1-7: Unsupported block type; …`), as Go tools that
    # parse Terraform's files print it: Terragrunt, tflint, terrascan, terraform-docs
    r"|[\w./~-]+\.(?:tf|hcl|tfvars)(?:\.json)?:[0-9]+,[0-9]+(?:-[0-9]+)?: [A-Z]"
    r"|!+ (?:TERRAFORM|OPENTOFU) CRASH !+$"  # the crash banner over `Terraform crashed!`
    r")"
)
# Lines that go on with an open block even though they could start one: the 0.11/0.12
# error list (`1 error(s) occurred:` then `* address: …` items) and Terraform's own
# `Error message:` detail line.
CONTINUES = re.compile(r"^(?:Error message:|[0-9]+ errors?(?:\(s\))? occurred|\* )")
# TF_LOG output (after its timestamp): a log line, never a diagnostic, even when it
# quotes an error (`[DEBUG] ... error=<nil>`, retried calls).
LOG_LINE = re.compile(r"^(?:[0-9/T:.+-]+Z? ){0,2}\[(?:TRACE|DEBUG|INFO|WARN)\]")
# A line that may start a failure; the block is kept only if the KB recognizes it.
WEAK_START = re.compile(
    r"error|exception|denied|unauthori[sz]ed|forbidden|failed|failure|could not|cannot"
    r"|unable to|not found|no valid|expired|invalid|not authorized|does not have"
    r"|provider found|limit ?exceeded|throttl|already exists|already locked|timeout"
    r"|timed out|conflict|cannot be assumed|initialization required|violation"
    r"|locked by|^lock info:|exit status [1-9]|exit code:? [1-9]|unexpected exit code"
    r"|exited with code '?[1-9]"
    r"|insufficient (?:permissions|privileges)|must authenticate"  # an API's refusal, bare
    r"|workspace [A-Za-z0-9_.()\"-]+ (?:doesn't|does not) exist"
    r"|terraform acquires a (?:state )?lock|unreachable|block definition must"
    r"|workspace \"[A-Za-z0-9_.()-]+\" is not empty"
    r"|command expects (?:at most|at least|exactly|no) |flag provided but not defined"
    r"|is not a valid (?:global )?flag|must provide a valid value"  # a command line it rejects
    r"|plan is stale"  # `Saved plan is stale`, its `Error: ` lost by a wrapper
    # JSON.parse refusing a wrapper-corrupted output (Node: `Unexpected token c in JSON at
    # position 1`, `… is not valid JSON`): a step reading `terraform … -json` failed
    r"|in JSON at position|is not valid JSON"
    # Terragrunt's own errors, whose `ERRO[0002]` / `[terragrunt]` prefix normalize removed
    r"|detected no outputs|missing required (?:gcs|s3) remote state"
    r"|^traceback \(most recent call last\):"  # a Python script step's uncaught exception
    r"|no matches for kind"  # the Kubernetes API without the kind's CRD (Crossplane's Workspace)
    r"|^\* [A-Za-z0-9_.\[\]\"-]+: ",  # a 0.11/0.12 list item: `* aws_s3_bucket.b: …`
    re.IGNORECASE | re.ASCII,  # as RE2's (?i) in TRIGGER: no 'ı'/'İ' folding to 'i'
)
# A plan's diff line (after normalize took its indentation): an attribute (`+ error_document
# = "error.html"`, `~ error_count = 1 -> 2`), a nested block or resource header, or the
# `# <address> will be ...` comment over it. Its failure word is a name, so it is never a
# weak start.
PLAN_DIFF = re.compile(
    r"^(?:(?:[-+~]|-/\+|\+/-|<=) +(?:\"[^\"]*\"|[\w.-]+) += "
    r"|(?:[-+~]|-/\+|\+/-|<=) +(?:resource|data) \"[^\"]*\" \"[^\"]*\" \{$"
    r"|(?:[-+~]|-/\+|\+/-|<=) +[\w-]+ \{$"
    r"|# [\w.\[\]\"-]+ (?:will|must) be )"
)
# Every line that STRONG_START or WEAK_START can accept contains a match of TRIGGER (RE2
# syntax, byte-safe: multi-byte frame characters as alternatives, not a class). The pipeline
# scans whole messages for it with the linear-time engine and skips the rest unread.
TRIGGER = (
    r"(?i:error|exception|denied|unauthori[sz]ed|forbidden|fail|could not|cannot|unable to"
    r"|not found|no valid|expired|invalid|not authorized|does not have|provider found"
    r"|limit ?exceeded|throttl|already exists|already locked|timeout|timed out|conflict"
    r"|argument or block|initialization required|violation|locked by|lock info:"
    r"|exit status [1-9]|exit code:? [1-9]|unexpected exit code|exited with code '?[1-9]"
    r"|insufficient (?:permissions|privileges)|must authenticate"
    r"|workspace [A-Za-z0-9_.()\"-]+ (?:doesn't|does not) exist"
    r"|terraform acquires a (?:state )?lock|unreachable|block definition must|fatal: |panic: "
    r"|workspace \"[A-Za-z0-9_.()-]+\" is not empty"
    r"|command expects (?:at most|at least|exactly|no) |flag provided but not defined"
    r"|is not a valid (?:global )?flag|must provide a valid value|plan is stale"
    r"|in JSON at position|is not valid JSON|TERRAFORM CRASH|OPENTOFU CRASH"
    r"|detected no outputs|missing required (?:gcs|s3) remote state"
    r"|traceback \(most recent call last\):|no matches for kind)"
    r"|\.(?:tf|hcl|tfvars)(?:\.json)?:[0-9]+,[0-9]+(?:-[0-9]+)?: [A-Z]"
    r"|\* [A-Za-z0-9_.\[\]\"-]+: |╷|│|╵"
)

# A step's closing line when it exited non-zero (TAIL below; the `ci-step` family's fallback,
# kb/ci/ci-step-generic.yaml, recognizes the same lines).
STEP_FAILED = (
    r"^(?:Error: )?Process completed with exit code (?:[13-9]|[1-9][0-9]+)\b"
    r"|^The process '[^']*' failed with exit code (?:[13-9]|[1-9][0-9]+)\b"
    r"|^[A-Za-z][\w .-]* exited with code '?(?:[13-9]|[1-9][0-9]+)\b"
    # GitLab's runner: the script's exit, or the job's own failure (`Job failed (system
    # failure): prepare environment: exit code 255`, `execution took longer than …`)
    r"|^(?:ERROR: )?Job failed(?: \([a-z ]+\))?: "
    r"|^exit code [1-9][0-9]*$"  # Drone's and Woodpecker's last line of a failed step
    r"|^(?:ERROR: )?script returned exit code [1-9]"
    r"|^Finished: FAILURE$"
    r"|^make(?:\[[0-9]+\])?: \*\*\* .*Error [0-9]+"
    r"|^.* returned non-zero exit status [1-9]"
    r"|^.*\bfailed with exit code '?[1-9]"
    r"|^.*: exit status [1-9][0-9]*$"
    r"|^task result: Failed$"  # the Azure DevOps task library's debug line
)

# A failure's closing words: a wrapper's last line (setup-terraform, the Azure DevOps task, HCP)
# follows every failure Terraform printed, and the lock error's advice paragraph (`Terraform
# acquires a state lock to protect …`, after two blank lines) follows its diagnostic. Such a
# line's block is marked tail (Block.tail) and counted only in a job where nothing was counted
# before it (then it is the only sign of the failure; counting it after one would count that
# one twice); after a HEAD it starts nothing.
TAIL = re.compile(
    r"^(?:Error: )?(?:Terraform exited with code [1-9]|Terraform command '[a-z-]+' failed with exit code)"
    r"|^Terraform acquires a (?:state )?lock to protect"
    r"|^Operation failed: failed (?:running|generating) "  # HCP's remote run, after its output
    # A wrapper's own ERROR-level log line (Terragrunt >= 0.67 `12:01:02.345 ERROR  …`, Go slog
    # `2023/12/18 19:35:11 ERROR …`, stamps gone in normalize): after Terraform's diagnostic
    # it repeats it (`terraform invocation failed`); alone it is the wrapper's own failure.
    r"|^ERROR {1,2}[^\s:]"
    # A CI system's or a tool's closing line for a step that exited non-zero: GitHub Actions'
    # runner and toolkit, the Azure DevOps task, GitLab's runner, Jenkins, make, Python's
    # subprocess, a Go tool's exec error. After a diagnostic it repeats that failure; alone it
    # is the only sign the job failed (`ci-step` family). Exit code 2 of a GitHub or Azure
    # step is left out: it is `terraform plan -detailed-exitcode` saying "changes present".
    f"|{STEP_FAILED}"
)

# A failure's opening words: a line that announces the diagnostics printed after it
# (Terraform's `Planning failed. Terraform encountered an error while generating this plan.`,
# an Atlantis PR comment's `**Plan Error**` / `**Apply Failed**: <reason>` header over the
# output it quotes). Its block is held back and counted only when no sure diagnostic follows
# in the job (then it is the only sign of the failure, as a plan that failed on warnings
# alone or Atlantis refusing an apply), so the failure is counted once.
HEAD = re.compile(
    r"^Planning failed\. (?:Terraform|OpenTofu) encountered an error"
    r"|^(?:\*\*)?(?:Plan|Apply|Policy Check|Approve Policies|Import|State(?: Rm)?|Version|Unlock)"
    r" (?:Error|Failed)(?:\*\*)?(?::|$)"
)
# `terraform workspace select X || terraform workspace new X`: the select's failure is
# answered at once by the new workspace, so the job goes on; the block is no failure.
RECOVERS = re.compile(r"^Created and switched to workspace ")
RECOVERED = re.compile(r"^Workspace \"[^\"]*\" doesn't exist")

# Lines that are clearly not part of a diagnostic: they close an unframed block.
OTHER_OUTPUT = re.compile(
    r"^(?:[$+>] \S"
    r"|Initializing (?:the backend|provider plugins|modules)"
    r"|Terraform (?:has been|will perform|used the selected|v\d)"
    r"|OpenTofu (?:has been|will perform|v\d)"
    r"|Plan: \d+ to add"
    r"|Apply complete!"
    r"|No changes\."
    r"|(?:Acquiring|Releasing) state lock"
    r"|Refreshing state\.\.\."
    r"|Success! The configuration is valid"
    r"|Created and switched to workspace "  # RECOVERS
    r"|[\w.\[\]\"-]+: (?:Creating|Modifying|Destroying|Reading|Refreshing|Still \w+ing|Creation complete|Modifications complete|Destruction complete)"
    r")"
)


@dataclass(slots=True)
class _Open:
    lines: list[str]
    line: int
    timestamp: float
    position: tuple[Hashable, int] | None
    framed: bool = False
    nbytes: int = 0
    blanks: int = 0
    truncated: bool = False
    tail: bool = False


@dataclass(slots=True)
class _Job:
    lines_seen: int = 0
    last_time: float = 0.0
    open: _Open | None = None
    # The partition's event time (its watermark) when the job's last line came: idleness
    # is how far the partition moved on since, not how old the job's own times are.
    mark: float = 0.0
    # A HEAD block of this job is held back: a TAIL line after it starts nothing (the HEAD
    # is counted at the job's end if no diagnostic follows).
    announced: bool = False
    # HEAD blocks held back (with their source position) until the job ends.
    pending: list[tuple[Block, tuple[Hashable, int] | None]] = field(default_factory=list)


@dataclass
class BlockAssembler:
    """Turns per-job normalized lines into closed Blocks. Pure: no I/O, no clock."""

    max_lines: int = 200
    max_bytes: int = 32_768
    idle_seconds: float = 600.0
    max_jobs: int = 20_000
    _jobs: OrderedDict[JobKey, _Job] = field(default_factory=OrderedDict)
    # The jobs with a block open: usually a handful among thousands tracked, so the
    # pipeline's batch path can skip every other job's lines without a lookup each.
    open_jobs: set[JobKey] = field(default_factory=set)
    # Latest event time per source partition (the pipeline's own dict, read on each feed):
    # a job's line marks its partition's time then, for flush_idle.
    marks: Mapping[Hashable, float] = field(default_factory=dict)
    # The jobs holding HEAD blocks back (their positions are held like open blocks').
    pending_jobs: set[JobKey] = field(default_factory=set)

    def feed(
        self,
        job: JobKey,
        raw: str,
        timestamp: float,
        line_number: int | None = None,
        position: tuple[Hashable, int] | None = None,
    ) -> list[Block]:
        """Add one raw line of one job; return the blocks it closed."""
        state = self._touch(job)
        state.lines_seen = line_number if line_number is not None else state.lines_seen + 1
        state.last_time = timestamp
        mark = self.marks.get(position[0], timestamp) if position is not None else timestamp
        state.mark = mark if mark > timestamp else timestamp
        text, frame = normalize_line(raw)
        closed: list[Block] = []
        self._advance(job, state, text, frame, timestamp, position, closed)
        if len(self._jobs) > self.max_jobs:
            old_job, old = self._jobs.popitem(last=False)
            self._retire(old_job, old, closed)
        return closed

    def skip(self, job: JobKey, lines: int, timestamp: float) -> None:
        """Account for lines known to be uninteresting while no block is open."""
        state = self._jobs.get(job)
        if state is not None:
            state.lines_seen += lines
            state.last_time = timestamp
            if timestamp > state.mark:
                state.mark = timestamp

    def note(self, job: JobKey, lines: int, timestamp: float, line_number: int | None = None,
             position: tuple[Hashable, int] | None = None) -> list[Block]:
        """What feed does for lines known to leave the job's state as it is but for their
        count and time (line_number: the last one's): lines that start nothing while no
        block is open, or that an open unframed block takes in whole (see absorb)."""
        state = self._touch(job)
        state.lines_seen = line_number if line_number is not None else state.lines_seen + lines
        state.last_time = timestamp
        mark = self.marks.get(position[0], timestamp) if position is not None else timestamp
        state.mark = mark if mark > timestamp else timestamp
        closed: list[Block] = []
        if len(self._jobs) > self.max_jobs:
            old_job, old = self._jobs.popitem(last=False)
            self._retire(old_job, old, closed)
        return closed

    def wants_text(self, job: JobKey) -> bool | None:
        """None: no block open, or a framed one; else whether the open block still takes
        text (False once truncated)."""
        state = self._jobs.get(job)
        block = state.open if state is not None else None
        if block is None or block.framed:
            return None
        return not block.truncated

    def absorb(self, job: JobKey, texts: Iterable[str]) -> None:
        """Append normalized texts that neither end the job's open unframed block nor are
        blank, as feed would (after note() for their lines); texts is read only while
        the block takes text."""
        block = self._jobs[job].open
        assert block is not None and not block.framed
        block.blanks = 0
        log_line = LOG_LINE.match
        for text in texts:
            if block.truncated:
                return
            if log_line(text) is None:  # a TF_LOG line's text: _append would drop it
                self._append(block, text, None)

    def has_open(self, job: JobKey) -> bool:
        state = self._jobs.get(job)
        return state is not None and state.open is not None

    def end_job(self, job: JobKey) -> list[Block]:
        """The job finished: close its block and forget it."""
        closed: list[Block] = []
        state = self._jobs.pop(job, None)
        if state is not None:
            self._retire(job, state, closed)
        return closed

    def flush_idle(self, now: float | Mapping[Hashable, float]) -> list[Block]:
        """Close blocks of jobs silent for idle_seconds of event time.

        now: the current event time, or one per partition (the partition of a job is
        the one its open block came from; jobs without a partition use key None).
        Silence is measured from the job's mark: the partition's event time when its last
        line came (or the line's own time, if later). So a job backfilled into a live
        partition, whose times are days behind its neighbours', is not cut while its
        lines keep coming; it is closed once the partition moves idle_seconds past it.
        """
        closed: list[Block] = []
        marks = now if isinstance(now, Mapping) else None
        idle = []
        for job, state in self._jobs.items():
            if marks is None:
                current = float(now)  # type: ignore[arg-type]
            else:
                part = state.open.position[0] if state.open and state.open.position else None
                current = marks.get(part, state.mark)
            if current - state.mark >= self.idle_seconds:
                idle.append(job)
        for job in idle:
            self._retire(job, self._jobs.pop(job), closed)
        return closed

    def flush_all(self) -> list[Block]:
        """Close everything (end of a file replay, or shutdown)."""
        closed: list[Block] = []
        while self._jobs:
            job, state = self._jobs.popitem(last=False)
            self._retire(job, state, closed)
        return closed

    def open_positions(self) -> dict[Hashable, int]:
        """Per partition, the earliest source position of a line still in an open block."""
        earliest: dict[Hashable, int] = {}
        for part, offset in self._held_positions():
            if part not in earliest or offset < earliest[part]:
                earliest[part] = offset
        return earliest

    def _held_positions(self) -> Iterator[tuple[Hashable, int]]:
        """The source positions of open blocks' first lines and of held-back HEAD blocks."""
        for job in self.open_jobs:
            block = self._jobs[job].open
            if block is not None and block.position is not None:
                yield block.position
        for job in self.pending_jobs:
            yield from (position for _, position in self._jobs[job].pending if position is not None)

    @property
    def jobs_tracked(self) -> int:
        return len(self._jobs)

    # -- internals -----------------------------------------------------------------

    def _touch(self, job: JobKey) -> _Job:
        state = self._jobs.get(job)
        if state is None:
            state = self._jobs[job] = _Job()
        else:
            self._jobs.move_to_end(job)
        return state

    def _advance(self, job: JobKey, state: _Job, text: str, frame: str | None,
                 timestamp: float, position: tuple[Hashable, int] | None,
                 closed: list[Block]) -> None:
        block = state.open
        if block is not None:
            if text and RECOVERS.match(text) and block.lines and RECOVERED.match(block.lines[0]):
                state.open = None  # recovered at once: no failure (see RECOVERS)
                self.open_jobs.discard(job)
                return
            if frame == "╵":
                self._close(job, state, closed)
                return
            if frame == "╷" or self._ends_before(block, text, frame):
                self._close(job, state, closed)
                block = None
            else:
                self._append(block, text, frame)
                if block.blanks >= 2 and not block.framed:
                    self._close(job, state, closed)
                return
        if frame == "╷" or frame == "│" or (text and _starts(text)):
            # A TAIL line's block is marked: the aggregator counts it only if nothing of the
            # job was counted before it (whether an earlier block counted is the classifier's
            # say). Matched only here, on lines that start a block: not on every line fed.
            tail = bool(text) and TAIL.match(text) is not None
            if tail and state.announced:
                return
            state.open = _Open([], state.lines_seen, timestamp, position, framed=frame is not None,
                               tail=tail)
            self.open_jobs.add(job)
            self._append(state.open, text, frame)

    @staticmethod
    def _ends_before(block: _Open, text: str, frame: str | None) -> bool:
        """Does this line start something new, so the open block ends before it?"""
        if frame is not None:
            return False
        if not text:
            return False
        if block.framed:
            return True  # an unframed line after a frame: the diagnostic is over
        if CONTINUES.match(text):
            return False
        if OTHER_OUTPUT.match(text) is not None:
            return True
        return STRONG_START.match(text) is not None and not _is_detail(block, text)

    def _append(self, block: _Open, text: str, frame: str | None) -> None:
        if frame is not None:
            block.framed = True
        if not text:
            if block.lines:
                block.blanks += 1
                if frame is None:
                    return
                block.blanks = 0  # a framed empty line is part of the layout
            else:
                return
        else:
            block.blanks = 0
        if block.truncated or (frame is None and LOG_LINE.match(text) is not None):
            return
        if len(block.lines) >= self.max_lines or block.nbytes + len(text) > self.max_bytes:
            block.truncated = True
            return
        block.lines.append(text)
        block.nbytes += len(text) + 1

    def _close(self, job: JobKey, state: _Job, closed: list[Block]) -> None:
        block = state.open
        state.open = None
        if block is None:
            return
        self.open_jobs.discard(job)
        lines = block.lines
        while lines and not lines[-1]:
            lines.pop()
        if not lines:
            return
        certain = STRONG_START.match(lines[0]) is not None
        head = not certain and HEAD.match(lines[0]) is not None
        if head:
            state.announced = True
        done = Block(job, tuple(lines), block.line, block.timestamp, block.framed,
                     block.truncated, certain or head, block.tail)
        if head:
            state.pending.append((done, block.position))
            self.pending_jobs.add(job)
            return
        if certain and state.pending:  # the diagnostics a HEAD announced: it is not counted
            state.pending.clear()
            self.pending_jobs.discard(job)
        closed.append(done)

    def _retire(self, job: JobKey, state: _Job, closed: list[Block]) -> None:
        """The job is forgotten: close its block, and count the HEAD blocks still held."""
        self._close(job, state, closed)
        if state.pending:
            closed.extend(done for done, _ in state.pending)
            state.pending.clear()
            self.pending_jobs.discard(job)


def _is_detail(block: _Open, text: str) -> bool:
    """A line that starts like a diagnostic but is the open one's detail: right after a line
    that announces it with ':' (`Error inspecting states in the "s3" backend:` then
    `Error building Authorizer: ...`), or the first paragraph after a lone `Error: summary`
    headline (`Could not retrieve the list ...`, `Error while importing ...`), unless it is
    a diagnostic of its own (`Error: ...`)."""
    if block.blanks == 0:
        return bool(block.lines) and block.lines[-1].endswith(":")
    return (block.blanks == 1 and len(block.lines) == 1 and block.lines[0].startswith("Error: ")
            and not text.startswith("Error:"))


def _starts(text: str) -> bool:
    if STRONG_START.match(text) is not None:
        return True
    return (LOG_LINE.match(text) is None and PLAN_DIFF.match(text) is None
            and _weak_start(text))


_weak_start = caseless_search(WEAK_START)  # WEAK_START.search, by Hyperscan

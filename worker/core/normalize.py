"""Normalize one CI log line: what is left is the text Terraform printed.

CI systems wrap every line in their own decoration: GitHub Actions prefixes an ISO
timestamp, GitLab writes `section_start:…` markers and `ESC[0K` erase codes, Jenkins'
timestamper and `[Pipeline]` steps, Atlantis indents, Terragrunt prefixes its level and
the module path, IBM Schematics its stamp and command, Terraform a provisioner's output with
the resource's address. Terraform itself draws its
diagnostics inside a frame (`╷ │ ╵`) and colours them. The classifier must see none of
that, or every pattern would have to know every CI system.
"""

from __future__ import annotations

import re

# ANSI / VT100: CSI sequences (colours, erase), OSC (titles, hyperlinks), 2-char escapes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# The same codes whose ESC was lost on the way (pasted or re-encoded logs: U+FFFD or nothing
# left of it): only colour/attribute codes, which real text does not contain.
# Also written out as text (`\e[31m`, `\u001b[0m`) by logs dumped into YAML or JSON.
# Windows consoles show the ESC as '←'.
_MANGLED_SGR = re.compile(r"(?:\ufffd|←|\\(?:e|033|x1[bB]|u001[bB]))?\[[0-9]{1,3}(?:;[0-9]{1,3})*m")
# Frame characters re-encoded on the way (read as cp1252, or replaced by '?').
_MANGLED_FRAME = re.compile(r"^(?:â”‚|â•·|â•µ|\?\?\?|¦)(?= |$)")
# Control characters other than tab (binary junk, NUL, bells, stray CR).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

_CI_PREFIXES = re.compile(
    r"""^(?:
        \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?\s      # GitHub Actions / ISO stamp
      | \[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?\]\s                      # Jenkins timestamper (ISO)
      | \[?\d\d:\d\d:\d\d(?:\.\d+)?\]?\s                                      # Jenkins timestamper (time)
      | section_(?:start|end):\d+:[\w.-]+(?:\[[^\]]*\])?                       # GitLab section marker
      | \[Pipeline\]\s?                                                        # Jenkins pipeline step
      | \#\#\[(?:group|endgroup|error|warning|debug|notice|command)\]          # GitHub workflow commands
      | ::(?:error|warning|notice|debug|group|endgroup)(?:\s[^:]*)?::          # GitHub workflow commands
      | (?:ERRO|WARN|INFO|DEBU|TRAC)\[\d{4,}\]\s                                # Terragrunt < 0.67 (logrus)
      | \[terragrunt\](?:\s\[[^\]]*\])?(?:\s\d{4}/\d\d/\d\d\s\d\d:\d\d:\d\d)?\s # Terragrunt, older
      | (?:STDOUT|STDERR|ERROR|WARN|INFO|DEBUG)\s+(?:\[[^\]]*\]\s+)?(?:terraform|tofu):\s?  # Terragrunt >= 0.67
      | \d{4}/\d\d/\d\d\s\d\d:\d\d:\d\d\s(?:(?:Terraform|Tofu)\s[a-z]+\s\|\s?)?         # Go log stamp; IBM Schematics' `Terraform apply | `
      | [\w.\[\]"-]+\s\((?:local|remote)-exec\):\s                                # provisioner output (a nested run)
    )""",
    re.VERBOSE,
)
_FRAME = re.compile(r"^[╷│╵]\s?")


# What every _MANGLED_SGR match holds: a literal start, which re finds fast (the optional
# ESC stand-in in front of it makes _MANGLED_SGR slow to search for).
_SGR_CORE = re.compile(r"\[[0-9]{1,3}(?:;[0-9]{1,3})*m")
# The first characters of every _CI_PREFIXES alternative but the provisioner's (any word
# character: told by its "-exec):" instead); Unicode digits by str.isdigit.
_PREFIX_STARTS = frozenset("[s#:EWIDTS")


def strip_ansi(line: str) -> str:
    """Remove escape sequences and control characters, keeping tabs."""
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    if "[" in line and _SGR_CORE.search(line):
        line = _MANGLED_SGR.sub("", line)
    return _CONTROL.sub("", line)


def strip_ci_prefix(line: str) -> str:
    """Remove CI decorations at the start of a line (repeatedly: they stack)."""
    for _ in range(4):
        first = line[:1]
        if not (first in _PREFIX_STARTS or first.isdigit()) and "-exec):" not in line:
            break
        match = _CI_PREFIXES.match(line)
        if match is None or not match.end():
            break
        line = line[match.end():]
    return line


def normalize_line(raw: str) -> tuple[str, str | None]:
    """Return (text, frame) for one raw line.

    text is stripped of decorations and surrounding whitespace; frame is the frame
    character Terraform drew at the start of the line (`╷`, `│`, `╵`), or None.
    """
    # A carriage return inside a line is a progress redraw: keep what was drawn last.
    if "\r" in raw:
        raw = raw.rstrip("\r")
        if "\r" in raw:
            raw = raw.rsplit("\r", 1)[1] or raw.replace("\r", "")
    line = strip_ci_prefix(strip_ansi(raw)).lstrip()
    line = strip_ci_prefix(line).lstrip()  # GitLab: marker, then ESC[0K, then a stamp
    frame = None
    if line[:1] in ("â", "?", "¦"):
        line = _MANGLED_FRAME.sub("│", line, count=1)
    if line[:1] in ("╷", "│", "╵"):
        frame = line[0]
        line = _FRAME.sub("", line, count=1)
    return line.strip(), frame

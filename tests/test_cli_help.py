"""Every sub-command's --help ends with examples, and the examples name real commands."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from worker.cli.main import build_parser

ROOT = Path(__file__).parent.parent


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path] if path else []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += commands(sub, (*path, name))
    return found


ALL = commands(build_parser())


def test_every_command_is_listed() -> None:
    assert {c[0] for c in ALL} == {"classify", "replay", "stats", "run", "produce", "report", "kb"}
    assert ("kb", "lint") in ALL and ("kb", "import") in ALL


@pytest.mark.parametrize("command", ALL, ids=" ".join)
def test_help_has_examples_of_this_command(command: tuple[str, ...], capsys) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([*command, "--help"])
    assert done.value.code == 0
    examples = capsys.readouterr().out.split("examples:\n", 1)
    assert len(examples) == 2, examples[0]
    assert f"tfpulse {' '.join(command)}" in examples[1]


def test_python_dash_m_runs_the_cli() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "worker.cli", "--version"],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0 and done.stdout.startswith("tfpulse "), done.stderr

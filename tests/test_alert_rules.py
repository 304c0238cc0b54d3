"""The Prometheus alert rules are valid and pass their promtool unit tests.

Runs the real promtool (Debian package `prometheus`, installed by `make deps`). A missing
promtool is a failure, not a skip: these tests are the only check of the alert rules.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.prometheus

PROM_DIR = Path(__file__).resolve().parent.parent / "dashboards" / "prometheus"
RULES = PROM_DIR / "alerts.yml"
RULE_TESTS = PROM_DIR / "alerts_test.yml"
CONFIG = PROM_DIR / "prometheus.yml"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail("promtool not found on PATH: run `make deps` (installs the Debian "
                    "package `prometheus`, which provides promtool)")
    return subprocess.run([exe, *args], cwd=PROM_DIR, capture_output=True, text=True,
                          timeout=300, check=False)


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, (
        f"{' '.join(result.args)} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")


def alert_names() -> set[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}


def test_check_rules() -> None:
    assert_ok(promtool("check", "rules", RULES.name))


def test_check_prometheus_config() -> None:
    # Also re-checks the rule file it names, resolved relative to the config.
    assert_ok(promtool("check", "config", CONFIG.name))


def test_rule_unit_tests() -> None:
    assert_ok(promtool("test", "rules", RULE_TESTS.name))


def test_every_alert_has_metadata() -> None:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    for group in groups:
        for rule in group["rules"]:
            if "alert" not in rule:
                continue
            name = rule["alert"]
            assert rule.get("labels", {}).get("severity") in ("critical", "warning", "info"), name
            for key in ("summary", "description", "runbook_url"):
                assert rule.get("annotations", {}).get(key), f"{name}: no {key} annotation"
            assert "for" in rule, f"{name}: no `for:`"


def test_every_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    """promtool only checks the cases that exist; make sure none is missing."""
    fires: set[str] = set()
    quiet: set[str] = set()
    for group in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for case in group.get("alert_rule_test", []):
            (fires if case.get("exp_alerts") else quiet).add(case["alertname"])
    expected = alert_names()
    assert expected == {"RecurringStateLockError", "RecurringPermissionError",
                        "NewFailureSignature", "UnclassifiedShareHigh", "ConsumerLagHigh",
                        "TfpulseWorkerDown", "TfpulseWorkerFailing", "DeadEndAttempted"}
    assert expected - fires == set(), "alerts without a test that fires them"
    assert expected - quiet == set(), "alerts without a test where they stay quiet"

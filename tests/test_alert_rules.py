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

from worker.report.incidents import STORM_RULE

pytestmark = pytest.mark.prometheus

PROM_DIR = Path(__file__).resolve().parent.parent / "dashboards" / "prometheus"
RULES = PROM_DIR / "alerts.yml"
RULE_TESTS = PROM_DIR / "alerts_test.yml"
STORM_TESTS = PROM_DIR / "storms_test.yml"  # groups tfpulse-storms and tfpulse-lifecycle
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
    assert_ok(promtool("test", "rules", RULE_TESTS.name, STORM_TESTS.name))


def test_every_alert_has_metadata() -> None:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    for group in groups:
        for rule in group["rules"]:
            if "alert" not in rule:
                continue
            name = rule["alert"]
            # "none": an inhibition source only, routed to no receiver (test_alertmanager.py).
            assert rule.get("labels", {}).get("severity") in ("critical", "warning", "info",
                                                              "none"), name
            for key in ("summary", "description", "runbook_url"):
                assert rule.get("annotations", {}).get(key), f"{name}: no {key} annotation"
            assert "for" in rule, f"{name}: no `for:`"


def test_every_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    """promtool only checks the cases that exist; make sure none is missing."""
    fires: set[str] = set()
    quiet: set[str] = set()
    for path in (RULE_TESTS, STORM_TESTS):
        for group in yaml.safe_load(path.read_text())["tests"]:
            for case in group.get("alert_rule_test", []):
                (fires if case.get("exp_alerts") else quiet).add(case["alertname"])
    expected = alert_names()
    assert expected == {"RecurringStateLockError", "RecurringPermissionError",
                        "NewFailureSignature", "UnclassifiedShareHigh", "ConsumerLagHigh",
                        "TfpulseWorkerDown", "TfpulseWorkerFailing", "DeadEndAttempted",
                        "FailureStorm", "FailureStormMember", "EntryRegressed"}
    assert expected - fires == set(), "alerts without a test that fires them"
    assert expected - quiet == set(), "alerts without a test where they stay quiet"


def rules_of(group_name: str) -> dict[str, dict[str, object]]:
    [group] = [g for g in yaml.safe_load(RULES.read_text())["groups"] if g["name"] == group_name]
    return {rule.get("record") or rule["alert"]: rule for rule in group["rules"]}


def test_the_storm_alert_uses_the_reports_storm_rule() -> None:
    """The storm rule is defined once (worker/report/incidents.py STORM_RULE); the alert
    rules restate its window and repo count, and must say the same."""
    minutes = int(STORM_RULE.window.total_seconds() // 60)
    rules = rules_of("tfpulse-storms")
    per_repo = rules[f"kb_id_repo:tfpulse_failures:increase{minutes}m"]["expr"]
    assert str(per_repo).count(f"[{minutes}m]") == 1 and str(per_repo).count(f"offset {minutes}m") == 2
    repos = f"kb_id:tfpulse_failure_repos:count{minutes}m"
    assert f">= {STORM_RULE.min_repos})" in str(rules["FailureStorm"]["expr"])
    assert f"{repos} >= {STORM_RULE.min_repos})" in str(rules[f"kb_id_repo:tfpulse_storm_member:{minutes}m"]["expr"])
    # Overlapping windows are one incident: the alert keeps firing for one window.
    assert rules["FailureStorm"]["keep_firing_for"] == f"{minutes}m"
    assert rules["FailureStorm"]["for"] == "0m"
    text = f"{STORM_RULE.min_repos} or more repos within {minutes} minutes"
    assert text in str(rules["FailureStormMember"]["annotations"]["description"])

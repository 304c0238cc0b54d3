"""The Alertmanager configuration: a storm is one notification, and it mutes the per-repo
alerts of its entry (dashboards/alertmanager/alertmanager.yml).

`amtool` checks the file and its routes; then a real Alertmanager (Debian package
`prometheus-alertmanager`, installed by `make deps`) gets the alerts Prometheus fires during
a storm and during independent recurrences (as in dashboards/prometheus/storms_test.yml),
and its API says which it inhibits, by which alert, and how it groups them; a webhook
receiver gets the notifications. A missing binary is a failure, not a skip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.alertmanager_server import AlertmanagerServer, find_binary

pytestmark = pytest.mark.prometheus

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "dashboards" / "alertmanager" / "alertmanager.yml"
RULES = ROOT / "dashboards" / "prometheus" / "alerts.yml"
TOKEN, LOCK, OTHER = "aws/expired-token", "terraform/state-lock-dynamodb-held", "policy/aws-access-denied-not-authorized"
STORM_REPOS = "acme/data-platform-infra, acme/edge-cdn, acme/identity-infra, acme/infra-live, acme/payments-infra"


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("amtool")
    if exe is None:
        pytest.fail("amtool not found on PATH: run `make deps` (installs the Debian package "
                    "`prometheus-alertmanager`, which provides amtool)")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=60, check=False)


def receiver_of(*labels: str) -> str:
    result = amtool("config", "routes", "test", f"--config.file={CONFIG}", *labels)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_check_config() -> None:
    result = amtool("check-config", str(CONFIG))
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr


def test_routes() -> None:
    tree = amtool("config", "routes", "test", f"--config.file={CONFIG}", "--tree",
                  "alertname=FailureStorm", f"kb_id={TOKEN}", "severity=critical")
    assert '{alertname="FailureStorm"}  receiver: default' in tree.stdout, tree.stdout
    assert receiver_of("alertname=RecurringPermissionError", f"kb_id={TOKEN}", "repo=acme/a",
                       "severity=warning") == "default"
    # Every severity "none" alert of the rules is an inhibition source only: never notified.
    silent = [rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"]
              for rule in group["rules"] if rule.get("labels", {}).get("severity") == "none"]
    assert silent == ["FailureStormMember"]
    for name in silent:
        assert receiver_of(f"alertname={name}", "severity=none") == "null", name
    receivers = {r["name"]: r for r in yaml.safe_load(CONFIG.read_text())["receivers"]}
    assert set(receivers["null"]) == {"name"}  # no integration at all


# ---------------------------------------------------------------------- a real Alertmanager
class Webhook:
    """An HTTP server on a free port that keeps every notification Alertmanager posts."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def alert(name: str, severity: str, **labels: str) -> dict[str, dict[str, str]]:
    annotations = {"summary": f"{name} {labels}"}
    if name == "FailureStorm":
        annotations["repos"] = STORM_REPOS
    return {"labels": {"alertname": name, "severity": severity, **labels},
            "annotations": annotations}


def wait_for(what: str, cond: Callable[[], bool], diag: Callable[[], str],
             timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{diag()}")


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.server.shutdown()


@pytest.fixture(scope="module")
def am(webhook: Webhook, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertmanagerServer]:
    if find_binary() is None:
        pytest.fail("alertmanager not found: run `make deps` (installs the Debian package "
                    "`prometheus-alertmanager`)")
    # The repository's routes and inhibit rules, with a webhook behind `default` and a short
    # group_wait, so that the notifications come within the test.
    config = yaml.safe_load(CONFIG.read_text())
    config["route"]["group_wait"] = "1s"
    for receiver in config["receivers"]:
        if receiver["name"] == "default":
            receiver["webhook_configs"] = [{"url": webhook.url, "send_resolved": False}]
    server = AlertmanagerServer(config, tmp_path_factory.mktemp("alertmanager"))
    with server:
        yield server


def state(am: AlertmanagerServer) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(alertname, kb_id, repo) -> status, with `inhibitedBy` as the sources' names."""
    alerts = am.alerts()
    names = {a["fingerprint"]: a["labels"]["alertname"] for a in alerts}
    out = {}
    for a in alerts:
        labels = a["labels"]
        by = sorted(names.get(fp, fp) for fp in a["status"]["inhibitedBy"])
        out[(labels["alertname"], labels.get("kb_id", ""), labels.get("repo", ""))] = {
            "state": a["status"]["state"], "inhibitedBy": by}
    return out


def test_a_storm_is_one_notification_and_mutes_its_entrys_per_repo_alerts(
        am: AlertmanagerServer, webhook: Webhook) -> None:
    # What Prometheus fires: the storm of TOKEN, and the repos of an earlier LOCK storm.
    sources = [alert("FailureStorm", "critical", kb_id=TOKEN),
               alert("FailureStormMember", "none", kb_id=LOCK, repo="acme/platform-eks")]
    am.post(sources)
    # Inhibition needs the sources in the inhibitor's cache first: wait until a probe (the
    # first per-repo alert) is muted, then post the others.
    probe = alert("RecurringPermissionError", "warning", kb_id=TOKEN, repo="acme/infra-live")
    am.post([probe])
    key = ("RecurringPermissionError", TOKEN, "acme/infra-live")
    wait_for("the storm to inhibit a per-repo alert",
             lambda: state(am).get(key, {}).get("state") == "suppressed",
             lambda: json.dumps(am.alerts(), indent=1) + am.log())
    am.post([
        # The storm's entry in other repos: muted by the storm, whichever repo.
        alert("RecurringPermissionError", "warning", kb_id=TOKEN, repo="acme/payments-infra"),
        alert("RecurringStateLockError", "warning", kb_id=TOKEN, repo="acme/ledger-db"),
        # Another entry in a storm repo: its own problem, notified.
        alert("RecurringPermissionError", "warning", kb_id=OTHER, repo="acme/infra-live"),
        # After the LOCK storm: its repo stays muted, an independent recurrence is notified.
        alert("RecurringStateLockError", "warning", kb_id=LOCK, repo="acme/platform-eks"),
        alert("RecurringStateLockError", "warning", kb_id=LOCK, repo="acme/network-core"),
        # Not inhibited by a storm: a different kind of news about the entry.
        alert("NewFailureSignature", "info", kb_id=TOKEN),
    ])
    want = {
        ("FailureStorm", TOKEN, ""): {"state": "active", "inhibitedBy": []},
        ("FailureStormMember", LOCK, "acme/platform-eks"): {"state": "active", "inhibitedBy": []},
        ("RecurringPermissionError", TOKEN, "acme/infra-live"):
            {"state": "suppressed", "inhibitedBy": ["FailureStorm"]},
        ("RecurringPermissionError", TOKEN, "acme/payments-infra"):
            {"state": "suppressed", "inhibitedBy": ["FailureStorm"]},
        ("RecurringStateLockError", TOKEN, "acme/ledger-db"):
            {"state": "suppressed", "inhibitedBy": ["FailureStorm"]},
        ("RecurringPermissionError", OTHER, "acme/infra-live"): {"state": "active", "inhibitedBy": []},
        ("RecurringStateLockError", LOCK, "acme/platform-eks"):
            {"state": "suppressed", "inhibitedBy": ["FailureStormMember"]},
        ("RecurringStateLockError", LOCK, "acme/network-core"): {"state": "active", "inhibitedBy": []},
        ("NewFailureSignature", TOKEN, ""): {"state": "active", "inhibitedBy": []},
    }
    wait_for("every alert's inhibition state", lambda: state(am) == want,
             lambda: json.dumps(state(am), indent=1, default=str) + am.log())

    # Grouping: the storm is a group of its own per entry (group_by kb_id); the member goes
    # to the null receiver; per-repo alerts stay grouped per alert, entry and repo.
    groups = {(g["receiver"]["name"], json.dumps(g["labels"], sort_keys=True)): g
              for g in am.groups()}
    storm = groups[("default", json.dumps({"kb_id": TOKEN}))]
    assert [a["labels"]["alertname"] for a in storm["alerts"]] == ["FailureStorm"]
    assert ("null", json.dumps({"alertname": "FailureStormMember", "kb_id": LOCK,
                                "repo": "acme/platform-eks"}, sort_keys=True)) in groups

    # Notifications: one for the storm, naming its repos, one per active alert group, none
    # for a muted alert or the member.
    def notified() -> dict[str, list[dict[str, Any]]]:
        return {json.dumps(n["groupLabels"], sort_keys=True): n["alerts"] for n in webhook.received}

    expected = {json.dumps(labels, sort_keys=True) for labels in (
        {"kb_id": TOKEN},
        {"alertname": "RecurringPermissionError", "kb_id": OTHER, "repo": "acme/infra-live"},
        {"alertname": "RecurringStateLockError", "kb_id": LOCK, "repo": "acme/network-core"},
        {"alertname": "NewFailureSignature", "kb_id": TOKEN})}
    wait_for("the notifications of the active groups", lambda: set(notified()) >= expected,
             lambda: json.dumps(webhook.received, indent=1) + am.log())
    [storm_alert] = notified()[json.dumps({"kb_id": TOKEN})]
    assert storm_alert["labels"]["alertname"] == "FailureStorm"
    assert storm_alert["annotations"]["repos"] == STORM_REPOS
    sent = [a["labels"] for n in webhook.received for a in n["alerts"]]
    assert not [labels for labels in sent
                if want[(labels["alertname"], labels.get("kb_id", ""), labels.get("repo", ""))]
                ["state"] == "suppressed" or labels["severity"] == "none"], sent
    assert len(webhook.received) == len(expected), json.dumps(webhook.received, indent=1)

"""A real, throw-away Alertmanager for the integration tests (the Debian package's binary).

`AlertmanagerServer` starts `prometheus-alertmanager` (Debian package
`prometheus-alertmanager`, installed by `make deps`) with the given configuration on a
loopback port, clustering off, its storage in a directory of its own, and offers the v2 API
calls the tests need: post alerts, read alerts (with their inhibition state) and groups.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.prometheus_server import LoopbackDaemon

BINARIES = ("prometheus-alertmanager", "alertmanager")  # Debian's name, upstream's name


def find_binary() -> str | None:
    """The alertmanager binary, or None when it is not installed."""
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    return None


class AlertmanagerError(RuntimeError):
    pass


class AlertmanagerServer(LoopbackDaemon):
    """One Alertmanager process; `url` is its base URL once started."""

    name = "alertmanager"
    error = AlertmanagerError

    def __init__(self, config: dict[str, Any], directory: str | Path | None = None):
        super().__init__(directory, "tfpulse-am-")
        self.binary = find_binary()
        self.config = config

    def start(self, timeout: float = 30.0) -> AlertmanagerServer:
        if self.binary is None:
            raise AlertmanagerError("alertmanager not installed: run `make deps` (Debian "
                                    "package prometheus-alertmanager)")
        self.launch([f"--storage.path={self.dir / 'data'}", "--cluster.listen-address="],
                    timeout)
        return self

    def __enter__(self) -> AlertmanagerServer:
        return self.start()

    # ------------------------------------------------------------------ HTTP API (v2)
    def _call(self, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/api/v2/{path}", data=data,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as resp:
            raw = resp.read()
        return json.loads(raw) if raw.strip() else None

    def post(self, alerts: list[dict[str, dict[str, str]]], hours: float = 1.0) -> None:
        """Fire alerts (each {"labels": ..., "annotations": ...}) as Prometheus does."""
        now = datetime.now(UTC)
        stamp = {"startsAt": now.isoformat(), "endsAt": (now + timedelta(hours=hours)).isoformat()}
        self._call("alerts", [{**alert, **stamp} for alert in alerts])

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert with its status: state active/suppressed, inhibitedBy (fingerprints)."""
        result: list[dict[str, Any]] = self._call("alerts")
        return result

    def groups(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("alerts/groups")
        return result

"""A real, throw-away Prometheus for the integration tests (the Debian package's binary).

`PrometheusServer` writes a config that scrapes the given targets as job `tfpulse` and loads
the given rule files, starts `prometheus` on a loopback port with its TSDB in a directory
of its own, and offers the HTTP API calls the tests need. `make deps` installs it.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

DEFAULT_BINARY = "/usr/bin/prometheus"


def find_binary() -> str | None:
    """The prometheus server binary, or None when it is not installed."""
    if Path(DEFAULT_BINARY).is_file():
        return DEFAULT_BINARY
    return shutil.which("prometheus")


_handed_out: set[int] = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, and that this process has
    not handed out before (two ports picked before either is bound must differ)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port


class PrometheusError(RuntimeError):
    pass


class LoopbackDaemon:
    """What a Prometheus-project daemon (prometheus, alertmanager) run by a test shares: a
    loopback port, a directory of its own, readiness on `/-/ready`, SIGTERM then SIGKILL."""

    name = "daemon"
    error: type[RuntimeError] = RuntimeError
    binary: str | None  # set by each daemon's __init__, with its config
    config: dict[str, Any]

    def __init__(self, directory: str | Path | None, prefix: str):
        self._owns_dir = directory is None
        self.dir = Path(directory or tempfile.mkdtemp(prefix=prefix))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.dir / f"{self.name}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def launch(self, flags: list[str], timeout: float) -> None:
        """Write self.config to <name>.yml, run the binary on it with flags and the loopback
        listen address, and wait until it is ready."""
        assert self.binary is not None, "start() refuses a missing binary first"
        config = self.dir / f"{self.name}.yml"
        config.write_text(yaml.safe_dump(self.config, sort_keys=False))
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(
                [self.binary, f"--config.file={config}", *flags,
                 f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                cwd=self.dir, stdout=log, stderr=subprocess.STDOUT)
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise self.error(f"{self.name} exited {self._proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        raise self.error(f"{self.name} not ready after {timeout:.0f}s:\n{self.log()}")

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        code = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(10)
            code = self._proc.returncode
            self._proc = None
        if self._owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return code

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PrometheusServer(LoopbackDaemon):
    """One Prometheus process; `url` is its base URL once started."""

    name = "prometheus"
    error = PrometheusError

    def __init__(self, targets: list[str], rule_files: list[str | Path] | None = None,
                 *, job: str = "tfpulse", interval: str = "1s",
                 binary: str | None = None, directory: str | Path | None = None):
        super().__init__(directory, "tfpulse-prom-")
        self.binary = binary or find_binary()
        self.config = {
            "global": {"scrape_interval": interval, "scrape_timeout": interval,
                       "evaluation_interval": interval},
            "rule_files": [str(Path(f).resolve()) for f in rule_files or []],
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": targets}]}],
        }

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 60.0) -> PrometheusServer:
        if self.binary is None:
            raise PrometheusError("prometheus not installed: run `make deps`")
        self.launch([f"--storage.tsdb.path={self.dir / 'data'}"], timeout)
        return self

    def __enter__(self) -> PrometheusServer:
        return self.start()

    # ------------------------------------------------------------------ HTTP API
    def api(self, path: str, **params: Any) -> dict[str, Any]:
        """GET /api/v1/<path>; returns the decoded body, also for HTTP 4xx/5xx answers
        (Prometheus reports a bad query as 400 with status "error" in the body)."""
        query = urllib.parse.urlencode(params, doseq=True)
        url = f"{self.url}/api/v1/{path}" + (f"?{query}" if query else "")
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                body = resp.read()
        except urllib.error.HTTPError as err:
            body = err.read()
        result: dict[str, Any] = json.loads(body)
        return result

    def query(self, expr: str, **params: Any) -> dict[str, Any]:
        """Instant query (`/api/v1/query`)."""
        return self.api("query", query=expr, **params)

    def query_range(self, expr: str, start: float, end: float, step: float) -> dict[str, Any]:
        return self.api("query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}",
                        step=f"{step:g}")

    def scalar(self, expr: str) -> float | None:
        """The value of a single-sample instant query, None when it returns nothing."""
        body = self.query(expr)
        if body.get("status") != "success":
            raise PrometheusError(f"{expr}: {body}")
        result = body["data"]["result"]
        if not result:
            return None
        return float(result[0]["value"][1])

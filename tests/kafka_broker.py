"""Drive the local Kafka broker of ``scripts/kafka-broker`` from Python tests.

``KafkaBroker`` runs that script (the same one developers use by hand), so a test can
start, stop and restart a real single-node KRaft broker mid-test::

    broker = KafkaBroker(data_dir=tmp_path / "kafka")
    broker.start()                 # free loopback port, waits until the Kafka API answers
    broker.bootstrap               # "127.0.0.1:PORT"
    broker.restart()               # same port, same data dir: records survive
    broker.stop()

``ExternalKafkaBroker`` stands for a broker that someone else runs (the
``KAFKA_BOOTSTRAP_SERVERS`` environment variable); it cannot be stopped or restarted.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "scripts" / "kafka-broker"

# The first `start` on a machine may download the jars (~45 MB) with Maven.
FETCH_TIMEOUT_S = 600
START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 30

__all__ = ["ExternalKafkaBroker", "KafkaBroker", "KafkaBrokerError", "RestartUnsupported"]


class KafkaBrokerError(RuntimeError):
    """The broker script failed; the message carries its output and the log tail."""


class RestartUnsupported(RuntimeError):
    """Raised by ExternalKafkaBroker.stop()/restart(): that broker is not ours."""


class KafkaBroker:
    """A broker process managed through ``scripts/kafka-broker``."""

    supports_restart = True

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        port: int | None = None,
        *,
        script: str | os.PathLike[str] = SCRIPT,
        start_timeout: int = START_TIMEOUT_S,
        stop_timeout: int = STOP_TIMEOUT_S,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port
        self.pid: int | None = None
        self.script = Path(script)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._env = dict(os.environ)
        self._env.update(
            KAFKA_START_TIMEOUT=str(start_timeout),
            KAFKA_STOP_TIMEOUT=str(stop_timeout),
        )
        # An external broker address must not leak into the script's readiness check.
        self._env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        if env:
            self._env.update(env)

    # ------------------------------------------------------------------ properties
    @property
    def bootstrap(self) -> str:
        if self.port is None:
            raise KafkaBrokerError("broker not started yet: no port")
        return f"127.0.0.1:{self.port}"

    bootstrap_servers = bootstrap

    @property
    def log_path(self) -> Path:
        return self.data_dir / "broker.log"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # ------------------------------------------------------------------ lifecycle
    def _run(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [str(self.script), *args],
                env=self._env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise KafkaBrokerError(
                f"{self.script.name} {' '.join(args)} timed out after {timeout}s\n"
                f"--- broker.log ---\n{self.log_tail()}"
            ) from exc

    def fetch(self) -> None:
        proc = self._run("fetch", timeout=FETCH_TIMEOUT_S)
        if proc.returncode != 0:
            raise KafkaBrokerError(f"kafka-broker fetch failed:\n{proc.stderr}")

    def start(self) -> KafkaBroker:
        """Start (or restart on the same port, keeping data when ``data_dir`` has it)."""
        self.fetch()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = ["start", "--dir", str(self.data_dir)]
        if self.port is not None:
            args += ["--port", str(self.port)]
        # The script itself gives up after start_timeout per attempt; allow for the
        # JVM launches around it (cluster id, storage format) and a port retry.
        proc = self._run(*args, timeout=self.start_timeout * 2 + 60)
        if proc.returncode != 0:
            raise KafkaBrokerError(
                f"kafka-broker start failed (exit {proc.returncode}):\n{proc.stderr}\n"
                f"--- broker.log ---\n{self.log_tail()}"
            )
        values = dict(re.findall(r"^(KAFKA_[A-Z_]+)=(\S+)$", proc.stdout, re.MULTILINE))
        try:
            self.port = int(values["KAFKA_BOOTSTRAP_SERVERS"].rsplit(":", 1)[1])
            self.pid = int(values["KAFKA_BROKER_PID"])
        except (KeyError, ValueError) as exc:
            raise KafkaBrokerError(
                f"unexpected output of kafka-broker start: {proc.stdout!r}"
            ) from exc
        return self

    def stop(self) -> None:
        proc = self._run("stop", "--dir", str(self.data_dir), timeout=self.stop_timeout + 30)
        if proc.returncode != 0:
            raise KafkaBrokerError(f"kafka-broker stop failed:\n{proc.stderr}")
        self.pid = None

    def restart(self) -> KafkaBroker:
        """Stop, then start again on the same port with the same data dir."""
        if self.port is None:
            raise KafkaBrokerError("restart() before start()")
        self.stop()
        return self.start()

    def is_running(self) -> bool:
        proc = self._run("status", "--dir", str(self.data_dir), timeout=30)
        return proc.returncode == 0

    def __enter__(self) -> KafkaBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (
            f"KafkaBroker(bootstrap={self.port and self.bootstrap!r}, dir={str(self.data_dir)!r})"
        )


class ExternalKafkaBroker:
    """A broker run by someone else, given by its bootstrap address."""

    supports_restart = False
    restart_unsupported_reason = (
        "KAFKA_BOOTSTRAP_SERVERS points at an external broker, which this test run "
        "cannot stop or restart; unset it to let the fixture start its own broker"
    )

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self.data_dir = None
        self.pid = None

    @property
    def bootstrap(self) -> str:
        return self._bootstrap

    bootstrap_servers = bootstrap

    @property
    def port(self) -> int | None:
        last = self._bootstrap.split(",")[0].rsplit(":", 1)
        return int(last[1]) if len(last) == 2 and last[1].isdigit() else None

    def log_tail(self, lines: int = 40) -> str:
        return ""

    def start(self) -> ExternalKafkaBroker:
        return self

    def stop(self) -> None:
        raise RestartUnsupported(self.restart_unsupported_reason)

    def restart(self) -> ExternalKafkaBroker:
        raise RestartUnsupported(self.restart_unsupported_reason)

    def is_running(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"ExternalKafkaBroker(bootstrap={self._bootstrap!r})"

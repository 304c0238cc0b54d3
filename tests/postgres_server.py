"""A real, throw-away PostgreSQL for the integration tests (wraps scripts/postgres-server).

The tests run the same script a developer runs by hand, so the fixture and the manual
set-up cannot drift apart.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "postgres-server"


class PostgresServer:
    """Start a PostgreSQL cluster in a directory of its own; `url` points at database tfpulse."""

    def __init__(self, directory: str | os.PathLike[str] | None = None, port: int | None = None):
        self._owns_dir = directory is None
        # Not pytest's tmp_path: that is private to root and the `postgres` user must enter it.
        self.dir = Path(directory or tempfile.mkdtemp(prefix="tfpulse-pg-", dir="/tmp"))
        self.port = port
        self.url: str | None = None

    def start(self) -> str:
        """Start the server (initdb on first use) and return its URL."""
        cmd = ["bash", str(SCRIPT), "start", "--dir", str(self.dir)]
        if self.port is not None:
            cmd += ["--port", str(self.port)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=180).stdout
        for line in out.splitlines():
            if line.startswith("TFPULSE_PG_URL="):
                self.url = line.split("=", 1)[1].strip()
        if self.url is None:
            raise RuntimeError(f"postgres-server printed no TFPULSE_PG_URL:\n{out}")
        return self.url

    def stop(self) -> None:
        """Stop the server, and remove its directory if this object created it."""
        if (self.dir / "data").exists():
            subprocess.run(
                ["bash", str(SCRIPT), "stop", "--dir", str(self.dir)],
                check=False,
                capture_output=True,
                timeout=120,
            )
        if self._owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        self.url = None

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def available() -> bool:
    """True when PostgreSQL's server binaries are installed here."""
    return (
        bool(os.environ.get("PG_BIN"))
        or any(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        or shutil.which("initdb") is not None
    )

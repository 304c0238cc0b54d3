"""The on-disk cache of compiled Hyperscan databases (core/matcher.py's DatabaseCache).

$TFPULSE_CACHE_DIR, else $XDG_CACHE_HOME/tfpulse, else ~/.cache/tfpulse; read at each
use, so a changed environment is honoured. Any problem reading or writing means the
matcher compiles, never an error.
"""

from __future__ import annotations

import os
from pathlib import Path

from worker.core import matcher


def cache_dir() -> Path:
    if os.environ.get("TFPULSE_CACHE_DIR"):
        return Path(os.environ["TFPULSE_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tfpulse"


class DiskCache:
    def _path(self, key: str) -> Path:
        return cache_dir() / "hyperscan" / f"{key}.db"

    def load(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except OSError:
            return None

    def save(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)  # atomic: a concurrent reader sees the old file or the new one
        except OSError:
            pass


def install_disk_cache() -> None:
    matcher.use_cache(DiskCache())

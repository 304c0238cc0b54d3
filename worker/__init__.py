"""tfpulse: recurring Terraform failures in CI log streams, classified and counted once."""

from pathlib import Path

__version__ = "0.1.0"

DATA_DIR = Path(__file__).resolve().parent / "data"  # masks, ordinary CI lines (package data)

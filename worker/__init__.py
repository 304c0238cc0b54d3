"""tfpulse: recurring Terraform failures in CI log streams."""

__version__ = "0.1.0"

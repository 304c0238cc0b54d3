"""`python -m worker.cli`: the same as the `tfpulse` command."""

import sys

from worker.cli.main import main

sys.exit(main())

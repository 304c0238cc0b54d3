"""The `tfpulse` command line: main with the exit codes, one module per command."""

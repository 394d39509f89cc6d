"""The ``bridge`` command line: one module per command, shared options in :mod:`bridge.cli.main.options`."""

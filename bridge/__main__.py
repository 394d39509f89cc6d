"""``python -m bridge``: the same as the ``bridge`` command (see :mod:`bridge.cli.main`)."""

import sys

from bridge.cli.main import main

if __name__ == "__main__":
    sys.exit(main())

"""``python -m bridge``: the same as the ``bridge`` command (see :mod:`bridge.cli`)."""

import sys

from bridge.cli import main

if __name__ == "__main__":
    sys.exit(main())

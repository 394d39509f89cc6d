"""User-facing errors.

A :class:`BridgeError` carries one line that names the problem and what to do about it. The command line
prints it as ``bridge: error: <message>`` and exits with status 2, never with a traceback.
"""


class BridgeError(Exception):
    """An error caused by the user's input or environment, reported as one line without a traceback."""

    exit_code = 2

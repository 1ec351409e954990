"""The one way any layer reports an unusable invocation or setting.

Outside the CLI so that the layers below it (keys, privacy, the streaming driver) can raise it
without importing the CLI; the CLI prints it as one line and exits with code 2.
"""


class UsageError(Exception):
    """Missing file, bad flag value, bad policy file, missing key: one line, exit code 2."""

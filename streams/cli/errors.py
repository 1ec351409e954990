"""The one way a subcommand reports an unusable invocation."""


class UsageError(Exception):
    """Missing file, bad flag value, bad policy file: printed as one line, exit code 2."""

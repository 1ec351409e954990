"""Fixtures shared by the CLI tests: the small log with two bad lines (defined with the replay
tests, where it is described) for every module of this directory."""

from tests.integration.cli.test_replay_cli import log

__all__ = ["log"]

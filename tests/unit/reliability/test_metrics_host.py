"""/metrics listens on loopback unless told otherwise: a worker or replay started by hand does
not publish its counts to the whole network. Fails on the starting main (worker default 0.0.0.0,
no --metrics-host on replay)."""

from __future__ import annotations

import pytest

from streams.cli.main import build_parser


@pytest.mark.parametrize("argv", [["worker"], ["replay", "log.jsonl"]])
def test_metrics_default_to_loopback(argv: list[str]) -> None:
    assert build_parser().parse_args(argv).metrics_host == "127.0.0.1"


@pytest.mark.parametrize("argv", [["worker"], ["replay", "log.jsonl"]])
def test_metrics_host_is_a_flag(argv: list[str]) -> None:
    args = build_parser().parse_args([*argv, "--metrics-host", "0.0.0.0"])
    assert args.metrics_host == "0.0.0.0"


def test_run_in_process_defaults_to_loopback() -> None:
    import inspect

    from streams.streaming.run import run_in_process

    default = inspect.signature(run_in_process).parameters["metrics_host"].default
    assert default == "127.0.0.1"

"""How the worker process is set up around the Faust app."""

from __future__ import annotations

import logging

import faust

from streams.streaming.run import faust_runner


def test_the_faust_runner_leaves_the_root_logger_at_the_chosen_level() -> None:
    # Faust's start-up spinner would set the root logger to DEBUG, so every aiokafka debug
    # record would be built (and then dropped) on the hot path.
    runner = faust_runner(faust.App("unit-runner", broker="kafka://127.0.0.1:1"), "warning")
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, list(root.handlers)
    root.addHandler(logging.NullHandler())
    try:
        root.setLevel(logging.WARNING)
        runner.on_setup_root_logger(root, logging.WARNING)
        assert root.getEffectiveLevel() == logging.WARNING
    finally:
        root.setLevel(saved_level)
        root.handlers[:] = saved_handlers

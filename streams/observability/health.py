"""Is a worker healthy? Read from its own /metrics, so the container's healthcheck, an operator
and the paging rules (BrokerUnreachable, WatermarkStalled) judge the same numbers.

Answering /metrics is not enough: a worker that lost its broker, or whose live clock stopped,
still answers it while it can alert on nothing. Unhealthy when

* its broker has not answered a fetch for ``broker`` seconds
  (``holdwatch_broker_last_fetch_timestamp_seconds``, counted from the worker's start), or
* in live mode (``holdwatch_live_mode`` 1), its watermark is more than ``watermark`` seconds
  behind the wall clock (a worker owning no partition reports NaN: not judged).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

BROKER = "holdwatch_broker_last_fetch_timestamp_seconds"
LIVE = "holdwatch_live_mode"
WATERMARK = "holdwatch_watermark_seconds"


@dataclass(frozen=True)
class Limits:
    broker: float = 30.0
    watermark: float = 30.0


@dataclass(frozen=True)
class Verdict:
    healthy: bool
    lines: tuple[str, ...]

    def __str__(self) -> str:
        return ("healthy: " if self.healthy else "unhealthy: ") + "; ".join(self.lines)


def samples(text: str) -> dict[str, float]:
    """The unlabelled samples of a Prometheus text exposition, by name."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if not sample.labels:
                out[sample.name] = sample.value
    return out


def judge(values: dict[str, float], now: float, limits: Limits = Limits()) -> Verdict:
    problems: list[str] = []
    fine: list[str] = []
    last = values.get(BROKER)
    if last is None:
        problems.append(f"no {BROKER} in the metrics (not a Holdwatch worker, or too old)")
    elif math.isnan(last):
        problems.append("no broker: this process does not read from Kafka")
    else:
        silent = now - last
        if silent > limits.broker:
            problems.append(f"no answer from Kafka for {silent:.0f} s (limit {limits.broker:g} s)")
        else:
            fine.append(f"Kafka answered {max(silent, 0.0):.1f} s ago")
    if values.get(LIVE) == 1:
        mark = values.get(WATERMARK, math.nan)
        if math.isnan(mark):
            fine.append("live, no partition with a watermark")
        else:
            behind = now - mark
            if behind > limits.watermark:
                problems.append(
                    f"live watermark stalled {behind:.0f} s behind the wall clock "
                    f"(limit {limits.watermark:g} s)"
                )
            else:
                fine.append(f"live watermark {max(behind, 0.0):.1f} s behind the wall clock")
    return Verdict(not problems, tuple(problems or fine))

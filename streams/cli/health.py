"""``holdwatch health``: exit 0 if the worker behind a /metrics URL is healthy, else 1.

The compose worker's healthcheck (and the Dockerfile's) runs it inside the container; an
operator can run it against any worker. Exit codes are Docker's: 0 healthy, 1 unhealthy (a
/metrics that does not answer is unhealthy too, not a usage error).
"""

from __future__ import annotations

import argparse
import os
import time
import urllib.error
import urllib.request

from streams.errors import UsageError


def default_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('HOLDWATCH_METRICS_PORT') or 9108}/metrics"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "health",
        help="is a worker healthy (its broker answers, its live clock moves)? exit 0 or 1",
        description="Read a worker's /metrics and say whether it is healthy: its Kafka broker "
        "answered a fetch recently and, in live mode, its watermark follows the wall clock. "
        "Exit 0 healthy, 1 unhealthy (also when /metrics does not answer).",
    )
    parser.add_argument(
        "--url",
        default=None,
        metavar="URL",
        help="the worker's metrics (default http://127.0.0.1:$HOLDWATCH_METRICS_PORT/metrics, "
        "port 9108 when unset)",
    )
    parser.add_argument(
        "--broker-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="unhealthy when Kafka has not answered a fetch for this long (default 30)",
    )
    parser.add_argument(
        "--watermark-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="live mode: unhealthy when the watermark is this far behind the wall clock "
        "(default 30)",
    )
    parser.add_argument(
        "--timeout", type=float, default=4.0, metavar="SECONDS", help="HTTP timeout (default 4)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from streams.observability.health import Limits, judge, samples

    if not (args.broker_timeout > 0 and args.watermark_timeout > 0 and args.timeout > 0):
        raise UsageError("--broker-timeout, --watermark-timeout and --timeout must be positive")
    url = args.url or default_url()
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:
            text = response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"unhealthy: {url} does not answer: {getattr(exc, 'reason', exc)}", flush=True)
        return 1
    verdict = judge(samples(text), time.time(), Limits(args.broker_timeout, args.watermark_timeout))
    print(verdict, flush=True)
    return 0 if verdict.healthy else 1

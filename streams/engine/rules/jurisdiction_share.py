"""The rolling low-priority share of a jurisdiction's detainers (evaluated over many bookings).

Declared here with the other rules; evaluated by the jurisdiction monitor
(``streams/engine/share_monitor.py``), which reads its name from this declaration.
"""

from __future__ import annotations

from streams.engine.rules.registry import Rule, declare

LOW_PRIORITY_SHARE = declare(
    Rule(
        "jurisdiction_low_priority_share",
        "warning",
        "Morton memo (June 2010) priorities: the jurisdiction's share of detainers on Level 3 and "
        "non-criminal hits is far above the national share (55% of FY2011 removals).",
        settings=("jurisdiction_monitor",),
        scope="jurisdiction",
    )
)

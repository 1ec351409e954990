"""``holdwatch report``: per-booking hold facts and totals from a recorded log.

* :mod:`.holds`: the facts, computed with the engine's own calendar and checked against the
  alerts of an in-process replay of the same log;
* :mod:`.render`: text (rich) on stdout, CSV rows, JSON totals;
* :mod:`.plot`: an optional PNG histogram (needs matplotlib).
"""

from __future__ import annotations

from streams.report.holds import FormOutcome, HoldReport, HoldRow, ReportBuilder, override_forms

__all__ = ["FormOutcome", "HoldReport", "HoldRow", "ReportBuilder", "override_forms"]
